import { aggregateSamples } from './aggregate.js';
import { SeriesCatalog } from './catalog.js';
import { StorageClosedError } from './errors.js';
import { MemoryCollectorStateStore } from './memory-state.js';
import { SeriesColumns } from './memory-series.js';
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
import { checkKey, checkRange, checkTimestamp, toFields } from './validation.js';

/** Keeps everything in this process's memory: for tests, demos and short-lived runs. */
export class MemoryStorage implements DataCollectionStorage {
  private readonly catalog = new SeriesCatalog();
  private readonly data = new Map<string, SeriesColumns>();
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
    const out = series.range(Math.max(start, this.retentionCutoff(key)), end);
    if (options?.bucketMs) return aggregateSamples(out, options.bucketMs, options.aggregation!);
    return out;
  }

  async keys(): Promise<SeriesInfo[]> {
    this.ensureOpen('keys');
    return this.catalog.all().map((s) => {
      const series = this.data.get(s.key);
      const count = series?.length ?? 0;
      return {
        key: s.key,
        fields: { ...s.fields },
        retentionMs: s.retentionMs,
        labels: { ...s.labels },
        count,
        first: count ? series!.first : null,
        last: count ? series!.last : null,
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
    if (!series) this.data.set(key, (series = new SeriesColumns()));
    series.write(timestamp, fields, policies);
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
