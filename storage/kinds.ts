import { resolve } from 'node:path';
import { z } from 'zod';
import { StorageError } from './errors.js';
import { MemoryStorage } from './memory.js';
import { DEFAULT_REDIS_URL, RedisTimeSeriesStorage } from './redis-timeseries/index.js';
import { SqliteStorage } from './sqlite.js';
import type { StorageKind } from './types.js';

const sqliteConfig = z.strictObject({
  kind: z.literal('sqlite'),
  /** Relative paths are relative to the config file's directory. */
  path: z.string().min(1).default('./data/collector.db'),
  flushIntervalMs: z.number().int().positive().optional(),
});
export type SqliteKindConfig = z.infer<typeof sqliteConfig>;

/** `storage: { kind: sqlite, path }`: one SQLite file, readable by other processes. */
export const sqliteStorageKind: StorageKind<SqliteKindConfig> = {
  name: 'sqlite',
  config: sqliteConfig,
  async open(config, { logger, readOnly, configDir }) {
    return new SqliteStorage({
      path: resolve(configDir, config.path),
      readOnly,
      flushIntervalMs: config.flushIntervalMs,
      logger,
    });
  },
};

const memoryConfig = z.strictObject({ kind: z.literal('memory') });
export type MemoryKindConfig = z.infer<typeof memoryConfig>;

/** `storage: { kind: memory }`: lives and dies with the process; for tests and demos. */
export const memoryStorageKind: StorageKind<MemoryKindConfig> = {
  name: 'memory',
  config: memoryConfig,
  async open(_config, { readOnly }) {
    // A fresh in-memory store opened for reading would always be empty: say so instead.
    if (readOnly) {
      throw new StorageError('memory storage lives inside the daemon process; another process cannot read it (use sqlite)');
    }
    return new MemoryStorage();
  },
};

const redisTimeSeriesConfig = z
  .strictObject({
    kind: z.literal('redis-timeseries'),
    /**
     * `redis://[user:password@]host[:port][/db]`, or `rediss://` for TLS; with `cluster: true`
     * one node of a Redis Cluster. Default redis://127.0.0.1:6379 (when `urls` is not given).
     */
    url: z.string().min(1).optional(),
    /** Nodes of a Redis Cluster, e.g. `[redis://h1:7000, redis://h2:7001]`; the client discovers the rest. */
    urls: z.array(z.string().min(1)).min(1).optional(),
    /** `url` is a node of a Redis Cluster (implied by `urls`). */
    cluster: z.boolean().optional(),
    /** Overrides the password in the URL(s), for every cluster node; use `${REDIS_PASSWORD}` to keep it out of the file. */
    password: z.string().optional(),
    flushIntervalMs: z.number().int().positive().optional(),
    maxBuffered: z.number().int().positive().optional(),
    connectTimeoutMs: z.number().int().positive().optional(),
    /** Publish each written batch on the Pub/Sub channel named after its series key (in a cluster, subscribe on any node). */
    publish: z.boolean().default(false),
  })
  .superRefine((config, ctx) => {
    // Messages name the options, never their values: URLs may carry passwords.
    if (config.url !== undefined && config.urls !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['urls'],
        message: 'give either url (one server, or one cluster node with cluster: true) or urls (nodes of a Redis Cluster), not both',
      });
    }
    if (config.urls !== undefined && config.cluster === false) {
      ctx.addIssue({ code: 'custom', path: ['cluster'], message: 'urls lists nodes of a Redis Cluster, but cluster is false: give url for one server' });
    }
  })
  .transform((config) => (config.url === undefined && config.urls === undefined ? { ...config, url: DEFAULT_REDIS_URL } : config));
export type RedisTimeSeriesKindConfig = z.infer<typeof redisTimeSeriesConfig>;

/**
 * `storage: { kind: redis-timeseries, url }` (one server) or `{ urls: [...] }` / `{ url, cluster: true }`
 * (a Redis Cluster): Redis TimeSeries (Redis 8+, Redis Stack, or the module).
 */
export const redisTimeSeriesStorageKind: StorageKind<RedisTimeSeriesKindConfig> = {
  name: 'redis-timeseries',
  shared: true,
  config: redisTimeSeriesConfig,
  async open(config, { logger, readOnly }) {
    return RedisTimeSeriesStorage.open({
      url: config.url,
      urls: config.urls,
      cluster: config.cluster,
      password: config.password,
      flushIntervalMs: config.flushIntervalMs,
      maxBuffered: config.maxBuffered,
      connectTimeoutMs: config.connectTimeoutMs,
      publish: config.publish,
      readOnly,
      logger,
    });
  },
};
