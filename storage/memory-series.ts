import { mergeValue } from './merge.js';
import type { MergePolicy, Sample } from './types.js';
import { fromFields } from './validation.js';

const INITIAL_CAPACITY = 16;
const { hasOwnProperty } = Object.prototype;

/**
 * One series' samples in time order, stored by column: the timestamps in one Float64Array and
 * each field in its own, so a long run keeps a handful of large arrays alive instead of one
 * small object per sample (which the garbage collector would trace and copy again and again).
 * A field absent at a sample is NaN there: stored values are finite, so NaN means "absent".
 *
 * Live data arrives in time order, so a write is nearly always an append or a merge into the
 * last sample, with no lookup (a Map keyed by ms timestamps, which exceed small integers,
 * hashes and boxes every key). Slots past the last sample hold anything: a new sample sets
 * every column of its slot (NaN where it has no value), so growing a column needs no fill.
 */
export class SeriesColumns {
  private count = 0;
  private times: Float64Array = new Float64Array(INITIAL_CAPACITY);
  /** Field names in the order they joined the series; `columns[c]` holds field `names[c]`. */
  private readonly names: string[] = [];
  private readonly columns: Float64Array[] = [];
  /** Field name → column index; a Map because `constructor` is a valid field name. */
  private readonly index = new Map<string, number>();

  /** Number of samples held. */
  get length(): number {
    return this.count;
  }

  /** Timestamp of the oldest sample; only when `length > 0`. */
  get first(): number {
    return this.times[0]!;
  }

  /** Timestamp of the newest sample; only when `length > 0`. */
  get last(): number {
    return this.times[this.count - 1]!;
  }

  /** Index of the first sample at or after `t`. */
  lowerBound(t: number): number {
    const { times } = this;
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (times[mid]! < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Stores `fields` (own properties, already validated) at `time`: a new sample, or merged field
   * by field into the one already there with `policies`.
   */
  write(time: number, fields: Readonly<Record<string, number>>, policies: Readonly<Record<string, MergePolicy>>): void {
    // As a Map key would: -0 (a valid timestamp) is stored as 0.
    const t = time + 0;
    const n = this.count;
    if (n === 0 || t > this.times[n - 1]!) {
      this.append(t);
      this.set(n, fields);
      return;
    }
    const i = t === this.times[n - 1] ? n - 1 : this.lowerBound(t);
    if (i < n && this.times[i] === t) this.merge(i, fields, policies);
    else {
      this.insertAt(i, t);
      this.set(i, fields);
    }
  }

  /** The samples in `[from, end]`, each a fresh value built from the fields present there. */
  range(from: number, end: number): Sample[] {
    const { times, names, columns, count } = this;
    const out: Sample[] = [];
    for (let i = this.lowerBound(from); i < count && times[i]! <= end; i++) {
      const record: Record<string, number> = {};
      for (let c = 0; c < columns.length; c++) {
        const v = columns[c]![i]!;
        if (v === v) record[names[c]!] = v; // NaN: the field is absent here
      }
      out.push([times[i]!, fromFields(record)]);
    }
    return out;
  }

  /** Drops samples before `cutoff`. */
  dropBefore(cutoff: number): void {
    const i = this.lowerBound(cutoff);
    if (i === 0) return;
    const n = this.count;
    this.times.copyWithin(0, i, n);
    for (const col of this.columns) col.copyWithin(0, i, n);
    this.count = n - i;
  }

  /** Writes a new sample's fields into slot `i`, NaN in the columns of fields it lacks. */
  private set(i: number, fields: Readonly<Record<string, number>>): void {
    const { names, columns } = this;
    for (let c = 0; c < columns.length; c++) columns[c]![i] = NaN;
    let guess = 0;
    for (const name in fields) {
      // Own fields only, as Object.entries sees them (the `.call` form V8 reduces in a for-in).
      if (!hasOwnProperty.call(fields, name)) continue;
      // Writers usually send the fields in the same order every time: try the next column first.
      const c = names[guess] === name ? guess : this.columnOf(name);
      this.columns[c]![i] = fields[name]!;
      guess = c + 1;
    }
  }

  private merge(i: number, fields: Readonly<Record<string, number>>, policies: Readonly<Record<string, MergePolicy>>): void {
    const { names } = this;
    let guess = 0;
    for (const name in fields) {
      if (!hasOwnProperty.call(fields, name)) continue;
      const c = names[guess] === name ? guess : this.columnOf(name);
      const col = this.columns[c]!;
      const had = col[i]!;
      const v = fields[name]!;
      col[i] = had !== had ? v : mergeValue(policies[name]!, had, v);
      guess = c + 1;
    }
  }

  /** The column of field `name`, added (all NaN: no sample had it) when new. */
  private columnOf(name: string): number {
    let c = this.index.get(name);
    if (c === undefined) {
      c = this.columns.length;
      this.index.set(name, c);
      this.names.push(name);
      // NaN at every sample so far (none had this field); later slots are set when used.
      this.columns.push(new Float64Array(this.times.length).fill(NaN, 0, this.count));
    }
    return c;
  }

  private append(t: number): void {
    if (this.count === this.times.length) this.grow();
    this.times[this.count++] = t;
  }

  /** Opens slot `i` for timestamp `t`, shifting the later samples up by one. */
  private insertAt(i: number, t: number): void {
    if (this.count === this.times.length) this.grow();
    const n = this.count;
    this.times.copyWithin(i + 1, i, n);
    this.times[i] = t;
    for (const col of this.columns) col.copyWithin(i + 1, i, n);
    this.count = n + 1;
  }

  /** Doubles the capacity of every column. */
  private grow(): void {
    const capacity = this.times.length * 2;
    this.times = resized(this.times, capacity);
    for (let c = 0; c < this.columns.length; c++) this.columns[c] = resized(this.columns[c]!, capacity);
  }
}

/** A copy of `source` with room for `capacity` values. */
function resized(source: Float64Array, capacity: number): Float64Array {
  const target = new Float64Array(capacity);
  target.set(source);
  return target;
}
