import type { CollectorStatus } from '../data-collector.js';
import { describeReload, type CollectorAction, type ReloadOutcome } from '../runtime-control.js';
import { daemonEndpoint, requestDaemon } from './daemon-client.js';
import { UsageError } from './errors.js';

/** Stopping collectors waits for them to end and for the storage to flush: longer than a read. */
const CONTROL_TIMEOUT_MS = 60_000;

interface DaemonTarget {
  url?: string;
  config: string;
  json?: boolean;
}

/**
 * `collector reload`: asks the running daemon to re-read its config file (POST /reload). Prints
 * what changed; a refused config exits 2 with the message `collector validate` prints for it.
 */
export async function reloadCommand(opts: DaemonTarget): Promise<string> {
  const res = await requestDaemon(await daemonEndpoint(opts), '/reload', 'POST', CONTROL_TIMEOUT_MS);
  const body = (await readJson(res)) as ReloadOutcome & { error?: string };
  if (res.status === 422 && body.result === 'refused') throw new UsageError(body.error);
  if (!res.ok || body.result !== 'applied') return refused(res, body);
  return opts.json ? JSON.stringify(body, null, 2) : `reloaded ${body.file}: ${describeReload(body)}`;
}

/** `collector restart|stop|start <id>`: POST /collectors/<id>/<action>; an unknown id exits 2 naming the known ones. */
export async function collectorActionCommand(action: CollectorAction, id: string, opts: DaemonTarget): Promise<string> {
  const res = await requestDaemon(await daemonEndpoint(opts), `/collectors/${encodeURIComponent(id)}/${action}`, 'POST', CONTROL_TIMEOUT_MS);
  const body = (await readJson(res)) as { collector?: CollectorStatus; error?: string };
  if (!res.ok || !body.collector) return refused(res, body);
  const c = body.collector;
  return opts.json ? JSON.stringify(body, null, 2) : `${c.id}: ${c.state}${c.stoppedByOperator ? ' by operator' : ''}`;
}

async function readJson(res: Response): Promise<unknown> {
  try {
    return await res.json();
  } catch {
    throw new Error(`${res.url} answered ${res.status} ${res.statusText} with no JSON`);
  }
}

/** The daemon said no: a request it refuses (404, 409, 422) is the caller's to fix (exit 2); anything else a failure (exit 1). */
function refused(res: Response, body: { error?: string }): never {
  const message = body.error ?? `${res.url} answered ${res.status} ${res.statusText}`;
  if (res.status === 404 || res.status === 409 || res.status === 422) throw new UsageError(message);
  throw new Error(message);
}
