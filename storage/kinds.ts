import { resolve } from 'node:path';
import { z } from 'zod';
import type { StorageKind } from '../feeds/types.js';
import { StorageError } from './errors.js';
import { MemoryStorage } from './memory.js';
import { SqliteStorage } from './sqlite.js';

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
