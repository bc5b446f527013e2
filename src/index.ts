// The public API of quoting-collector: run the collector, read what it stored, extend it.
export type * from '../storage/types.js';
export { StorageError, StorageClosedError, StorageRejectedError } from '../storage/errors.js';
export { MemoryStorage } from '../storage/memory.js';
export { SqliteStorage } from '../storage/sqlite.js';
export { aggregateSamples } from '../storage/aggregate.js';
export {
  CollectorProgress,
  type CollectorContext,
  type CollectorKind,
  type DataRequirement,
  type DataSourceCollector,
  type ExchangeEndpoints,
} from '../collectors/types.js';
export type * from '../feeds/types.js';
export { BaseFeed, readField } from '../feeds/base-feed.js';
export { buildFeed, buildFeeds, loadDataSourceCollectors } from '../feeds/load.js';
export { loadConfig, type CollectorConfig, type CollectorPlugin } from './config/load.js';
export { ConfigError } from './config/errors.js';
export { configJsonSchema } from './config/json-schema.js';
export { createContainer, registerCollectorKind, registerFeedKind, registerStorageKind, registryOf, TOKENS } from './container.js';
export { Registry, UnknownKindError } from './registry.js';
export { DataCollector, type CollectorStatus, type ConfigStatus, type DataCollectorOptions, type ServiceStatus } from './data-collector.js';
export type { ProcessFigures } from './process-figures.js';
export { backoffDelay, type RestartPolicy } from './backoff.js';
export { openStorage, type OpenStorageOptions } from './open-storage.js';
export { startDaemon, type Daemon } from './daemon.js';
export { ControlError, type CollectorAction, type ReloadApplied, type ReloadOutcome, type ReloadRefused } from './runtime-control.js';
export { startStatusServer, type StatusServerOptions } from './http/status-server.js';
export { DEFAULT_HEALTH_POLICY, evaluateHealth, isReady, type HealthPolicy, type HealthReport } from './health.js';
export { maskSecrets, maskUrl } from '../common/sanitize.js';
export { createLogger, silentLogger, type Logger } from '../common/logger.js';
export { parseDuration, formatDuration } from '../common/duration.js';
export { parseTimeArg } from './time-arg.js';
