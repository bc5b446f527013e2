import { loadConfig } from '../config/load.js';
import { createContainer } from '../container.js';
import { UsageError } from './errors.js';

/** Where a running daemon serves and the token it wants. */
export interface DaemonEndpoint {
  base: string;
  token?: string;
}

/**
 * The daemon `--url` names (with `$COLLECTOR_TOKEN`), or the one the config's `http.listen` names
 * (with its `http.token`, else `$COLLECTOR_TOKEN`).
 */
export async function daemonEndpoint(opts: { url?: string; config: string }): Promise<DaemonEndpoint> {
  const envToken = process.env.COLLECTOR_TOKEN || undefined;
  if (opts.url) return { base: opts.url, token: envToken };
  const config = await loadConfig(opts.config, createContainer());
  if (!config.http) throw new UsageError(`${config.file}: http is off, so there is no daemon to reach; pass --url`);
  const { host, port } = config.http.listen;
  if (port === 0) throw new UsageError(`${config.file}: http.listen port 0 is a free port picked at start; pass --url (the daemon prints it)`);
  return { base: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, token: config.http.token ?? envToken };
}

/**
 * Sends `method path` to the daemon with its bearer token; a daemon that cannot be reached is a
 * failure (exit 1), one that wants another token a usage error (exit 2). Other answers are the caller's.
 */
export async function requestDaemon(endpoint: DaemonEndpoint, path: string, method: 'GET' | 'POST' = 'GET', timeoutMs = 5_000): Promise<Response> {
  const url = new URL(path, endpoint.base).href;
  let res: Response;
  try {
    res = await fetch(url, { method, signal: AbortSignal.timeout(timeoutMs), headers: endpoint.token ? { authorization: `Bearer ${endpoint.token}` } : {} });
  } catch (err) {
    throw new Error(`cannot reach the daemon at ${url}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`);
  }
  if (res.status === 401) {
    throw new UsageError(`${url} wants a token${endpoint.token ? ' and refused the one sent' : ''}: set http.token in the config or $COLLECTOR_TOKEN`);
  }
  return res;
}
