/**
 * Collectors' state in Redis through redis-om: one HASH entity per collector,
 * `collector-state:collector:<id>`, fetched and saved by id only (no RediSearch index, no
 * RedisJSON), so it works on any Redis, with or without modules. A plain set,
 * `collector-state:collectors`, lists the ids. Checkpoints committed with samples live beside
 * their series (`tsckpt:{<series>}`, field = collector id, set by the writer's MULTI) and the set
 * `collector-state:checkpoint-series:<id>` names a collector's series; they go over the
 * checkpoints a record holds itself (what `save` and earlier builds wrote).
 */
import { Repository, Schema, type RedisConnection } from 'redis-om';
import { checkRecord, decodeCheckpoints, encodeCheckpoints, overlayCheckpoints } from '../collector-state.js';
import { StorageClosedError, StorageError } from '../errors.js';
import type { CollectorCheckpoint, CollectorHealth, CollectorStateRecord, CollectorStateStore } from '../types.js';
import { connect, describeError, destroyQuietly, isTransient, type CredentialMask, type RedisClient } from './connect.js';
import { checkpointKey, checkpointSeriesKey, COLLECTOR_STATE_IDS, COLLECTOR_STATE_PREFIX } from './layout.js';

export { COLLECTOR_STATE_IDS };

/** A checkpoint as its series' checkpoint hash holds it (the writer's MULTI sets it with the samples). */
export function encodeSeriesCheckpoint(checkpoint: CollectorCheckpoint): string {
  return encodeCheckpoints([checkpoint]);
}

/** redis-om's key prefix (its schema name): a record's key is `<prefix>:<collector id>`. */
const RECORD_PREFIX = `${COLLECTOR_STATE_PREFIX}collector`;

/** The hash holding one collector's record. */
export function collectorStateKey(collector: string): string {
  return `${RECORD_PREFIX}:${collector}`;
}

// Checkpoints are a list of objects, which a hash field cannot hold: they are stored as JSON text.
const recordSchema = new Schema(
  RECORD_PREFIX,
  {
    collector: { type: 'string' },
    state: { type: 'string' },
    restarts: { type: 'number' },
    lastError: { type: 'string' },
    updatedAt: { type: 'number' },
    checkpoints: { type: 'string' },
  },
  { dataStructure: 'HASH' },
);

/** A record as redis-om reads it back: absent fields are missing, numbers are numbers. */
interface StoredEntity {
  state?: unknown;
  restarts?: unknown;
  lastError?: unknown;
  updatedAt?: unknown;
  checkpoints?: unknown;
}

/** How a store is tied to its connection. */
export interface RedisCollectorStateOptions {
  mask: CredentialMask;
  readOnly?: boolean;
  /** Throws once the owner (the storage) is closed. */
  ensureOpen?: (call: string) => void;
  /** Runs before each save: makes the samples of the record's keys durable first. */
  beforeSave?: (record: CollectorStateRecord) => Promise<void>;
}

/** Where {@link RedisCollectorStateStore.open} connects. */
export interface RedisCollectorStateConnection {
  /** `redis://[user:password@]host[:port][/db]` or `rediss://`. */
  url: string;
  /** Overrides a password in the URL. */
  password?: string;
  /** Gives up after this long without a connection (ms); default 5000. */
  connectTimeoutMs?: number;
}

/** Collector state records as redis-om HASH entities (see the module comment for the keys). */
export class RedisCollectorStateStore implements CollectorStateStore {
  private readonly repository: Repository;
  private ownedClientClosed: boolean | undefined;

  constructor(
    private readonly client: RedisClient,
    private readonly options: RedisCollectorStateOptions,
  ) {
    // redis-om 0.4 is typed against node-redis v4. For HASH entities fetched and saved by id it
    // calls only hGetAll, unlink and multi().unlink().hSet().exec(), which node-redis v5 has with
    // the same shapes (covered by test/collector-state.test.ts), so it shares the storage's v5
    // connection (credentials, TLS, reconnects, no offline queue) instead of opening a v4 one.
    this.repository = new Repository(recordSchema, client as unknown as RedisConnection);
  }

  /**
   * Connects for collector state alone: no TimeSeries needed, read and write. For tools such
   * as `collector status --redis`; `close()` disconnects. A malformed URL throws a BadRedisUrlError.
   */
  static async open(connection: RedisCollectorStateConnection): Promise<RedisCollectorStateStore> {
    const { client, mask } = await connect({
      url: connection.url,
      password: connection.password,
      connectTimeoutMs: connection.connectTimeoutMs ?? 5000,
    });
    const store = new RedisCollectorStateStore(client, { mask });
    store.ownedClientClosed = false;
    return store;
  }

  /** The URL this store talks to, with its password masked. */
  get url(): string {
    return this.options.mask.maskedUrl;
  }

  async load(collector: string): Promise<CollectorStateRecord | undefined> {
    this.ensureOpen('collectorState.load');
    return this.redis(`load the collector state of ${collector}`, async () => {
      const [entity, committed] = await Promise.all([this.repository.fetch(collector), this.seriesCheckpoints(collector)]);
      return this.decode(collector, entity, committed);
    });
  }

  /**
   * The checkpoints committed with samples (one hash per series, see layout.ts checkpointKey),
   * by series key. Read after the record; each is as of one MULTI of its series.
   */
  private async seriesCheckpoints(collector: string): Promise<Map<string, string>> {
    const keys = (await this.client.sMembers(checkpointSeriesKey(collector))).map(String);
    const texts = await Promise.all(keys.map((key) => this.client.hGet(checkpointKey(key), collector)));
    const out = new Map<string, string>();
    keys.forEach((key, i) => {
      const text = texts[i];
      if (typeof text === 'string') out.set(key, text);
    });
    return out;
  }

  async save(record: CollectorStateRecord): Promise<void> {
    this.ensureOpen('collectorState.save');
    if (this.options.readOnly) {
      throw new StorageError(`Redis storage at ${this.url} is open read-only: collectorState.save() is not allowed`);
    }
    checkRecord(record);
    await this.options.beforeSave?.(record);
    await this.redis(`save the collector state of ${record.collector}`, async () => {
      await this.repository.save(record.collector, {
        collector: record.collector,
        state: record.state,
        restarts: record.restarts,
        lastError: record.lastError, // null: the field is left out of the hash
        updatedAt: record.updatedAt,
        checkpoints: encodeCheckpoints(record.checkpoints),
      });
      // After the hash: a listed id always has a record (list() skips one whose hash is gone).
      await this.client.sAdd(COLLECTOR_STATE_IDS, record.collector);
      // The whole record is replaced: checkpoints committed with samples follow it too.
      const inRecord = new Map(record.checkpoints.map((c) => [c.key, c]));
      for (const key of (await this.client.sMembers(checkpointSeriesKey(record.collector))).map(String)) {
        const c = inRecord.get(key);
        if (c) await this.client.hSet(checkpointKey(key), record.collector, encodeSeriesCheckpoint(c));
        else await this.client.hDel(checkpointKey(key), record.collector);
      }
    });
  }

  async saveHealth(health: CollectorHealth): Promise<void> {
    this.ensureOpen('collectorState.saveHealth');
    if (this.options.readOnly) {
      throw new StorageError(`Redis storage at ${this.url} is open read-only: collectorState.saveHealth() is not allowed`);
    }
    checkRecord({ ...health, checkpoints: [] });
    const key = collectorStateKey(health.collector);
    await this.redis(`save the collector state of ${health.collector}`, async () => {
      // The fields as redis-om writes them (text), leaving the hash's checkpoints alone.
      await this.client.hSet(key, {
        collector: health.collector,
        state: health.state,
        restarts: String(health.restarts),
        updatedAt: String(health.updatedAt),
        ...(health.lastError !== null ? { lastError: health.lastError } : {}),
      });
      if (health.lastError === null) await this.client.hDel(key, 'lastError');
      await this.client.sAdd(COLLECTOR_STATE_IDS, health.collector);
    });
  }

  async list(): Promise<CollectorStateRecord[]> {
    this.ensureOpen('collectorState.list');
    return this.redis('list the collector states', async () => {
      const ids = (await this.client.sMembers(COLLECTOR_STATE_IDS)).map(String).sort();
      if (ids.length === 0) return [];
      const entities = (await this.repository.fetch(ids)) as StoredEntity[];
      const committed = await Promise.all(ids.map((id) => this.seriesCheckpoints(id)));
      return ids.flatMap((id, i) => this.decode(id, entities[i]!, committed[i]!) ?? []);
    });
  }

  /** Disconnects a store from {@link open}; a storage's store closes with its storage instead. */
  async close(): Promise<void> {
    if (this.ownedClientClosed !== false) return;
    this.ownedClientClosed = true;
    await this.client.close().catch(() => destroyQuietly(this.client));
  }

  /**
   * An entity and the checkpoints committed with samples as a record (those over the record's
   * own); undefined when there is neither.
   */
  private decode(collector: string, entity: StoredEntity, committed: ReadonlyMap<string, string>): CollectorStateRecord | undefined {
    if (typeof entity.state !== 'string' && committed.size === 0) return undefined;
    const number = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
    const own = decodeCheckpoints(typeof entity.checkpoints === 'string' ? entity.checkpoints : undefined, `${collectorStateKey(collector)} at ${this.url}`);
    const fromSeries = [...committed].flatMap(([key, text]) => decodeCheckpoints(`${text}`, `${checkpointKey(key)} at ${this.url}`).slice(0, 1));
    return {
      collector,
      state: typeof entity.state === 'string' ? entity.state : 'unknown',
      restarts: number(entity.restarts),
      lastError: typeof entity.lastError === 'string' ? entity.lastError : null,
      updatedAt: number(entity.updatedAt),
      checkpoints: overlayCheckpoints(own, fromSeries),
    };
  }

  /** Runs Redis commands for `what`; a failure becomes a masked StorageError that says when Redis is unreachable. */
  private async redis<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof StorageError) throw err;
      const unreachable = isTransient(err) ? ` (Redis at ${this.url} is unreachable)` : '';
      throw new StorageError(`cannot ${what}${unreachable}: ${describeError(err, this.options.mask)}`);
    }
  }

  private ensureOpen(call: string): void {
    if (this.ownedClientClosed) throw new StorageClosedError('redis collector state', call);
    this.options.ensureOpen?.(call);
  }
}
