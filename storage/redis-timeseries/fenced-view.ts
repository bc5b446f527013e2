/**
 * The view `RedisTimeSeriesStorage.fenced()` returns: writes go through the storage with the
 * view's fence, everything else is the storage's own. Closing it ends the view, not the storage.
 */
import { StorageClosedError } from '../errors.js';
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
  WriteFence,
} from '../types.js';

/** The storage's writes, bound to the view's fence. */
export interface FencedWrites {
  store(key: string, value: SampleValue, timestamp: number): Promise<void>;
  storeMany(points: readonly Point[], options?: StoreManyOptions): Promise<StoreManyResult>;
}

/** A storage seen through one owner's write fence. */
export class FencedView implements DataCollectionStorage {
  private closed = false;

  constructor(
    private readonly storage: DataCollectionStorage,
    readonly fence: WriteFence,
    private readonly writes: FencedWrites,
  ) {}

  get collectorState(): DataCollectionStorage['collectorState'] {
    return this.storage.collectorState;
  }

  async declare(series: SeriesDeclaration): Promise<void> {
    this.ensureOpen('declare');
    return this.storage.declare(series);
  }

  async store(key: string, value: SampleValue, timestamp: number): Promise<void> {
    this.ensureOpen('store');
    return this.writes.store(key, value, timestamp);
  }

  async storeMany(points: readonly Point[], options?: StoreManyOptions): Promise<StoreManyResult> {
    this.ensureOpen('storeMany');
    return this.writes.storeMany(points, options);
  }

  async fetch(key: string, start: number, end: number, options?: FetchOptions): Promise<Sample[]> {
    this.ensureOpen('fetch');
    return this.storage.fetch(key, start, end, options);
  }

  async keys(): Promise<SeriesInfo[]> {
    this.ensureOpen('keys');
    return this.storage.keys();
  }

  async flush(): Promise<void> {
    this.ensureOpen('flush');
    return this.storage.flush();
  }

  /** Flushes (what the view wrote is settled: written, or refused as stale), then ends the view; the storage stays open. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.storage.flush();
    } catch (err) {
      // A storage closed first flushed everything as it closed.
      if (!(err instanceof StorageClosedError)) throw err;
    }
    this.closed = true;
  }

  stats(): StorageStats {
    return this.storage.stats();
  }

  private ensureOpen(call: string): void {
    if (this.closed) throw new StorageClosedError(`fenced view (${this.fence.unit}, token ${this.fence.token}) of the`, call);
  }
}
