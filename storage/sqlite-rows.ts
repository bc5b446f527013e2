import type Database from 'better-sqlite3';
import { mergeValue } from './merge.js';
import type { MergePolicy } from './types.js';

/*
 * One SQLite row per (series, millisecond): the sample's fields as little-endian float64s in the
 * series' column order, a NaN where the sample has no such field (stored values are always
 * finite, so NaN never means a value). One row instead of one per field makes a trade sample a
 * single B-tree insert, and keeps every double bit for bit (-0, subnormals).
 */

/** One letter per merge policy, a column's letter in a series' policy string. */
const POLICY_LETTER: Record<MergePolicy, string> = { last: 'l', first: 'f', min: 'n', max: 'x', sum: 's' };
const LETTER_POLICY = new Map(Object.entries(POLICY_LETTER).map(([policy, letter]) => [letter.charCodeAt(0), policy as MergePolicy]));

/** The SQL function that merges a conflicting row into the stored one. */
export const MERGE_FUNCTION = 'qc_merge_sample';

/** A series' policy string: each column's merge policy as one letter. */
export function policyLetters(columns: readonly string[], fields: Readonly<Record<string, MergePolicy>>): string {
  let letters = '';
  for (const name of columns) letters += POLICY_LETTER[fields[name] ?? 'last'];
  return letters;
}

const asFloats = (blob: Uint8Array): Float64Array =>
  // Blobs from SQLite come in fresh buffers; an unaligned one is copied so it can be read as doubles.
  blob.byteOffset % 8 === 0 ? new Float64Array(blob.buffer, blob.byteOffset, blob.byteLength >> 3) : new Float64Array(blob.slice().buffer);

/**
 * Merges an incoming row into the stored one, column by column with each column's policy; a
 * column absent on one side takes the other's. The stored row may be shorter (written before a
 * field joined the series).
 */
export function mergeRows(stored: Uint8Array, incoming: Uint8Array, letters: string): Float64Array {
  const was = asFloats(stored);
  const now = asFloats(incoming);
  const out = new Float64Array(Math.max(was.length, now.length));
  for (let c = 0; c < out.length; c++) {
    const a = c < was.length ? was[c]! : NaN;
    const b = c < now.length ? now[c]! : NaN;
    out[c] = a !== a ? b : b !== b ? a : mergeValue(LETTER_POLICY.get(letters.charCodeAt(c)) ?? 'last', a, b);
  }
  return out;
}

/** Makes {@link MERGE_FUNCTION} callable in `db`'s statements (the writer's connection). */
export function registerMergeFunction(db: Database.Database): void {
  db.function(MERGE_FUNCTION, { deterministic: true, directOnly: true }, (stored, incoming, letters) =>
    mergeRows(stored as Uint8Array, incoming as Uint8Array, letters as string),
  );
}

/**
 * An upsert of `rows` rows of one series whose columns merge as `letters` says: the same result
 * as one upsert per row (SQLite applies the conflict clause to each row in order), in one statement.
 */
export function upsertSql(letters: string, rows: number): string {
  if (!/^[lfnxs]*$/.test(letters)) throw new Error(`bad policy letters ${JSON.stringify(letters)}`);
  const values = Array.from({ length: rows }, () => '(?, ?, ?)').join(', ');
  return `INSERT INTO samples (series_id, ts, v) VALUES ${values} ON CONFLICT (series_id, ts) DO UPDATE SET v = ${MERGE_FUNCTION}(v, excluded.v, '${letters}')`;
}

/** A stored row as a record of its present fields. */
export function decodeRow(blob: Uint8Array, columns: readonly string[]): Record<string, number> {
  const record: Record<string, number> = {};
  const n = Math.min(columns.length, blob.byteLength >> 3);
  if (blob.byteOffset % 8 === 0) {
    const values = new Float64Array(blob.buffer, blob.byteOffset, n);
    for (let c = 0; c < n; c++) {
      const v = values[c]!;
      if (v === v) record[columns[c]!] = v;
    }
    return record;
  }
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  for (let c = 0; c < n; c++) {
    const v = view.getFloat64(c * 8, true);
    if (v === v) record[columns[c]!] = v;
  }
  return record;
}

/** A record as a row in `columns` order (absent fields NaN). */
export function encodeRow(fields: Readonly<Record<string, number>>, columns: readonly string[]): Float64Array {
  const row = new Float64Array(columns.length).fill(NaN);
  for (let c = 0; c < columns.length; c++) {
    const name = columns[c]!;
    if (Object.hasOwn(fields, name)) row[c] = fields[name]!;
  }
  return row;
}

/** One series' rows of a batch: `length` rows of `[ts, width values]` in `data`, in arrival order. */
export interface SeriesRowsBatch {
  key: string;
  /** Each column's merge policy letter ({@link policyLetters}). */
  letters: string;
  width: number;
  length: number;
  newest: number;
  data: Float64Array;
}

/**
 * One series' samples waiting for the next write transaction, packed as [ts, column values…]
 * per row. A sample at the same millisecond as the row before it is merged in place, so a
 * burst of writes to one millisecond is one row.
 */
export class PendingRows {
  /** Column count; rows are `1 + width` doubles. */
  width = 0;
  /** Rows in `data`. */
  length = 0;
  newest = -Infinity;
  data = new Float64Array(0);
  private index = new Map<string, number>();
  private names: readonly string[] = [];
  /** A taken batch's array, given back once written: the next take() starts on it. */
  private spare: Float64Array<ArrayBuffer> | undefined;
  private policies: MergePolicy[] = [];

  constructor(readonly key: string) {}

  /** Sets the columns (the old ones first, in order) and their policies; widens rows already held. */
  layout(columns: readonly string[], fields: Readonly<Record<string, MergePolicy>>): void {
    this.policies = columns.map((name) => fields[name] ?? 'last');
    if (columns.length === this.width) return;
    const stride = columns.length + 1;
    const wider = new Float64Array(Math.max(this.length, 16) * stride).fill(NaN);
    for (let r = 0; r < this.length; r++) wider.set(this.data.subarray(r * (this.width + 1), (r + 1) * (this.width + 1)), r * stride);
    this.data = wider;
    this.width = columns.length;
    this.index = new Map(columns.map((name, c) => [name, c]));
    this.names = [...columns];
  }

  /** Adds (or merges into the previous row) one sample whose fields are all columns of the layout. */
  add(ts: number, fields: Readonly<Record<string, number>>): void {
    const stride = this.width + 1;
    const last = (this.length - 1) * stride;
    if (this.length > 0 && this.data[last] === ts) {
      for (const name in fields) {
        const at = last + 1 + this.index.get(name)!;
        const had = this.data[at]!;
        const v = fields[name]!;
        this.data[at] = had !== had ? v : mergeValue(this.policies[at - last - 1]!, had, v);
      }
      return;
    }
    let at = this.length * stride;
    if (at + stride > this.data.length) {
      const grown = new Float64Array(Math.max(16 * stride, this.data.length * 2)).fill(NaN);
      grown.set(this.data.subarray(0, at));
      this.data = grown;
    }
    this.data[at] = ts;
    for (let c = 1; c < stride; c++) this.data[at + c] = NaN;
    at += 1;
    // Writers usually send the fields in column order: try the next column before the index.
    let guess = 0;
    for (const name in fields) {
      const c = this.names[guess] === name ? guess : this.index.get(name)!;
      this.data[at + c] = fields[name]!;
      guess = c + 1;
    }
    this.length += 1;
    if (ts > this.newest) this.newest = ts;
  }

  /** Hands the rows held over to a write batch and starts empty (with room for as many again). */
  take(letters: string): SeriesRowsBatch {
    const batch: SeriesRowsBatch = { key: this.key, letters, width: this.width, length: this.length, newest: this.newest, data: this.data };
    // Reused memory: a fresh array of this size would fault in new pages as it fills.
    this.data = this.spare !== undefined && this.spare.length >= this.data.length ? this.spare : new Float64Array(this.data.length);
    this.spare = undefined;
    this.length = 0;
    this.newest = -Infinity;
    return batch;
  }

  /** Takes back the array of a batch that was written, for the next take(). */
  recycle(batch: SeriesRowsBatch): void {
    if (batch.width === this.width) this.spare = batch.data as Float64Array<ArrayBuffer>;
  }

  /** Puts back the rows of a batch that was not written, before the rows taken since. */
  restore(batch: SeriesRowsBatch): void {
    // Columns only ever join, so the batch's rows are at most as wide as these.
    const stride = this.width + 1;
    const from = batch.width + 1;
    const data = new Float64Array((batch.length + this.length) * stride).fill(NaN);
    for (let r = 0; r < batch.length; r++) data.set(batch.data.subarray(r * from, (r + 1) * from), r * stride);
    data.set(this.data.subarray(0, this.length * stride), batch.length * stride);
    this.data = data;
    this.length += batch.length;
    this.newest = Math.max(this.newest, batch.newest);
  }
}
