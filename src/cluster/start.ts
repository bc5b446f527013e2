import { hostname } from 'node:os';
import type { Logger } from '../../common/logger.js';
import { sanitizeError } from '../../common/sanitize.js';
import { connectRedis } from '../../storage/redis-timeseries/index.js';
import type { DataCollectionStorage } from '../../storage/types.js';
import type { CollectorConfig } from '../config/load.js';
import type { DataCollector } from '../data-collector.js';
import { LeaseCoordinator } from './coordinator.js';
import { LeaseStore } from './lease-store.js';
import { StaticShard } from './static-shard.js';
import type { ClusterStatus } from './status.js';
import { workUnits } from './units.js';

/** This daemon's part in a cluster, whichever the mode. */
export interface Cluster {
  status(): ClusterStatus;
  /** Stops its units and gives them up (leases released at once). */
  stop(): Promise<void>;
}

/** Starts running this daemon's share of the collectors: by leases in Redis, or by a static shard. */
export async function startCluster(
  config: NonNullable<CollectorConfig['cluster']>,
  context: { collector: DataCollector; storage: DataCollectionStorage; logger: Logger },
): Promise<Cluster> {
  const { collector, storage } = context;
  const node = config.node ?? `${hostname()}-${process.pid}`;
  const logger = context.logger.child({ node });
  const units = workUnits(collector.collectors);
  if (config.shard !== undefined) {
    const shard = new StaticShard(config.shard, node, units, collector);
    shard.start();
    logger.info({ shard: config.shard, units: shard.status().owned, of: units.length }, 'cluster: running a static shard');
    return shard;
  }
  if (!storage.fenced) logger.warn('cluster: this storage cannot fence writes; a paused daemon could write after losing its lease');
  const { connection } = await connectRedis({
    url: config.url!,
    cluster: config.redisCluster,
    connectTimeoutMs: 5_000,
    onError: (message) => logger.debug({ err: message }, 'cluster: lease store connection error'),
  }).catch((err: unknown) => {
    throw new Error(`cluster.url: ${sanitizeError(err)}`);
  });
  const coordinator = new LeaseCoordinator({ node, leaseTtlMs: config.leaseTtl, leases: new LeaseStore(connection), units, collector, storage, logger });
  await coordinator.start();
  logger.info({ units: units.length, leaseTtlMs: config.leaseTtl }, 'cluster: joined');
  return {
    status: () => coordinator.status(),
    async stop() {
      await coordinator.stop();
      await connection.close().catch(() => connection.destroy());
    },
  };
}
