import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_HEALTH_POLICY, evaluateHealth, isReady, type HealthPolicy } from '../health.js';
import { maskSecrets } from '../../common/sanitize.js';
import { LOGIN_PAGE, tokenCheck } from './auth.js';
import { metricsFor } from './metrics.js';
import type { Route, RouteContext, StatusSource } from './types.js';

export type { Route, RouteContext, StatusSource } from './types.js';

/** How the status server runs besides where it listens. */
export interface StatusServerOptions {
  /** Every path but /health/live then needs `Authorization: Bearer <token>` (or the status page's session cookie). */
  token?: string;
  health?: HealthPolicy;
  /** More paths to answer (after the built-in ones), each behind the token. */
  routes?: Route[];
}

/** Paths served without the token: a process supervisor's liveness probe. */
const LIVENESS_PATH = '/health/live';

/**
 * Serves on `host:port`: GET /health (200 ok or degraded, 503 unhealthy), /health/live (200 while
 * the process serves; never asks for the token), /health/ready (200 when ok, or degraded while
 * collectors deliver; else 503), /status (JSON) and /metrics (Prometheus). Every answer is masked.
 * With a token, `GET /?token=<token>` answers a session cookie and a redirect to `/` (see auth.ts).
 */
export async function startStatusServer(
  source: StatusSource,
  host: string,
  port: number,
  options: StatusServerOptions = {},
): Promise<{ server: Server; url: string }> {
  const metrics = metricsFor(source);
  const policy = options.health ?? DEFAULT_HEALTH_POLICY;
  const auth = options.token === undefined ? undefined : tokenCheck(options.token);
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
    const cookie = auth?.login(req, url);
    // A browser that opened /?token=...: the session cookie, and the page without the token in the address.
    if (cookie) return send(303, { location: '/' }, 'application/json', { location: '/', 'set-cookie': cookie });
    if (auth && !auth.authorized(req)) {
      const challenge = { 'www-authenticate': 'Bearer realm="quoting-collector"' };
      // A person opening the status page gets told how to get in.
      if (req.method === 'GET' && path === '/') return send(401, LOGIN_PAGE, 'text/html; charset=utf-8', challenge);
      return send(401, { error: 'unauthorized: send Authorization: Bearer <http.token>' }, 'application/json', challenge);
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
