/**
 * Collectors' state in Redis through redis-om: one HASH entity per collector,
 * `collector-state:collector:<id>`, fetched and saved by id only (no RediSearch index, no
 * RedisJSON), so it works on any Redis, with or without modules. A plain set,
 * `collector-state:collectors`, lists the ids.
 */
import { Repository, Schema, type RedisConnection } from 'redis-om';
import { checkRecord, decodeCheckpoints, encodeCheckpoints } from '../collector-state.js';
import { StorageClosedError, StorageError } from '../errors.js';
import type { CollectorStateRecord, CollectorStateStore } from '../types.js';
import { connect, describeError, destroyQuietly, isTransient, type CredentialMask, type RedisClient } from './connect.js';
import { COLLECTOR_STATE_PREFIX } from './layout.js';

/** The set of collector ids that have a record, so listing needs neither SCAN nor a search index. */
export const COLLECTOR_STATE_IDS = `${COLLECTOR_STATE_PREFIX}collectors`;

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
    const entity = await this.redis(`load the collector state of ${collector}`, () => this.repository.fetch(collector));
    return this.decode(collector, entity);
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
    });
  }

  async list(): Promise<CollectorStateRecord[]> {
    this.ensureOpen('collectorState.list');
    return this.redis('list the collector states', async () => {
      const ids = (await this.client.sMembers(COLLECTOR_STATE_IDS)).map(String).sort();
      if (ids.length === 0) return [];
      const entities = (await this.repository.fetch(ids)) as StoredEntity[];
      return ids.flatMap((id, i) => this.decode(id, entities[i]!) ?? []);
    });
  }

  /** Disconnects a store from {@link open}; a storage's store closes with its storage instead. */
  async close(): Promise<void> {
    if (this.ownedClientClosed !== false) return;
    this.ownedClientClosed = true;
    await this.client.close().catch(() => destroyQuietly(this.client));
  }

  /** An entity as a record; undefined when the hash does not exist. */
  private decode(collector: string, entity: StoredEntity): CollectorStateRecord | undefined {
    if (typeof entity.state !== 'string') return undefined;
    const number = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
    return {
      collector,
      state: entity.state,
      restarts: number(entity.restarts),
      lastError: typeof entity.lastError === 'string' ? entity.lastError : null,
      updatedAt: number(entity.updatedAt),
      checkpoints: decodeCheckpoints(
        typeof entity.checkpoints === 'string' ? entity.checkpoints : undefined,
        `${collectorStateKey(collector)} at ${this.url}`,
      ),
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
