import type { CollectorStateRecord, Sample, SeriesInfo } from '../../storage/types.js';
import type { ServiceStatus } from '../data-collector.js';
import type { ProcessFigures } from '../process-figures.js';
import { formatDuration } from '../../common/duration.js';

export type OutputFormat = 'table' | 'json' | 'csv';

function iso(t: number | null): string {
  return t === null ? '-' : new Date(t).toISOString();
}

/** Renders rows as aligned columns. */
export function table(header: string[], rows: string[][]): string {
  return [...tableLines(header, rows)].join('\n');
}

/** The lines of `table`, one at a time. */
function* tableLines(header: string[], rows: string[][]): Generator<string> {
  const widths = header.map((h, i) => rows.reduce((w, r) => Math.max(w, (r[i] ?? '').length), h.length));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  yield line(header);
  yield line(widths.map((w) => '-'.repeat(w)));
  for (const row of rows) yield line(row);
}

/**
 * Formats fetched samples: json `[[t, v], ...]`, csv with a header, or a table with ISO times;
 * in pieces (a piece per sample), so that a large fetch is never one string.
 */
export function* formatSamples(samples: Sample[], format: OutputFormat): Generator<string> {
  if (format === 'json') {
    // Byte for byte JSON.stringify(samples).
    yield '[';
    for (let i = 0; i < samples.length; i++) yield (i === 0 ? '' : ',') + JSON.stringify(samples[i]);
    yield ']';
    return;
  }
  const fields = [...new Set(samples.flatMap(([, v]) => (typeof v === 'number' ? ['value'] : Object.keys(v))))];
  const cells = (v: Sample[1]) => fields.map((f) => {
    const x = typeof v === 'number' ? v : v[f];
    return x === undefined ? '' : String(x);
  });
  if (format === 'csv') {
    yield ['timestamp', ...fields].join(',');
    for (const [t, v] of samples) yield `\n${[String(t), ...cells(v)].join(',')}`;
    return;
  }
  if (samples.length === 0) {
    yield '(no samples in that range)';
    return;
  }
  let first = true;
  for (const line of tableLines(['time', 'timestamp', ...fields], samples.map(([t, v]) => [iso(t), String(t), ...cells(v)]))) {
    yield first ? line : `\n${line}`;
    first = false;
  }
}

/** Formats the series list of `collector keys`. */
export function formatKeys(series: SeriesInfo[], format: OutputFormat): string {
  if (format === 'json') return JSON.stringify(series, null, 2);
  const rows = series
    .sort((a, b) => a.key.localeCompare(b.key))
    .map((s) => [s.key, String(s.count), iso(s.first), iso(s.last), Object.keys(s.fields).join(',')]);
  if (format === 'csv') return [['key', 'count', 'first', 'last', 'fields'].join(','), ...rows.map((r) => r.map((c) => (c.includes(',') ? `"${c}"` : c)).join(','))].join('\n');
  if (rows.length === 0) return '(no series stored yet)';
  return table(['key', 'count', 'first', 'last', 'fields'], rows);
}

/** Formats a daemon's `/status` for people. */
export function formatStatus(status: ServiceStatus, now = Date.now()): string {
  const ago = (at: string | null) => (at ? `${formatDuration(now - Date.parse(at))} ago` : 'never');
  const head = [
    `${status.service} ${status.version}: ${status.state}, up ${formatDuration(status.uptimeSeconds * 1000)} (since ${status.startedAt})`,
    `storage ${status.storage.backend}: ${status.storage.written} written (${status.storage.writtenPerSecond ?? 0}/s), ${status.storage.buffered} buffered, ${status.storage.rejected} rejected, ${status.storage.errors} errors`,
    ...(status.process ? [formatProcess(status.process)] : []),
    ...(status.storage.failingSince ? [`storage FAILING since ${status.storage.failingSince} (${ago(status.storage.failingSince)}): ${status.storage.lastError ?? 'unknown error'}`] : []),
    ...(status.config?.lastReload ? [reloadLine(status.config, ago)] : []),
    '',
  ];
  const rows = status.collectors.map((c) => [
    c.id,
    c.state + (c.stoppedByOperator ? ' by operator' : '') + (c.nextRestartAt ? ` (retry in ${formatDuration(Math.max(0, Date.parse(c.nextRestartAt) - now))})` : '') + (c.degraded ? ` (degraded: ${c.degraded})` : ''),
    String(c.restarts),
    String(c.itemsStored),
    String(c.itemsPerSecond),
    String(c.connections ?? '-'),
    String(c.bufferedFrames ?? '-'),
    ago(c.lastDataAt),
    // Trades filled over REST, holes recorded, books resynchronized, chain reorgs rewritten: each collector kind shows its own.
    [
      c.tradesBackfilled ? `${c.tradesBackfilled} backfilled` : '',
      c.gaps ? `${c.gaps} gaps` : '',
      c.resyncs ? `${c.resyncs} resyncs` : '',
      c.tradeIdOutliers ? `${c.tradeIdOutliers} id outliers dropped` : '',
      c.reorgs ? `${c.reorgs} reorgs` : '',
    ]
      .filter(Boolean)
      .join(', ') || '-',
    // Only the reasons that occurred, e.g. `2 invalid, 1 oversized`.
    Object.entries(c.dropped).filter(([, n]) => n > 0).map(([reason, n]) => `${n} ${reason}`).join(', ') || '-',
    c.lastError ?? '-',
  ]);
  const out = [...head, table(['collector', 'state', 'restarts', 'items', 'items/s', 'conns', 'buffered', 'last data', 'repairs', 'dropped', 'last error'], rows)];
  const failed = status.collectors.flatMap((c) =>
    (c.failedSeries ?? []).map((f) => [c.id, f.key, ago(f.since), `in ${formatDuration(Math.max(0, Date.parse(f.nextRetryAt) - now))}`, f.reason]),
  );
  if (failed.length > 0) out.push('', table(['collector', 'failed series', 'since', 'next retry', 'reason'], failed));
  return out.join('\n');
}

/** `process: CPU 2.5%, RSS 91.3 MiB, heap 41.0/60.2 MiB, event-loop lag p50 0.1 ms p99 1.9 ms, 40 fds, 9 sockets`. */
function formatProcess(p: ProcessFigures): string {
  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
  return (
    `process: CPU ${p.cpuPercent}%, RSS ${mib(p.rssBytes)} MiB, heap ${mib(p.heapUsedBytes)}/${mib(p.heapTotalBytes)} MiB, ` +
    `event-loop lag p50 ${p.eventLoopLagMs.p50} ms p99 ${p.eventLoopLagMs.p99} ms, ${p.openFds ?? '?'} fds, ${p.openSockets} sockets`
  );
}

/** The daemon's reloads: how many, and the last one (a refusal with its first problem). */
function reloadLine(config: NonNullable<ServiceStatus['config']>, ago: (at: string | null) => string): string {
  const last = config.lastReload!;
  const what = last.result === 'refused' ? `REFUSED (the running config stays): ${last.message.split('\n')[0]}` : `applied: ${last.message}`;
  return `config ${config.file}: ${config.reloads.applied} reload(s) applied, ${config.reloads.refused} refused; the last ${ago(last.at)} ${what}`;
}

/** Formats the `cluster` part of a daemon's `/status` (`collector status --cluster`): members, then every unit and its owner. */
export function formatClusterStatus(status: ServiceStatus): string {
  const cluster = status.cluster;
  if (!cluster) return 'this daemon runs no cluster (no `cluster:` in its config)';
  const head = [
    `cluster (${cluster.mode === 'static' ? `static shard ${cluster.shard}` : `leases, ttl ${formatDuration(cluster.leaseTtlMs ?? 0)}`}): this daemon is ${cluster.node}, ` +
      `runs ${cluster.owned} of ${cluster.units.length} units; ${cluster.takeovers} takeovers, ${cluster.leasesLost} leases lost, ` +
      `${cluster.staleWritesRefused} stale writes refused` +
      (cluster.connected ? '' : `; lease store UNREACHABLE: ${cluster.lastError ?? 'unknown error'}`) +
      (cluster.differentConfig.length > 0 ? `; members with ANOTHER CONFIG (nothing taken over): ${cluster.differentConfig.join(', ')}` : ''),
    '',
    table(['member', 'units'], cluster.members.map((m) => [m.node + (m.node === cluster.node ? ' (this daemon)' : ''), String(m.units)])),
    '',
  ];
  const ms = (v: number | null) => (v === null ? '-' : formatDuration(v));
  const rows = cluster.units.map((u) => [u.unit, u.owner ?? '(free)', u.token === null ? '-' : String(u.token), ms(u.leaseAgeMs), ms(u.renewedAgoMs), u.collectors.join(' ')]);
  return [...head, table(['unit', 'owner', 'token', 'held for', 'renewed', 'collectors'], rows)].join('\n');
}

/** A saved record older than this while its collector claims to run means its daemon is gone. */
const STALE_RECORD_MS = 30_000;

/** Formats saved collector state records (`collector status --redis`): one row per collector, then its checkpoints. */
export function formatCollectorStates(records: CollectorStateRecord[], now = Date.now()): string {
  if (records.length === 0) return '(no collector state saved yet)';
  const ago = (t: number) => `${formatDuration(Math.max(0, now - t))} ago`;
  const rows = records.map((r) => {
    const silent = now - r.updatedAt;
    const live = r.state === 'running' || r.state === 'backing-off';
    // The daemon saves a live collector every few seconds: an old record means nobody is saving it.
    const state = live && silent > STALE_RECORD_MS ? `${r.state} (not updated for ${formatDuration(silent)}: daemon gone?)` : r.state;
    return [r.collector, state, String(r.restarts), ago(r.updatedAt), String(r.checkpoints.length), r.lastError ?? '-'];
  });
  const out = [table(['collector', 'state', 'restarts', 'updated', 'checkpoints', 'last error'], rows)];
  const checkpoints = records.flatMap((r) =>
    r.checkpoints.map((c) => [
      r.collector,
      c.key,
      c.lastTimestamp === undefined ? '-' : `${iso(c.lastTimestamp)} (${ago(c.lastTimestamp)})`,
      c.lastTradeId ?? '-',
    ]),
  );
  if (checkpoints.length > 0) out.push('', table(['collector', 'key', 'last data', 'last trade id'], checkpoints));
  return out.join('\n');
}
