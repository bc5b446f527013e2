import type { Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Container } from 'inversify';
import { TradeTap } from '../collectors/trades/trade-tap.js';
import { buildFeeds } from '../feeds/load.js';
import type { Feed } from '../feeds/types.js';
import type { DataCollectionStorage } from '../storage/types.js';
import type { CollectorConfig } from './config/load.js';
import { collectorsOf } from './config-collectors.js';
import { registryOf } from './container.js';
import { DataCollector } from './data-collector.js';
import type { Logger } from '../common/logger.js';
import { openStorage } from './open-storage.js';
import { controlRoutes } from './http/control-routes.js';
import { startStatusServer } from './http/status-server.js';
import { pageRoutes } from './http/page.js';
import { seriesRoutes } from './http/series.js';
import { startCluster, type Cluster } from './cluster/start.js';
import { healthPolicyOf, restartPolicyOf, RuntimeControl, type CollectorAction, type ReloadOutcome } from './runtime-control.js';
import type { CollectorStatus } from './data-collector.js';

export { collectorsOf } from './config-collectors.js';

/** A running daemon: its feeds, orchestrator, storage and status server. */
export interface Daemon {
  /** The feeds of the running config (a reload applied changes them). */
  readonly feeds: Feed[];
  /** The running config: the one it started with, or the last reload applied. */
  readonly config: CollectorConfig;
  collector: DataCollector;
  storage: DataCollectionStorage;
  /** Base URL of the status server, when one is configured. */
  statusUrl?: string;
  /** Re-reads the config file and applies it (see RuntimeControl.reload); `trigger` is logged. */
  reload(trigger?: string): Promise<ReloadOutcome>;
  /** Stops, starts or restarts one collector for an operator (see RuntimeControl.act). */
  act(id: string, action: CollectorAction): Promise<CollectorStatus>;
  /** Aborts the collectors, flushes and closes storage, stops the HTTP server; true when done in time. */
  stop(timeoutMs?: number): Promise<boolean>;
}

/** Opens storage, derives collectors from the feeds, starts them and the status server. */
export async function startDaemon(config: CollectorConfig, container: Container, logger: Logger): Promise<Daemon> {
  const registry = registryOf(container);
  const feeds = buildFeeds(config.feeds, registry);
  // One tap for the daemon's life: collectors a reload builds hear the trades of those it keeps.
  const trades = new TradeTap(logger);
  const collectors = collectorsOf(config, feeds, registry, logger, trades);
  const storage = await openStorage(config, { container, logger });
  const collector = new DataCollector(collectors, storage, { logger, managed: config.cluster !== undefined, restart: restartPolicyOf(config) });
  // The status server reads this object on every request; a reload updates it in place.
  const health = healthPolicyOf(config);
  const control = new RuntimeControl({ config, feeds, registry, collector, trades, health, logger });
  let server: Server | undefined;
  let statusUrl: string | undefined;
  let cluster: Cluster | undefined;
  const source = { status: () => ({ ...collector.status(), ...(cluster ? { cluster: cluster.status() } : {}), config: control.status() }) };
  if (config.http) {
    try {
      ({ server, url: statusUrl } = await startStatusServer(source, config.http.listen.host, config.http.listen.port, {
        token: config.http.token,
        health,
        routes: [...controlRoutes(control), ...pageRoutes(), ...seriesRoutes(storage)],
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
    get feeds() {
      return control.feeds;
    },
    get config() {
      return control.runningConfig;
    },
    collector,
    storage,
    statusUrl,
    reload: (trigger = 'reload') => control.reload(trigger),
    act: (id, action) => control.act(id, action),
    async stop(timeoutMs = control.runningConfig.collector.shutdownTimeout) {
      // A reload or operator request under way finishes first (each is bounded by the collectors' abandon time).
      await Promise.race([control.close(), sleep(timeoutMs, undefined, { ref: false })]);
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
