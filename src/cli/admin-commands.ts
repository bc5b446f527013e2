import type { DataSourceCollector } from '../../collectors/types.js';
import { buildFeeds, dataRequirements, requirementWarnings } from '../../feeds/load.js';
import { workUnits } from '../cluster/units.js';
import { loadConfig, type CollectorConfig } from '../config/load.js';
import { collectorsOf } from '../config-collectors.js';
import { createContainer, registryOf } from '../container.js';
import type { ServiceStatus } from '../data-collector.js';
import { silentLogger } from '../../common/logger.js';
import { sanitizeError } from '../../common/sanitize.js';
import { daemonEndpoint, requestDaemon } from './daemon-client.js';
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
  const res = await requestDaemon(await daemonEndpoint(opts), '/status');
  if (!res.ok) throw new Error(`${res.url} answered ${res.status} ${res.statusText}`);
  const status = (await res.json()) as ServiceStatus;
  if (opts.cluster) return opts.json ? JSON.stringify(status.cluster ?? null, null, 2) : formatClusterStatus(status);
  return opts.json ? JSON.stringify(status, null, 2) : formatStatus(status);
}
