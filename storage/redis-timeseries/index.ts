// The Redis TimeSeries backend as the rest of the program uses it (its other files are its own):
// the storage, and the collector state alone, for tools reading it from any Redis.
export { DEFAULT_REDIS_URL, RedisTimeSeriesStorage, type RedisTimeSeriesOptions, type RedisTimeSeriesStats } from './storage.js';
export { RedisCollectorStateStore, type RedisCollectorStateConnection } from './collector-state.js';
// One Redis server or Cluster behind the same calls (masked errors, reconnects): also what the
// cluster coordinator's leases use.
export { connect as connectRedis, type RedisConnection } from './connect.js';
