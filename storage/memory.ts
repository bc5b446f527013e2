import { LastUsedMap } from '../common/last-used-map.js';
import { aggregateSamples } from './aggregate.js';
import { SeriesCatalog } from './catalog.js';
import { checkCheckpointUpdate } from './collector-state.js';
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
  StoreManyOptions,
  StoreManyResult,
} from './types.js';
import { checkKey, checkRange, checkTimestamp, toFields } from './validation.js';

/** One series' samples and where its retention stands. */
interface HeldSeries {
  columns: SeriesColumns;
  /** Newest timestamp written; -Infinity before the first. */
  newest: number;
  /** `newest` when samples past retention were last dropped. */
  prunedAt: number;
}

/** Keeps everything in this process's memory: for tests, demos and short-lived runs. */
export class MemoryStorage implements DataCollectionStorage {
  private readonly catalog = new SeriesCatalog();
  private readonly data = new LastUsedMap<HeldSeries>(() => ({ columns: new SeriesColumns(), newest: -Infinity, prunedAt: 0 }));
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

  async storeMany(points: readonly Point[], options?: StoreManyOptions): Promise<StoreManyResult> {
    this.ensureOpen('storeMany');
    const checkpoint = options?.checkpoint;
    if (checkpoint) checkCheckpointUpdate(checkpoint);
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
    // Synchronously with the samples: no reader sees one without the other.
    if (checkpoint) this.collectorState.commit(checkpoint);
    return result;
  }

  async fetch(key: string, start: number, end: number, options?: FetchOptions): Promise<Sample[]> {
    this.ensureOpen('fetch');
    checkRange(key, start, end, options);
    const series = this.data.peek(key);
    if (!series) return [];
    const out = series.columns.range(Math.max(start, this.retentionCutoff(key, series)), end);
    if (options?.bucketMs) return aggregateSamples(out, options.bucketMs, options.aggregation!);
    return out;
  }

  async keys(): Promise<SeriesInfo[]> {
    this.ensureOpen('keys');
    return this.catalog.all().map((s) => {
      const series = this.data.peek(s.key)?.columns;
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
    return { backend: 'memory', buffered: 0, written: this.written, rejected: this.rejected, errors: 0, lastError: null, failingSince: null };
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
    const series = this.data.of(key);
    series.columns.write(timestamp, fields, policies);
    this.written += 1;
    if (timestamp > series.newest) {
      series.newest = timestamp;
      // Amortized: sweep once the cutoff has moved by a whole retention period.
      const retention = this.retentionOf(key);
      if (retention && timestamp - series.prunedAt >= retention) this.prune(key, series);
    }
  }

  private retentionOf(key: string): number {
    return this.catalog.get(key)?.retentionMs ?? 0;
  }

  /** Samples before this are past retention (newest minus retention; the Redis TimeSeries rule). */
  private retentionCutoff(key: string, series: HeldSeries): number {
    const retention = this.retentionOf(key);
    return retention && series.newest > -Infinity ? series.newest - retention : 0;
  }

  /** Drops samples past retention. */
  private prune(key: string, series: HeldSeries | undefined = this.data.peek(key)): void {
    if (!series) return;
    const cutoff = this.retentionCutoff(key, series);
    if (!cutoff) return;
    series.columns.dropBefore(cutoff);
    series.prunedAt = series.newest;
  }

  private ensureOpen(call: string): void {
    if (this.closed) throw new StorageClosedError('memory', call);
  }
}
