/**
 * Reading series back: one TS.RANGE per field in one pipeline, joined into the records `fetch`
 * returns (index by index when every field holds the same timestamps, else by timestamp);
 * bucketed reads use TimeSeries' own aggregation (ALIGN 0: buckets start at multiples of
 * bucketMs since the epoch, reported at their start). Ranges are decoded raw (timestamps as
 * numbers, values parsed from the reply's bytes): a day of 1m klines is 7,200 pairs, and a
 * string per timestamp and per value cost more than the join.
 */
import { ErrorReply } from 'redis';
import type { SeriesSchema } from '../catalog.js';
import { SCALAR_FIELD, type FetchOptions, type Sample, type SeriesInfo } from '../types.js';
import { fromFields } from '../validation.js';
import { EXACT_NUMBER_REPLY_BELOW, type RedisConnection, type ReplyDecoding } from './connect.js';
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
  const args = [String(from), String(end), ...aggregation];
  // Raw replies spare a string per timestamp and per value, but their numbers may be rounded
  // near 2^53. Replies are ascending, so each one's last timestamp is its largest: when one is
  // past the exact range, read again as text (only timestamps within 64 ms of 2^53 pay).
  let ranges = await rangeReplies(client, schema.key, fields, args, 'raw');
  if (ranges.some((r) => r.length > 0 && Number(r[r.length - 1]![0]) >= EXACT_NUMBER_REPLY_BELOW)) {
    ranges = await rangeReplies(client, schema.key, fields, args, 'text');
  }
  return joinByTimestamp(fields, ranges);
}

/**
 * A TS.RANGE reply: `[timestamp, value]` pairs; the timestamp a number ('raw') or its text,
 * the value its text as bytes ('raw') or as a string.
 */
type RangeReply = Array<[number | string, Buffer | string]>;

/** One TS.RANGE per field with the same arguments after the key. */
function rangeReplies(client: RedisConnection, series: string, fields: string[], args: string[], decoding: ReplyDecoding): Promise<RangeReply[]> {
  // Sent together, so node-redis pipelines them; one series' keys share a slot (one node).
  const replies = fields.map((f) => client.send(fieldKey(series, f), ['TS.RANGE', fieldKey(series, f), ...args], decoding).catch(orEmpty));
  return Promise.all(replies) as Promise<RangeReply[]>;
}

/** Joins per-field replies into ascending `[t, value]` samples. */
function joinByTimestamp(fields: string[], ranges: RangeReply[]): Sample[] {
  if (fields.length === 1) return singleField(fields[0]!, ranges[0]!);
  return alignedByIndex(fields, ranges) ?? joinedByMap(fields, ranges);
}

/** One field: already ascending, no join (scalar series take this path). */
function singleField(field: string, range: RangeReply): Sample[] {
  const samples = new Array<Sample>(range.length);
  for (let i = 0; i < range.length; i++) {
    const value = replyDouble(range[i]![1]);
    samples[i] = [Number(range[i]![0]), field === SCALAR_FIELD ? value : { [field]: value }];
  }
  return samples;
}

/**
 * The records when every field holds the same timestamps (what collectors write: each sample
 * sets every field), built with no map and no sort; undefined otherwise.
 */
function alignedByIndex(fields: string[], ranges: RangeReply[]): Sample[] | undefined {
  const first = ranges[0]!;
  const n = first.length;
  for (let f = 1; f < ranges.length; f++) {
    const other = ranges[f]!;
    if (other.length !== n) return undefined;
    // Redis prints integers canonically: equal text is an equal number.
    for (let i = 0; i < n; i++) if (other[i]![0] !== first[i]![0]) return undefined;
  }
  const records = new Array<Record<string, number>>(n);
  const samples = new Array<Sample>(n);
  for (let i = 0; i < n; i++) samples[i] = [Number(first[i]![0]), (records[i] = {})];
  // Field by field: each inner loop stores one property name, and every record gets its
  // properties in the same order, so they share one shape.
  for (let f = 0; f < fields.length; f++) {
    const field = fields[f]!;
    const range = ranges[f]!;
    for (let i = 0; i < n; i++) records[i]![field] = replyDouble(range[i]![1]);
  }
  return samples;
}

/** The general join: fields written at different timestamps, merged by timestamp. */
function joinedByMap(fields: string[], ranges: RangeReply[]): Sample[] {
  const records = new Map<number, Record<string, number>>();
  fields.forEach((field, i) => {
    for (const [t, v] of ranges[i]!) {
      const ts = Number(t);
      let record = records.get(ts);
      if (!record) records.set(ts, (record = {}));
      record[field] = replyDouble(v);
    }
  });
  return [...records.keys()].sort((a, b) => a - b).map((ts) => [ts, fromFields(records.get(ts)!)]);
}

/** 10^0 ... 10^15, each exact (parsed from text: `10 ** k` may round on some platforms). */
const POWERS_OF_TEN = Array.from({ length: 16 }, (_, k) => Number(`1e${k}`));

/**
 * A value of a TS.RANGE reply as a double, the same one `Number(text)` gives. Plain decimals
 * of at most 15 digits ("49951.17", "-0") are read straight from the bytes: the digits make
 * an exact integer m and the point a power 10^k (k ≤ 15), both exact doubles, so m / 10^k is
 * rounded once, correctly, like Number(). Anything else (exponents, more digits) goes
 * through Number().
 */
function replyDouble(reply: Buffer | string): number {
  if (typeof reply === 'string') return parseDouble(reply);
  const n = reply.length;
  const negative = reply[0] === 0x2d; // '-'
  let m = 0;
  let digits = 0;
  let point = -1;
  for (let i = negative ? 1 : 0; i < n; i++) {
    const c = reply[i]!;
    if (c === 0x2e && point < 0) {
      point = digits; // '.'
    } else if (c >= 0x30 && c <= 0x39) {
      m = m * 10 + (c - 0x30);
      digits++;
    } else {
      return parseDouble(reply.toString('latin1'));
    }
  }
  if (digits === 0 || digits > 15) return parseDouble(reply.toString('latin1'));
  const x = point < 0 ? m : m / POWERS_OF_TEN[digits - point]!;
  return negative ? -x : x;
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
