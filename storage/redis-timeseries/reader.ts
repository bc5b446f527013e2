/**
 * Reading series back: one TS.RANGE per field in one pipeline, joined into the records `fetch`
 * returns (index by index when every field holds the same timestamps, else by timestamp);
 * bucketed reads use TimeSeries' own aggregation (ALIGN 0: buckets start at multiples of
 * bucketMs since the epoch, reported at their start).
 */
import { ErrorReply } from 'redis';
import type { SeriesSchema } from '../catalog.js';
import type { FetchOptions, Sample, SeriesInfo } from '../types.js';
import { fromFields } from '../validation.js';
import type { RedisConnection } from './connect.js';
import { aggregator, fieldKey, parseDouble, parseInfo } from './layout.js';

/** A field key that is not there yet (declared, never created by a crashed writer) reads as empty. */
const orEmpty = (err: unknown): unknown => {
  if (err instanceof ErrorReply && /does not exist/i.test(err.message)) return [];
  throw err;
};

/**
 * The newest timestamp of any field of the series, or undefined when it has no samples.
 * Retention is relative to the series' newest sample, across all its fields.
 */
async function newestTimestamp(client: RedisConnection, schema: SeriesSchema): Promise<number | undefined> {
  const fields = Object.keys(schema.fields);
  const lasts = await Promise.all(fields.map((f) => client.send(fieldKey(schema.key, f), ['TS.GET', fieldKey(schema.key, f)]).catch(orEmpty)));
  let newest: number | undefined;
  for (const last of lasts) {
    if (Array.isArray(last) && last.length >= 2) newest = Math.max(newest ?? -Infinity, Number(last[0]));
  }
  return newest;
}

/**
 * Samples of a series with `start ≤ t ≤ end`, ascending, each record with the fields present
 * at its timestamp; samples older than the newest minus the retention are left out (as the
 * other backends do, whether or not TimeSeries has trimmed them yet).
 */
export async function readSeries(client: RedisConnection, schema: SeriesSchema, start: number, end: number, options?: FetchOptions): Promise<Sample[]> {
  let from = start;
  if (schema.retentionMs > 0) {
    // Read first, so a bucket never includes a sample past retention.
    const newest = await newestTimestamp(client, schema);
    if (newest === undefined) return [];
    from = Math.max(start, newest - schema.retentionMs);
    if (from > end) return [];
  }
  const fields = Object.keys(schema.fields);
  const aggregation = options?.bucketMs ? ['AGGREGATION', aggregator(options.aggregation!), String(options.bucketMs)] : [];
  // Sent together, so node-redis pipelines them; one series' keys share a slot (one node).
  const ranges = await Promise.all(
    fields.map((f) => client.send(fieldKey(schema.key, f), ['TS.RANGE', fieldKey(schema.key, f), String(from), String(end), ...aggregation]).catch(orEmpty)),
  );
  return joinByTimestamp(fields, ranges as unknown[][]);
}

/** Joins per-field `[[t, "v"], ...]` replies into ascending `[t, value]` samples. */
function joinByTimestamp(fields: string[], ranges: unknown[][]): Sample[] {
  if (fields.length === 1) {
    // One field: already ascending, no join needed (scalar series take this path).
    return ranges[0]!.map((pair) => {
      const [t, v] = pair as [unknown, unknown];
      return [Number(t), fromFields({ [fields[0]!]: parseDouble(v) })];
    });
  }
  const aligned = alignedByIndex(fields, ranges);
  if (aligned) return aligned;
  const records = new Map<number, Record<string, number>>();
  fields.forEach((field, i) => {
    for (const pair of ranges[i]!) {
      const [t, v] = pair as [unknown, unknown];
      const ts = Number(t);
      let record = records.get(ts);
      if (!record) records.set(ts, (record = {}));
      record[field] = parseDouble(v);
    }
  });
  return [...records.keys()].sort((a, b) => a - b).map((ts) => [ts, fromFields(records.get(ts)!)]);
}

/**
 * The records when every field holds the same timestamps (what collectors write: each sample
 * sets every field), built index by index with no map and no sort; undefined otherwise.
 */
function alignedByIndex(fields: string[], ranges: unknown[][]): Sample[] | undefined {
  const n = ranges[0]!.length;
  for (let f = 1; f < ranges.length; f++) if (ranges[f]!.length !== n) return undefined;
  const samples: Sample[] = new Array<Sample>(n);
  for (let i = 0; i < n; i++) {
    const t = (ranges[0]![i] as [unknown, unknown])[0];
    const ts = Number(t);
    const record: Record<string, number> = {};
    for (let f = 0; f < fields.length; f++) {
      const [tf, v] = ranges[f]![i] as [unknown, unknown];
      // Replies are integers (as strings or numbers); compare as numbers.
      if (tf !== t && Number(tf) !== ts) return undefined;
      record[fields[f]!] = parseDouble(v);
    }
    samples[i] = [ts, fromFields(record)];
  }
  return samples;
}

/**
 * `keys()` entries from the schemas and one TS.INFO per field key. `count` is the largest
 * sample count of any field: exact when every sample writes every field (what collectors
 * do); a series whose fields were written at different timestamps may hold more distinct
 * timestamps than that, and counting them would mean reading every sample.
 */
export async function describeSeries(client: RedisConnection, schemas: SeriesSchema[]): Promise<SeriesInfo[]> {
  const fieldKeys = schemas.map((s) => Object.keys(s.fields).map((f) => fieldKey(s.key, f)));
  const infos = await Promise.all(fieldKeys.flat().map((k) => client.send(k, ['TS.INFO', k]).catch(orEmpty)));
  let next = 0;
  return schemas.map((schema, i) => {
    let count = 0;
    let first: number | null = null;
    let last: number | null = null;
    for (const _ of fieldKeys[i]!) {
      const reply = infos[next++];
      if (Array.isArray(reply) && reply.length === 0) continue; // the key does not exist
      const info = parseInfo(reply);
      if (info.totalSamples === 0) continue;
      count = Math.max(count, info.totalSamples);
      first = first === null ? info.firstTimestamp : Math.min(first, info.firstTimestamp);
      last = last === null ? info.lastTimestamp : Math.max(last, info.lastTimestamp);
    }
    return { key: schema.key, fields: { ...schema.fields }, retentionMs: schema.retentionMs, labels: { ...schema.labels }, count, first, last };
  });
}
