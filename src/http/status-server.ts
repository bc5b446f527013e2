import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_HEALTH_POLICY, evaluateHealth, isReady, type HealthPolicy } from '../health.js';
import { maskSecrets } from '../../common/sanitize.js';
import { metricsFor } from './metrics.js';
import type { Route, RouteContext, StatusSource } from './types.js';

export type { Route, RouteContext, StatusSource } from './types.js';

/** How the status server runs besides where it listens. */
export interface StatusServerOptions {
  /** Every path but /health/live then needs `Authorization: Bearer <token>`. */
  token?: string;
  health?: HealthPolicy;
  /** More paths to answer (after the built-in ones), each behind the token. */
  routes?: Route[];
}

/** Paths served without the token: a process supervisor's liveness probe. */
const LIVENESS_PATH = '/health/live';

/** True when the request carries `Authorization: Bearer <token>`; compared in constant time. */
function authorized(req: IncomingMessage, tokenDigest: Buffer): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  // Digests have one length whatever was sent, so the comparison time says nothing about the token.
  return match !== null && timingSafeEqual(createHash('sha256').update(match[1]!).digest(), tokenDigest);
}

/**
 * Serves on `host:port`: GET /health (200 ok or degraded, 503 unhealthy), /health/live (200 while
 * the process serves; never asks for the token), /health/ready (200 when ok, or degraded while
 * collectors deliver; else 503), /status (JSON) and /metrics (Prometheus). Every answer is masked.
 */
export async function startStatusServer(
  source: StatusSource,
  host: string,
  port: number,
  options: StatusServerOptions = {},
): Promise<{ server: Server; url: string }> {
  const metrics = metricsFor(source);
  const policy = options.health ?? DEFAULT_HEALTH_POLICY;
  const tokenDigest = options.token === undefined ? undefined : createHash('sha256').update(options.token).digest();
  const builtIn: Route[] = [
    ...['/health', '/health/ready'].map((path): Route => ({
      method: 'GET',
      path,
      handle({ send }) {
        const report = evaluateHealth(source.status(), policy);
        const up = path === '/health' ? report.status !== 'unhealthy' : isReady(report);
        send(up ? 200 : 503, report);
      },
    })),
    { method: 'GET', path: '/status', handle: ({ send }) => send(200, source.status()) },
    {
      method: 'GET',
      path: '/metrics',
      async handle({ send }) {
        try {
          send(200, await metrics.metrics(), metrics.contentType);
        } catch (err) {
          send(500, { error: (err as Error).message });
        }
      },
    },
  ];
  const routes = [...builtIn, ...(options.routes ?? [])];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const send = (code: number, body: unknown, type = 'application/json', headers: Record<string, string> = {}) => {
      if (res.headersSent) return;
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store', ...headers });
      // Last line of defence: an error text or label that quotes a URL never shows its credentials.
      res.end(maskSecrets(typeof body === 'string' ? body : `${JSON.stringify(body, null, 2)}\n`));
    };
    if (req.method === 'GET' && path === LIVENESS_PATH) return send(200, { status: 'live' });
    if (tokenDigest && !authorized(req, tokenDigest)) {
      return send(401, { error: 'unauthorized: send Authorization: Bearer <http.token>' }, 'application/json', { 'www-authenticate': 'Bearer realm="quoting-collector"' });
    }
    const onPath = routes.flatMap((route) => {
      if (typeof route.path === 'string') return route.path === path ? [{ route, params: [] as string[] }] : [];
      const match = route.path.exec(path);
      return match ? [{ route, params: match.slice(1) }] : [];
    });
    if (onPath.length === 0) {
      const known = routes.flatMap((r) => (typeof r.path === 'string' ? [r.path] : []));
      return send(404, { error: `no such path ${path}; try ${[LIVENESS_PATH, ...known].join(', ')}` });
    }
    const found = onPath.find(({ route }) => route.method === req.method);
    if (!found) {
      const allowed = [...new Set(onPath.map(({ route }) => route.method))].join(', ');
      return send(405, { error: `${req.method} is not served on ${path}; use ${allowed}` }, 'application/json', { allow: allowed });
    }
    const ctx: RouteContext = { req, res, path, query: url.searchParams, params: found.params, send };
    Promise.resolve()
      .then(() => found.route.handle(ctx))
      .catch((err: Error) => send(500, { error: err.message }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return { server, url: `http://${shownHost}:${addr.port}` };
}
