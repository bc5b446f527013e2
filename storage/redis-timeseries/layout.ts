/**
 * How series live in Redis: key names, labels, duplicate policies and the per-series schema
 * hash. Everything one series needs shares the hash tag `{<series key>}`, so a record's keys
 * sit in one cluster slot and no command ever spans slots.
 */
import type { SeriesSchema } from '../catalog.js';
import { StorageError } from '../errors.js';
import type { Aggregation, MergePolicy } from '../types.js';

/** Bumped when the layout changes incompatibly; stored in every schema hash. */
export const LAYOUT_VERSION = '1';

/** The set of every series key, so listing series never needs KEYS or SCAN. */
export const SERIES_SET = 'tsmeta:series';

/** The TimeSeries key holding one field of a series: `ts:{<series key>}:<field>`. */
export function fieldKey(series: string, field: string): string {
  return `ts:{${series}}:${field}`;
}

/** The hash holding a series' schema (fields → policies, retention, labels, declared). */
export function schemaKey(series: string): string {
  return `tsmeta:{${series}}`;
}

/**
 * The marker a writer sets atomically with each batch it writes to a series; after a lost
 * reply it tells whether the batch was applied (so `sum` fields are never added twice).
 */
export function ackKey(series: string, writerId: string): string {
  return `tsack:{${series}}:${writerId}`;
}

/**
 * A series' checkpoints: a hash of collector id → that collector's checkpoint of the series (as
 * JSON). It shares the series' hash tag, so the MULTI that writes a batch of samples also moves
 * the checkpoint that vouches for them: both are applied, or neither.
 */
export function checkpointKey(series: string): string {
  return `tsckpt:{${series}}`;
}

/**
 * A series' write fences (HA across daemons): a hash of unit (collector id) → the highest fencing
 * token that has written the series or claimed it. It shares the series' hash tag, so the script
 * that writes a fenced batch checks and raises it atomically with the samples (fence.ts).
 */
export function fenceKey(series: string): string {
  return `tsfence:{${series}}`;
}

/**
 * Every key of collectors' state records starts with this (collector-state.ts). It holds no
 * series key and no hash tag: plain hashes and a set, on any Redis, modules or not.
 */
export const COLLECTOR_STATE_PREFIX = 'collector-state:';

/** The set of series keys a collector has checkpoints of (in `checkpointKey(series)` hashes). */
export function checkpointSeriesKey(collector: string): string {
  return `${COLLECTOR_STATE_PREFIX}checkpoint-series:${collector}`;
}

/** The set of collector ids that have a record or checkpoints, so listing needs neither SCAN nor a search index. */
export const COLLECTOR_STATE_IDS = `${COLLECTOR_STATE_PREFIX}collectors`;

/** Key patterns of everything this layout creates (for tests and tooling that clean up). */
export const LAYOUT_PATTERNS = ['ts:{*', 'tsmeta:{*', 'tsack:{*', 'tsckpt:{*', 'tsfence:{*', SERIES_SET, `${COLLECTOR_STATE_PREFIX}*`] as const;

/** Labels this backend sets on every key itself; a declaration may not use them. */
export const RESERVED_LABELS = ['series', 'field'] as const;

const DUPLICATE_POLICIES: Record<MergePolicy, string> = { last: 'LAST', first: 'FIRST', min: 'MIN', max: 'MAX', sum: 'SUM' };

/** The TimeSeries DUPLICATE_POLICY that merges like `policy`. */
export function duplicatePolicy(policy: MergePolicy): string {
  return DUPLICATE_POLICIES[policy];
}

/** The TimeSeries aggregator for a bucketed read (same names, upper case). */
export function aggregator(aggregation: Aggregation): string {
  return aggregation.toUpperCase();
}

/**
 * A double as TS.MADD should receive it: the shortest text that parses back (strtod) to the
 * same bits. `String` gives that for every finite double except -0, which it prints as "0".
 */
export function formatDouble(x: number): string {
  return Object.is(x, -0) ? '-0' : String(x);
}

/** A value from a TS.RANGE/TS.GET reply (e.g. "3.0000000000000004E-1", "-0") as a double. */
export function parseDouble(reply: unknown): number {
  return Number(typeof reply === 'string' ? reply : String(reply));
}

/**
 * Bytes per chunk. Retention trims whole chunks and every key keeps at least one partly
 * filled chunk, so small series (klines, one sample a minute) stay at the 4 KiB default;
 * trades and order-book series get many samples a second and fewer, larger chunks read faster.
 */
export function chunkSizeFor(schema: SeriesSchema): number {
  const kind = schema.labels.kind ?? schema.key.split(':', 1)[0];
  return kind === 'trades' || kind === 'liquidity' ? 16_384 : 4_096;
}

/**
 * The labels of a field key: `series`, `field` and the declared labels, so users can
 * `TS.MRANGE - + FILTER exchange=binance kind=trades`. TimeSeries refuses empty label
 * values, so those stay only in the schema hash.
 */
export function keyLabels(schema: SeriesSchema, field: string): Array<[string, string]> {
  const declared = Object.entries(schema.labels).filter(([, v]) => v !== '');
  return [['series', schema.key], ['field', field], ...declared.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))];
}

/** Throws when a declaration uses a label name this backend sets itself. */
export function checkLabels(key: string, labels: Readonly<Record<string, string>> | undefined): void {
  for (const name of RESERVED_LABELS) {
    if (labels && Object.hasOwn(labels, name)) {
      throw new StorageError(
        `bad declaration of ${key}: label "${name}" is reserved (redis-timeseries sets series=<key> and field=<field> on every key)`,
        key,
      );
    }
  }
}

/** The schema hash's fields for `schema`. */
export function encodeSchema(schema: SeriesSchema): string[] {
  return [
    'fields', JSON.stringify(schema.fields),
    'retentionMs', String(schema.retentionMs),
    'labels', JSON.stringify(schema.labels),
    'declared', schema.declared ? '1' : '0',
    'layout', LAYOUT_VERSION,
  ];
}

/** Reads a schema hash (an HGETALL reply); undefined when the series does not exist. */
export function decodeSchema(key: string, reply: unknown): SeriesSchema | undefined {
  const hash = pairs(reply);
  if (hash.fields === undefined) return undefined;
  try {
    return {
      key,
      fields: JSON.parse(String(hash.fields)) as Record<string, MergePolicy>,
      retentionMs: Number(hash.retentionMs ?? 0),
      labels: JSON.parse(String(hash.labels ?? '{}')) as Record<string, string>,
      declared: hash.declared === '1',
    };
  } catch {
    throw new StorageError(`corrupt schema hash ${schemaKey(key)} for ${key}: fields or labels are not JSON`, key);
  }
}

/** A flat `[name, value, name, value, ...]` reply (HGETALL, TS.INFO in RESP2) as an object. */
export function pairs(reply: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = reply[i + 1];
  } else if (reply && typeof reply === 'object') {
    Object.assign(out, reply); // RESP3 map
  }
  return out;
}

/** The parts of TS.INFO this backend reads. */
export interface FieldKeyInfo {
  totalSamples: number;
  firstTimestamp: number;
  lastTimestamp: number;
  retentionMs: number;
  /** Lower case (`sum`), or null when the key has none and follows the server default. */
  duplicatePolicy: string | null;
  labels: Array<[string, string]>;
}

/** Parses a TS.INFO reply. */
export function parseInfo(reply: unknown): FieldKeyInfo {
  const info = pairs(reply);
  const labels: Array<[string, string]> = Array.isArray(info.labels)
    ? (info.labels as unknown[]).map((l): [string, string] => (Array.isArray(l) ? [String(l[0]), String(l[1])] : pairPair(l)))
    : Object.entries(pairs(info.labels)).map(([k, v]): [string, string] => [k, String(v)]);
  const policy = info.duplicatePolicy;
  return {
    totalSamples: Number(info.totalSamples ?? 0),
    firstTimestamp: Number(info.firstTimestamp ?? 0),
    lastTimestamp: Number(info.lastTimestamp ?? 0),
    retentionMs: Number(info.retentionTime ?? 0),
    duplicatePolicy: policy === null || policy === undefined ? null : String(policy).toLowerCase(),
    labels,
  };
}

function pairPair(l: unknown): [string, string] {
  const [name, value] = Object.entries(pairs(l))[0] ?? ['', ''];
  return [name, String(value)];
}

/** Labels compared regardless of order. */
export function sameLabels(a: ReadonlyArray<[string, string]>, b: ReadonlyArray<[string, string]>): boolean {
  const norm = (l: ReadonlyArray<[string, string]>) => JSON.stringify([...l].map(([k, v]) => `${k}=${v}`).sort());
  return norm(a) === norm(b);
}
