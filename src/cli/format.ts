import type { CollectorStateRecord, Sample, SeriesInfo } from '../../storage/types.js';
import type { ServiceStatus } from '../data-collector.js';
import { formatDuration } from '../duration.js';

export type OutputFormat = 'table' | 'json' | 'csv';

function iso(t: number | null): string {
  return t === null ? '-' : new Date(t).toISOString();
}

/** Renders rows as aligned columns. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** Formats fetched samples: json `[[t, v], ...]`, csv with a header, or a table with ISO times. */
export function formatSamples(samples: Sample[], format: OutputFormat): string {
  if (format === 'json') return JSON.stringify(samples);
  const fields = [...new Set(samples.flatMap(([, v]) => (typeof v === 'number' ? ['value'] : Object.keys(v))))];
  const cells = (v: Sample[1]) => fields.map((f) => {
    const x = typeof v === 'number' ? v : v[f];
    return x === undefined ? '' : String(x);
  });
  if (format === 'csv') return [['timestamp', ...fields].join(','), ...samples.map(([t, v]) => [String(t), ...cells(v)].join(','))].join('\n');
  if (samples.length === 0) return '(no samples in that range)';
  return table(['time', 'timestamp', ...fields], samples.map(([t, v]) => [iso(t), String(t), ...cells(v)]));
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
    ...(status.storage.failingSince ? [`storage FAILING since ${status.storage.failingSince} (${ago(status.storage.failingSince)}): ${status.storage.lastError ?? 'unknown error'}`] : []),
    '',
  ];
  const rows = status.collectors.map((c) => [
    c.id,
    c.state + (c.nextRestartAt ? ` (retry in ${formatDuration(Math.max(0, Date.parse(c.nextRestartAt) - now))})` : '') + (c.degraded ? ` (degraded: ${c.degraded})` : ''),
    String(c.restarts),
    String(c.itemsStored),
    String(c.itemsPerSecond),
    ago(c.lastDataAt),
    // Trades filled over REST, holes recorded, books resynchronized: each collector kind shows its own.
    [c.tradesBackfilled ? `${c.tradesBackfilled} backfilled` : '', c.gaps ? `${c.gaps} gaps` : '', c.resyncs ? `${c.resyncs} resyncs` : ''].filter(Boolean).join(', ') || '-',
    c.lastError ?? '-',
  ]);
  return [...head, table(['collector', 'state', 'restarts', 'items', 'items/s', 'last data', 'repairs', 'last error'], rows)].join('\n');
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
