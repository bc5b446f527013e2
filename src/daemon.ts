import type { Server } from 'node:http';
import type { Container } from 'inversify';
import { buildFeeds, loadDataSourceCollectors } from '../feeds/load.js';
import type { Feed, KindLookup } from '../feeds/types.js';
import type { DataSourceCollector } from '../collectors/types.js';
import type { DataCollectionStorage } from '../storage/types.js';
import type { CollectorConfig } from './config/load.js';
import { registryOf } from './container.js';
import { DataCollector } from './data-collector.js';
import type { Logger } from '../common/logger.js';
import { openStorage } from './open-storage.js';
import { startStatusServer } from './http/status-server.js';
import { startCluster, type Cluster } from './cluster/start.js';
import { chainSettings } from './dex-pools.js';

/** A running daemon: its feeds, orchestrator, storage and status server. */
export interface Daemon {
  feeds: Feed[];
  collector: DataCollector;
  storage: DataCollectionStorage;
  /** Base URL of the status server, when one is configured. */
  statusUrl?: string;
  /** Aborts the collectors, flushes and closes storage, stops the HTTP server; true when done in time. */
  stop(timeoutMs?: number): Promise<boolean>;
}

/** The collectors a config runs (in a cluster: split into units of at most `cluster.unitSymbols` symbols). */
export function collectorsOf(config: CollectorConfig, feeds: readonly Feed[], registry: KindLookup, logger: Logger): DataSourceCollector[] {
  return loadDataSourceCollectors(feeds, registry, {
    exchanges: config.exchanges,
    chains: chainSettings(config),
    logger,
    maxSymbolsPerCollector: config.cluster?.unitSymbols,
  });
}

/** Opens storage, derives collectors from the feeds, starts them and the status server. */
export async function startDaemon(config: CollectorConfig, container: Container, logger: Logger): Promise<Daemon> {
  const registry = registryOf(container);
  const feeds = buildFeeds(config.feeds, registry);
  const collectors = collectorsOf(config, feeds, registry, logger);
  const storage = await openStorage(config, { container, logger });
  const collector = new DataCollector(collectors, storage, {
    logger,
    managed: config.cluster !== undefined,
    restart: {
      initialDelayMs: config.collector.restart.initialDelay,
      maxDelayMs: config.collector.restart.maxDelay,
      resetAfterMs: config.collector.restart.resetAfter,
      maxRestarts: config.collector.restart.maxRestarts,
    },
  });
  let server: Server | undefined;
  let statusUrl: string | undefined;
  let cluster: Cluster | undefined;
  const source = { status: () => ({ ...collector.status(), ...(cluster ? { cluster: cluster.status() } : {}) }) };
  if (config.http) {
    try {
      ({ server, url: statusUrl } = await startStatusServer(source, config.http.listen.host, config.http.listen.port, {
        token: config.http.token,
        health: {
          graceMs: config.health.grace,
          noDataForMs: config.health.noDataFor,
          storageFailingForMs: config.health.storageFailingFor,
          maxBacklog: config.health.maxBacklog,
        },
      }));
    } catch (err) {
      await storage.close();
      throw new Error(`cannot serve status on ${config.http.listen.host}:${config.http.listen.port}: ${(err as Error).message}`);
    }
  }
  collector.start();
  if (config.cluster) {
    try {
      cluster = await startCluster(config.cluster, { collector, storage, logger });
    } catch (err) {
      await collector.stop(config.collector.shutdownTimeout);
      server?.close();
      throw err;
    }
  }
  logger.info(
    { config: config.file, storage: config.storage.kind, feeds: feeds.map((f) => f.name), collectors: collectors.map((c) => c.id), statusUrl },
    'daemon started',
  );
  return {
    feeds,
    collector,
    storage,
    statusUrl,
    async stop(timeoutMs = config.collector.shutdownTimeout) {
      // Leases first: the units stop, their data is flushed, and other daemons take them at once.
      await cluster?.stop();
      const done = await collector.stop(timeoutMs);
      if (server) {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closed;
      }
      return done;
    },
  };
}
