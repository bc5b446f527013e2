import { RedisCollectorStateStore } from '../../storage/redis-timeseries/index.js';
import type { CollectorStateRecord, DataCollectionStorage } from '../../storage/types.js';
import { loadConfig } from '../config/load.js';
import { createContainer } from '../container.js';
import { openStorage } from '../open-storage.js';
import { UsageError } from './errors.js';
import { formatCollectorStates } from './format.js';

/** Options of `collector status` that read saved state instead of a daemon's `/status`. */
export interface SavedStateOptions {
  /** Read from this Redis (no TimeSeries needed): `redis://[user:password@]host[:port][/db]`; `$REDIS_PASSWORD` overrides the URL's password. */
  redis?: string;
  /** Read from the storage the config file names (read-only). */
  fromStorage?: boolean;
  config: string;
  json?: boolean;
}

const CONNECT_TIMEOUT_MS = 3000;

/**
 * `collector status --redis URL` or `--from-storage`: the collector state records a daemon
 * saved (running or not), from any machine that reaches the storage. A malformed URL and an
 * unreachable Redis exit 2, as for every command reading storage.
 */
export async function savedStateCommand(opts: SavedStateOptions): Promise<string> {
  const records = opts.redis !== undefined ? await readFromRedis(opts.redis) : await readFromConfiguredStorage(opts.config);
  return opts.json ? JSON.stringify(records, null, 2) : formatCollectorStates(records);
}

async function readFromRedis(url: string): Promise<CollectorStateRecord[]> {
  const store = await RedisCollectorStateStore.open({ url, password: process.env.REDIS_PASSWORD || undefined, connectTimeoutMs: CONNECT_TIMEOUT_MS });
  try {
    return await store.list();
  } finally {
    await store.close();
  }
}

async function readFromConfiguredStorage(configFile: string): Promise<CollectorStateRecord[]> {
  const container = createContainer();
  const config = await loadConfig(configFile, container);
  // Errors as `collector fetch` reports them for the same storage.
  const storage: DataCollectionStorage = await openStorage(config, { container, readOnly: true });
  try {
    if (!storage.collectorState) throw new UsageError(`${config.file}: storage kind ${config.storage.kind} keeps no collector state`);
    return await storage.collectorState.list();
  } finally {
    await storage.close();
  }
}
