import { StorageError } from './errors.js';
import {
  AGGREGATIONS,
  MERGE_POLICIES,
  SCALAR_FIELD,
  type FetchOptions,
  type SampleValue,
  type SeriesDeclaration,
} from './types.js';

const KEY_PATTERN = /^[A-Za-z0-9:_\-./]{1,200}$/;
const FIELD_PATTERN = /^[a-z][a-z0-9_]*$/;
const MAX_TIMESTAMP = Number.MAX_SAFE_INTEGER;

function describe(value: unknown): string {
  // Long enough to show any key that is just over the 200-character limit in full.
  if (typeof value === 'string') return JSON.stringify(value.length > 256 ? `${value.slice(0, 256)}…` : value);
  if (typeof value === 'number') return String(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

/** Throws unless `key` is 1–200 of `A-Z a-z 0-9 : _ - . /`. */
export function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
    throw new StorageError(
      `bad key ${describe(key)}: keys are 1 to 200 of A-Z a-z 0-9 : _ - . / (e.g. trades:binance:BTC-USDT)`,
      typeof key === 'string' ? key : undefined,
    );
  }
}

/** Throws unless `t` is an integer millisecond timestamp in [0, 2^53 − 1]. */
export function checkTimestamp(key: string, t: unknown, what = 'timestamp'): asserts t is number {
  if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t > MAX_TIMESTAMP) {
    throw new StorageError(
      `bad ${what} ${describe(t)} for ${key}: expected integer milliseconds since the epoch, 0 to 2^53-1`,
      key,
    );
  }
}

/** Throws unless `[start, end]` is a valid inclusive range and the options are known. */
export function checkRange(key: string, start: unknown, end: unknown, options?: FetchOptions): void {
  checkKey(key);
  checkTimestamp(key, start, 'start');
  checkTimestamp(key, end, 'end');
  if (start > end) throw new StorageError(`bad range for ${key}: start ${start} is after end ${end}`, key);
  if (options?.bucketMs !== undefined || options?.aggregation !== undefined) {
    const { bucketMs, aggregation } = options;
    if (typeof bucketMs !== 'number' || !Number.isInteger(bucketMs) || bucketMs <= 0) {
      throw new StorageError(`bad bucketMs ${describe(bucketMs)} for ${key}: expected a positive integer`, key);
    }
    if (!AGGREGATIONS.includes(aggregation as never)) {
      throw new StorageError(
        `bad aggregation ${describe(aggregation)} for ${key}: expected one of ${AGGREGATIONS.join('|')}`,
        key,
      );
    }
  }
}

/** Validates a sample value and returns it as fields (a number becomes `{ value }`). */
export function toFields(key: string, value: unknown): Record<string, number> {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new StorageError(`bad value ${describe(value)} for ${key}: not finite`, key);
    return { [SCALAR_FIELD]: value };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new StorageError(`bad value ${describe(value)} for ${key}: expected a finite number or a flat record`, key);
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) throw new StorageError(`bad value for ${key}: empty record`, key);
  for (const [field, v] of entries) {
    if (!FIELD_PATTERN.test(field)) {
      throw new StorageError(`bad field name ${describe(field)} for ${key}: expected [a-z][a-z0-9_]*`, key);
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new StorageError(`bad value ${describe(v)} for ${key}.${field}: expected a finite number`, key);
    }
  }
  return value as Record<string, number>;
}

/** Turns stored fields back into the value `fetch` returns (a number for scalar series). */
export function fromFields(fields: Record<string, number>): SampleValue {
  const names = Object.keys(fields);
  if (names.length === 1 && names[0] === SCALAR_FIELD) return fields[SCALAR_FIELD]!;
  return fields;
}

/** Throws unless the declaration is well formed. */
export function checkDeclaration(series: SeriesDeclaration): void {
  checkKey(series.key);
  const fields = Object.entries(series.fields ?? {});
  if (fields.length === 0) throw new StorageError(`bad declaration of ${series.key}: no fields`, series.key);
  for (const [field, policy] of fields) {
    if (!FIELD_PATTERN.test(field)) {
      throw new StorageError(`bad declaration of ${series.key}: field name ${describe(field)} is not [a-z][a-z0-9_]*`, series.key);
    }
    if (!MERGE_POLICIES.includes(policy)) {
      throw new StorageError(
        `bad declaration of ${series.key}.${field}: merge policy ${describe(policy)} is not one of ${MERGE_POLICIES.join('|')}`,
        series.key,
      );
    }
  }
  const retention = series.retentionMs ?? 0;
  if (!Number.isInteger(retention) || retention < 0) {
    throw new StorageError(`bad declaration of ${series.key}: retentionMs ${describe(retention)} is not a non-negative integer`, series.key);
  }
  for (const [label, v] of Object.entries(series.labels ?? {})) {
    if (typeof v !== 'string') throw new StorageError(`bad declaration of ${series.key}: label ${label} is not a string`, series.key);
  }
}
