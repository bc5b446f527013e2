import type { Container } from 'inversify';
import type { DataCollectionStorage } from '../storage/types.js';
import { loadConfig, type CollectorConfig } from './config/load.js';
import { createContainer, registryOf } from './container.js';
import { silentLogger, type Logger } from '../common/logger.js';

export interface OpenStorageOptions {
  /** Open for reading only (an updater or `collector fetch` beside a running daemon). */
  readOnly?: boolean;
  logger?: Logger;
  container?: Container;
}

/**
 * Opens the storage a config describes: `openStorage('config/default.yaml', { readOnly: true })`
 * in an updater process gives the same `fetch` the daemon writes through.
 */
export async function openStorage(
  config: CollectorConfig | string,
  options: OpenStorageOptions = {},
): Promise<DataCollectionStorage> {
  const container = options.container ?? createContainer({ logger: options.logger });
  const loaded = typeof config === 'string' ? await loadConfig(config, container) : config;
  const kind = registryOf(container).storageKind(loaded.storage.kind);
  return kind.open(kind.config.parse(loaded.storage), {
    logger: options.logger ?? silentLogger,
    readOnly: options.readOnly,
    configDir: loaded.dir,
  });
}
