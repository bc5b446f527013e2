// The Redis TimeSeries backend as the rest of the program uses it (its other files are its own):
// the storage, and the collector state alone, for tools reading it from any Redis.
export { DEFAULT_REDIS_URL, RedisTimeSeriesStorage, type RedisTimeSeriesOptions, type RedisTimeSeriesStats } from './storage.js';
export { RedisCollectorStateStore, type RedisCollectorStateConnection } from './collector-state.js';
