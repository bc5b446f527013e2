import type { DataSourceCollector } from '../../collectors/types.js';
import { buildFeeds, dataRequirements, requirementWarnings } from '../../feeds/load.js';
import { workUnits } from '../cluster/units.js';
import { loadConfig, type CollectorConfig } from '../config/load.js';
import { collectorsOf } from '../daemon.js';
import { createContainer, registryOf } from '../container.js';
import type { ServiceStatus } from '../data-collector.js';
import { silentLogger } from '../../common/logger.js';
import { sanitizeError } from '../../common/sanitize.js';
import { UsageError } from './errors.js';
import { formatClusterStatus, formatStatus } from './format.js';

/** `collector validate`: checks a config and says what it would run. */
export async function validateCommand(opts: { config: string }): Promise<string> {
  const container = createContainer();
  const config = await loadConfig(opts.config, container);
  const registry = registryOf(container);
  const feeds = buildFeeds(config.feeds, registry);
  const collectors = collectorsOf(config, feeds, registry, silentLogger);
  const warnings = requirementWarnings(dataRequirements(feeds, registry), registry);
  // Shown to people and pasted into tickets: never print a secret.
  const storage = Object.entries(config.storage)
    .filter(([k, v]) => k !== 'kind' && v !== undefined && v !== '')
    .map(([k, v]) => `${k}=${/password|secret|token/i.test(k) ? '***' : sanitizeError(String(v))}`)
    .join(' ');
  return [
    `${config.file}: OK`,
    `storage: ${config.storage.kind}${storage ? ` (${storage})` : ''}`,
    `feeds (${feeds.length}): ${feeds.map((f) => `${f.name} [${f.kind}]`).join(', ') || '(none)'}`,
    `collectors (${collectors.length}): ${collectors.map((c) => `${c.id} → ${c.keys.join(', ')}`).join('; ') || '(none)'}`,
    ...(config.cluster ? [`cluster: ${clusterSummary(config.cluster, collectors)}`] : []),
    `status server: ${config.http ? `http://${config.http.listen.host}:${config.http.listen.port}${config.http.token ? ' (token required)' : ''}` : 'off'}`,
    ...warnings.map((warning) => `warning: ${warning}`),
  ].join('\n');
}

/** What `cluster:` makes of the config: the mode and the units of work. */
function clusterSummary(cluster: NonNullable<CollectorConfig['cluster']>, collectors: readonly DataSourceCollector[]): string {
  const units = workUnits(collectors).length;
  if (cluster.shard !== undefined) return `static shard ${cluster.shard}, ${units} units in all (at most ${cluster.unitSymbols} symbols each)`;
  return `leases in ${sanitizeError(cluster.url ?? '')} (ttl ${cluster.leaseTtl} ms), ${units} units (at most ${cluster.unitSymbols} symbols each)`;
}

/**
 * `collector status`: reads `/status` of a running daemon and prints it readably. Sends the
 * config's `http.token` (or `$COLLECTOR_TOKEN`) as a bearer token.
 */
export async function statusCommand(opts: { url?: string; config: string; json?: boolean; cluster?: boolean }): Promise<string> {
  let base = opts.url;
  let token = process.env.COLLECTOR_TOKEN || undefined;
  if (!base) {
    const config = await loadConfig(opts.config, createContainer());
    if (!config.http) throw new UsageError(`${config.file}: http is off, so there is no status to read; pass --url`);
    const { host, port } = config.http.listen;
    if (port === 0) throw new UsageError(`${config.file}: http.listen port 0 is a free port picked at start; pass --url (the daemon prints it)`);
    base = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    token = config.http.token ?? token;
  }
  const url = new URL('/status', base).href;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(5_000), headers: token ? { authorization: `Bearer ${token}` } : {} });
  } catch (err) {
    throw new Error(`cannot reach the daemon at ${url}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`);
  }
  if (res.status === 401) {
    throw new UsageError(`${url} wants a token${token ? ' and refused the one sent' : ''}: set http.token in the config or $COLLECTOR_TOKEN`);
  }
  if (!res.ok) throw new Error(`${url} answered ${res.status} ${res.statusText}`);
  const status = (await res.json()) as ServiceStatus;
  if (opts.cluster) return opts.json ? JSON.stringify(status.cluster ?? null, null, 2) : formatClusterStatus(status);
  return opts.json ? JSON.stringify(status, null, 2) : formatStatus(status);
}
