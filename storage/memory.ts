import { aggregateSamples } from './aggregate.js';
import { SeriesCatalog } from './catalog.js';
import { StorageClosedError } from './errors.js';
import { MemoryCollectorStateStore } from './memory-state.js';
import { mergeValue } from './merge.js';
import type {
  DataCollectionStorage,
  FetchOptions,
  Point,
  Sample,
  SampleValue,
  SeriesDeclaration,
  SeriesInfo,
  StorageStats,
  StoreManyResult,
} from './types.js';
import { checkKey, checkRange, checkTimestamp, fromFields, toFields } from './validation.js';

/**
 * One series' samples in time order. Live data arrives in time order, so a write is nearly
 * always an append or a merge into the last sample, with no lookup (a Map keyed by ms
 * timestamps, which exceed small integers, hashes and boxes every key).
 */
class SeriesSamples {
  readonly times: number[] = [];
  readonly values: Array<Record<string, number>> = [];

  /** Index of the first sample at or after `t`. */
  lowerBound(t: number): number {
    const { times } = this;
    let lo = 0;
    let hi = times.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (times[mid]! < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The sample at `t`, or undefined after inserting `fields` (copied) there. */
  existingOrInsert(time: number, fields: Record<string, number>): Record<string, number> | undefined {
    // As a Map key would: -0 (a valid timestamp) is stored as 0.
    const t = time + 0;
    const { times, values } = this;
    const n = times.length;
    if (n === 0 || t > times[n - 1]!) {
      times.push(t);
      values.push({ ...fields });
      return undefined;
    }
    const i = t === times[n - 1] ? n - 1 : this.lowerBound(t);
    if (times[i] === t) return values[i];
    times.splice(i, 0, t);
    values.splice(i, 0, { ...fields });
    return undefined;
  }

  /** Drops samples before `cutoff`. */
  dropBefore(cutoff: number): void {
    const i = this.lowerBound(cutoff);
    if (i === 0) return;
    this.times.splice(0, i);
    this.values.splice(0, i);
  }
}

/** Keeps everything in this process's memory: for tests, demos and short-lived runs. */
export class MemoryStorage implements DataCollectionStorage {
  private readonly catalog = new SeriesCatalog();
  private readonly data = new Map<string, SeriesSamples>();
  private readonly newest = new Map<string, number>();
  private readonly prunedAt = new Map<string, number>();
  private closed = false;
  private written = 0;
  private rejected = 0;
  readonly collectorState = new MemoryCollectorStateStore((call) => this.ensureOpen(call));

  async declare(series: SeriesDeclaration): Promise<void> {
    this.ensureOpen('declare');
    this.catalog.declare(series);
    this.prune(series.key);
  }

  async store(key: string, value: SampleValue, timestamp: number): Promise<void> {
    this.ensureOpen('store');
    try {
      this.write(key, value, timestamp);
    } catch (err) {
      this.rejected += 1;
      throw err;
    }
  }

  async storeMany(points: readonly Point[]): Promise<StoreManyResult> {
    this.ensureOpen('storeMany');
    const result: StoreManyResult = { accepted: 0, rejected: [] };
    for (let i = 0; i < points.length; i++) {
      const p = points[i]!;
      try {
        this.write(p.key, p.value, p.timestamp);
        result.accepted += 1;
      } catch (err) {
        this.rejected += 1;
        result.rejected.push({ index: i, key: String(p?.key), reason: err instanceof Error ? err.message : String(err) });
      }
    }
    return result;
  }

  async fetch(key: string, start: number, end: number, options?: FetchOptions): Promise<Sample[]> {
    this.ensureOpen('fetch');
    checkRange(key, start, end, options);
    const series = this.data.get(key);
    if (!series) return [];
    const from = Math.max(start, this.retentionCutoff(key));
    const out: Sample[] = [];
    const { times, values } = series;
    for (let i = series.lowerBound(from); i < times.length && times[i]! <= end; i++) out.push([times[i]!, fromFields({ ...values[i]! })]);
    if (options?.bucketMs) return aggregateSamples(out, options.bucketMs, options.aggregation!);
    return out;
  }

  async keys(): Promise<SeriesInfo[]> {
    this.ensureOpen('keys');
    return this.catalog.all().map((s) => {
      const ts = this.data.get(s.key)?.times ?? [];
      return {
        key: s.key,
        fields: { ...s.fields },
        retentionMs: s.retentionMs,
        labels: { ...s.labels },
        count: ts.length,
        first: ts.length ? ts[0]! : null,
        last: ts.length ? ts[ts.length - 1]! : null,
      };
    });
  }

  async flush(): Promise<void> {
    this.ensureOpen('flush');
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  stats(): StorageStats {
    return { backend: 'memory', buffered: 0, written: this.written, rejected: this.rejected, errors: 0 };
  }

  private write(key: string, value: SampleValue, timestamp: number): void {
    // A declared series' well-formed points skip the per-point pattern checks.
    let policies = this.catalog.knownPoint(key, value, timestamp);
    let fields = value as Record<string, number>;
    if (policies === undefined) {
      checkKey(key);
      checkTimestamp(key, timestamp);
      fields = toFields(key, value);
      policies = this.catalog.resolve(key, fields).policies;
    }
    let series = this.data.get(key);
    if (!series) this.data.set(key, (series = new SeriesSamples()));
    const existing = series.existingOrInsert(timestamp, fields);
    if (existing) for (const [name, v] of Object.entries(fields)) {
      const had = Object.hasOwn(existing, name) ? existing[name] : undefined; // `constructor` is a valid field name
      existing[name] = had === undefined ? v : mergeValue(policies[name]!, had, v);
    }
    this.written += 1;
    const newest = this.newest.get(key);
    if (newest === undefined || timestamp > newest) {
      this.newest.set(key, timestamp);
      // Amortized: sweep once the cutoff has moved by a whole retention period.
      const retention = this.catalog.get(key)?.retentionMs ?? 0;
      if (retention && timestamp - (this.prunedAt.get(key) ?? 0) >= retention) this.prune(key);
    }
  }

  /** Samples before this are past retention (newest minus retention; the Redis TimeSeries rule). */
  private retentionCutoff(key: string): number {
    const retention = this.catalog.get(key)?.retentionMs ?? 0;
    const newest = this.newest.get(key);
    return retention && newest !== undefined ? newest - retention : 0;
  }

  /** Drops samples past retention. */
  private prune(key: string): void {
    const cutoff = this.retentionCutoff(key);
    const series = this.data.get(key);
    if (!cutoff || !series) return;
    series.dropBefore(cutoff);
    this.prunedAt.set(key, this.newest.get(key) ?? 0);
  }

  private ensureOpen(call: string): void {
    if (this.closed) throw new StorageClosedError('memory', call);
  }
}
