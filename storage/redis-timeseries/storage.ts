import { silentLogger, type Logger } from '../../common/logger.js';
import { SeriesCatalog } from '../catalog.js';
import { checkCheckpointUpdate } from '../collector-state.js';
import { StorageClosedError, StorageError } from '../errors.js';
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
import { checkDeclaration, checkKey, checkRange, checkTimestamp, toFields } from '../validation.js';
import { RedisCollectorStateStore } from './collector-state.js';
import { checkTimeSeries, connect, describeError, destroyQuietly, isTransient, maskUrl, maskUrls, type CredentialMask, type RedisConnection } from './connect.js';
import { checkFence, claimFence } from './fence.js';
import { FencedView } from './fenced-view.js';
import { checkLabels, fenceKey } from './layout.js';
import { describeSeries, readSeries } from './reader.js';
import { SeriesSchemas } from './schema.js';
import { SampleWriter, type AsyncRejection } from './writer.js';

/** Options for {@link RedisTimeSeriesStorage.open}. */
export interface RedisTimeSeriesOptions {
  /**
   * `redis://[user:password@]host[:port][/db]` or `rediss://` (TLS); default redis://127.0.0.1:6379.
   * With `cluster: true`, one node of a Redis Cluster.
   */
  url?: string;
  /** Nodes of a Redis Cluster (seeds; the rest are discovered); instead of `url`, implies `cluster`. */
  urls?: string[];
  /** Talk to a Redis Cluster: every command goes to the master of its key's slot. */
  cluster?: boolean;
  /** Overrides a password in the URL. */
  password?: string;
  /** Open for reading only (e.g. `collector fetch` while the daemon writes); never writes. */
  readOnly?: boolean;
  /** Buffered samples are written at least this often (ms); default 50. */
  flushIntervalMs?: number;
  /** Buffered samples (waiting or in flight) above which writers wait; default 100 000. */
  maxBuffered?: number;
  /** Opening fails after this long without a connection (ms); default 5000. */
  connectTimeoutMs?: number;
  /** `flush()` (and so `fetch`, `close`) fails after this long without progress (ms); default 10 000. */
  flushTimeoutMs?: number;
  /** Samples per TS.MADD; default 1000. */
  batchSize?: number;
  /** Batches in flight at once (one series each); default 8. */
  maxInFlight?: number;
  /**
   * Also publish each written batch on the Pub/Sub channel named after its series key (see liveMessage).
   * Plain PUBLISH, also in a cluster: it needs no slot, and the cluster forwards it to subscribers on every node.
   */
  publish?: boolean;
  logger?: Logger;
}

/** `stats()` of a Redis TimeSeries storage: the common counters and a few of its own. */
export interface RedisTimeSeriesStats extends StorageStats {
  /** Samples TimeSeries dropped as older than the series' retention (the contract allows it). */
  droppedByRetention: number;
  /** Samples refused for a stale write fence (see `fenced`). */
  staleWritesRefused: number;
  /** False while Redis is unreachable. */
  connected: boolean;
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
const BACKEND = 'redis-timeseries';

/**
 * Stores samples in Redis TimeSeries: one key per field, `ts:{<series key>}:<field>`, with
 * the field's merge policy as its DUPLICATE_POLICY. Writes go through one batching writer;
 * reads are TS.RANGE. Other processes read the same data with a read-only open.
 */
export class RedisTimeSeriesStorage implements DataCollectionStorage {
  /** Collectors' checkpoints and health as redis-om hashes `collector-state:...` (plain Redis commands). */
  readonly collectorState: RedisCollectorStateStore;
  private readonly catalog = new SeriesCatalog();
  private closed = false;
  /** Samples refused at call time (validation); the writer counts the later ones. */
  private refusedAtCall = 0;
  /** Declarations Redis could not take when made (it was unreachable); `flush` stores them. */
  private readonly unsavedDeclarations = new Set<string>();

  private constructor(
    private readonly client: RedisConnection,
    private readonly mask: CredentialMask,
    private readonly schemas: SeriesSchemas,
    private readonly writer: SampleWriter | undefined,
    private readonly logger: Logger,
  ) {
    this.collectorState = new RedisCollectorStateStore(client.raw, {
      mask,
      readOnly: !writer,
      ensureOpen: (call) => this.ensureOpen(call),
      // A checkpoint must not claim samples still in the writer's buffer.
      beforeSave: async (record) => {
        await Promise.all(record.checkpoints.map((c) => writer?.flush(c.key)));
      },
    });
  }

  /** Connects, checks the server has TimeSeries commands, and loads the stored series. */
  static async open(options: RedisTimeSeriesOptions = {}): Promise<RedisTimeSeriesStorage> {
    const logger = options.logger ?? silentLogger;
    const url = options.urls ? options.url : (options.url ?? DEFAULT_REDIS_URL);
    const where = options.urls ? maskUrls(options.urls) : maskUrl(url!);
    let lastLogged = 0;
    const { connection: client, mask } = await connect({
      url,
      urls: options.urls,
      cluster: options.cluster,
      password: options.password,
      connectTimeoutMs: options.connectTimeoutMs ?? 5000,
      onError: (message) => {
        // Reconnect attempts repeat the same error; once a few seconds is plenty.
        if (Date.now() - lastLogged < 5000) return;
        lastLogged = Date.now();
        logger.warn({ url: where, err: message }, 'Redis connection error');
      },
    });
    try {
      await checkTimeSeries(client, mask);
      const schemas = new SeriesSchemas(client, mask);
      const writer = options.readOnly
        ? undefined
        : new SampleWriter({
            client,
            mask,
            schemas,
            schemaOf: (key) => storage.catalog.get(key)!,
            logger,
            flushIntervalMs: options.flushIntervalMs ?? 50,
            maxBuffered: options.maxBuffered ?? 100_000,
            batchSize: options.batchSize ?? 1000,
            maxInFlight: options.maxInFlight ?? 8,
            flushTimeoutMs: options.flushTimeoutMs ?? 10_000,
            publish: options.publish ?? false,
          });
      const storage: RedisTimeSeriesStorage = new RedisTimeSeriesStorage(client, mask, schemas, writer, logger);
      // A reopened writer keeps the declared policies (a read-only one reads them per call).
      if (writer) for (const schema of await schemas.readAll()) storage.catalog.load(schema);
      return storage;
    } catch (err) {
      destroyQuietly(client);
      if (err instanceof StorageError) throw err;
      throw new StorageError(`cannot open Redis TimeSeries storage at ${mask.maskedUrl}: ${describeError(err, mask)}`);
    }
  }

  /** The URL this storage talks to, with its password masked. */
  get url(): string {
    return this.mask.maskedUrl;
  }

  async declare(series: SeriesDeclaration): Promise<void> {
    this.ensureWritable('declare');
    checkDeclaration(series);
    checkLabels(series.key, series.labels);
    // Check Redis first, so a key with another duplicate policy is reported before anything changes.
    await this.redis(`declare ${series.key}`, series.key, () => this.schemas.checkPolicies(series.key, series.fields));
    const previous = this.catalog.get(series.key);
    const changed = this.catalog.declare(series);
    if (!changed) return;
    try {
      await this.schemas.ensure(changed);
    } catch (err) {
      // Unreachable: the declaration stands, and is stored before the series' next batch and by flush().
      if (isTransient(err)) this.unsavedDeclarations.add(series.key);
      // Refused: undo it, so writes keep the schema Redis has.
      else if (previous) this.catalog.load(previous);
      throw this.storageError(`declare ${series.key}`, series.key, err);
    }
  }

  store(key: string, value: SampleValue, timestamp: number): Promise<void> {
    return this.storeWith(undefined, key, value, timestamp);
  }

  storeMany(points: readonly Point[], options?: StoreManyOptions): Promise<StoreManyResult> {
    return this.storeManyWith(undefined, points, options);
  }

  /**
   * Raises the fence of each of `keys` for `fence.unit` to `fence.token` (never lowers it) and
   * returns a view whose writes carry the fence: the writer writes them with a script that
   * refuses them, atomically, once the series' fence is above the token (see DataCollectionStorage).
   */
  async fenced(fence: WriteFence, keys: readonly string[]): Promise<DataCollectionStorage> {
    this.ensureWritable('fenced');
    checkFence(fence);
    for (const key of keys) checkKey(key);
    const own = { unit: fence.unit, token: fence.token };
    await Promise.all(
      [...new Set(keys)].map(async (key) => {
        const held = await this.redis(`fence ${key} for ${fence.unit}`, key, () => claimFence(this.client, fenceKey(key), own));
        if (held > own.token) {
          this.logger.warn({ key, unit: own.unit, token: own.token, held }, `${key} is already fenced above this token for ${own.unit}: writes of this owner to it will be refused`);
        }
      }),
    );
    return new FencedView(this, own, {
      store: (key, value, timestamp) => this.storeWith(own, key, value, timestamp),
      storeMany: (points, options) => this.storeManyWith(own, points, options),
    });
  }

  private async storeWith(fence: WriteFence | undefined, key: string, value: SampleValue, timestamp: number): Promise<void> {
    const writer = this.ensureWritable('store');
    try {
      this.accept(writer, key, value, timestamp, fence);
    } catch (err) {
      this.refusedAtCall += 1;
      throw err;
    }
    writer.queued();
    await writer.waitForSpace();
  }

  private async storeManyWith(fence: WriteFence | undefined, points: readonly Point[], options?: StoreManyOptions): Promise<StoreManyResult> {
    const writer = this.ensureWritable('storeMany');
    const checkpoint = options?.checkpoint;
    if (checkpoint) checkCheckpointUpdate(checkpoint);
    const result: StoreManyResult = { accepted: 0, rejected: [] };
    for (let i = 0; i < points.length; i++) {
      const p = points[i];
      try {
        this.accept(writer, p?.key, p?.value, p?.timestamp, fence);
        result.accepted += 1;
      } catch (err) {
        this.refusedAtCall += 1;
        result.rejected.push({ index: i, key: String(p?.key), reason: err instanceof Error ? err.message : String(err) });
      }
    }
    if (checkpoint) for (const c of checkpoint.checkpoints) writer.enqueueCheckpoint(c.key, checkpoint.collector, c, fence);
    writer.queued();
    await writer.waitForSpace();
    return result;
  }

  async fetch(key: string, start: number, end: number, options?: FetchOptions): Promise<Sample[]> {
    this.ensureOpen('fetch');
    checkRange(key, start, end, options);
    if (this.writer) await this.writer.flush(key); // read-your-writes
    const schema = this.writer ? this.catalog.get(key) : await this.redis(`fetch ${key}`, key, () => this.schemas.read(key));
    if (!schema) return [];
    return this.redis(`fetch ${key}`, key, () => readSeries(this.client, schema, start, end, options));
  }

  async keys(): Promise<SeriesInfo[]> {
    this.ensureOpen('keys');
    if (this.writer) await this.flush();
    return this.redis('list series', undefined, async () => describeSeries(this.client, await this.schemas.readAll()));
  }

  /** Resolves once every accepted sample and declaration is in Redis; rejects (keeping the buffer) if Redis stays away. */
  async flush(): Promise<void> {
    this.ensureOpen('flush');
    if (!this.writer) return;
    await this.writer.flush();
    for (const key of this.unsavedDeclarations) {
      const schema = this.catalog.get(key)!;
      await this.redis(`store the declaration of ${key}`, key, () => this.schemas.ensure(schema));
      this.unsavedDeclarations.delete(key);
    }
  }

  /** Flushes and disconnects. If the flush fails it throws and stays open (retry close). */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.writer) await this.flush();
    this.closed = true;
    this.writer?.stop();
    await this.client.close().catch(() => destroyQuietly(this.client));
  }

  stats(): RedisTimeSeriesStats {
    const w = this.writer?.stats();
    return {
      backend: BACKEND,
      buffered: w?.buffered ?? 0,
      written: w?.written ?? 0,
      rejected: this.refusedAtCall + (w?.rejected ?? 0),
      errors: w?.errors ?? 0,
      staleWritesRefused: w?.staleWritesRefused ?? 0,
      droppedByRetention: w?.droppedByRetention ?? 0,
      connected: w ? w.connected : this.client.isReady,
      lastError: w?.lastError ?? null,
      failingSince: w?.failingSince ?? null,
    };
  }

  /** The latest samples Redis refused after they were accepted (for status pages and tests). */
  rejections(): AsyncRejection[] {
    return this.writer?.rejections() ?? [];
  }

  /** Validates one point (synchronously, so a bad one is reported by index) and buffers it. */
  private accept(writer: SampleWriter, key: unknown, value: unknown, timestamp: unknown, fence: WriteFence | undefined): void {
    checkKey(key);
    checkTimestamp(key, timestamp);
    const fields = toFields(key, value);
    this.catalog.resolve(key, fields);
    // Copied once: toFields returns a caller's record as is, a number as a new `{ value }`.
    writer.enqueue(key, timestamp, typeof value === 'number' ? fields : { ...fields }, fence);
  }

  /** Runs Redis commands for `what`; a failure becomes a StorageError naming the key, masked. */
  private async redis<T>(what: string, key: string | undefined, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw this.storageError(what, key, err);
    }
  }

  /** `err` as a StorageError that says what failed, names the key, and says when Redis is unreachable. */
  private storageError(what: string, key: string | undefined, err: unknown): StorageError {
    if (err instanceof StorageError) return err;
    const unreachable = isTransient(err) ? ` (Redis at ${this.mask.maskedUrl} is unreachable)` : '';
    return new StorageError(`cannot ${what}${unreachable}: ${describeError(err, this.mask)}`, key);
  }

  private ensureOpen(call: string): void {
    if (this.closed) throw new StorageClosedError(BACKEND, call);
  }

  private ensureWritable(call: string): SampleWriter {
    this.ensureOpen(call);
    if (!this.writer) throw new StorageError(`Redis TimeSeries storage at ${this.mask.maskedUrl} is open read-only: ${call}() is not allowed`);
    return this.writer;
  }
}
