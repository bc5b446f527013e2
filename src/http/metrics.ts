import { collectDefaultMetrics, Gauge, Registry as MetricsRegistry } from 'prom-client';
import type { ServiceStatus } from '../data-collector.js';
import type { StatusSource } from './types.js';

/** Prometheus gauges read from the status snapshot at scrape time. */
export function metricsFor(source: StatusSource): MetricsRegistry {
  const registry = new MetricsRegistry();
  // The process's own figures (CPU, RSS, heap, event-loop lag, open fds) under prom-client's standard names.
  collectDefaultMetrics({ register: registry });
  const perCollector = (name: string, help: string, value: (c: ServiceStatus['collectors'][number]) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['collector', 'kind'],
      registers: [registry],
      collect() {
        this.reset();
        for (const c of source.status().collectors) this.set({ collector: c.id, kind: c.kind }, value(c));
      },
    });
  perCollector('collector_items_stored_total', 'Samples stored by the collector since start', (c) => c.itemsStored);
  perCollector('collector_trades_backfilled_total', 'Trades fetched over REST to fill gaps since start', (c) => c.tradesBackfilled);
  perCollector('collector_gaps_total', 'Gaps that could not be filled (stored as gap records) since start', (c) => c.gaps);
  perCollector('collector_book_resyncs_total', 'Order books found inconsistent and resynchronized since start', (c) => c.resyncs);
  perCollector('collector_chain_reorgs_total', 'Chain reorganizations repaired since start (DEX pools: samples rewritten from the new blocks)', (c) => c.reorgs);
  new Gauge({
    name: 'collector_dropped_total',
    help: 'Frames (unparsed, oversized, binary) and records (invalid, duplicate) the collector dropped since start, by reason',
    labelNames: ['collector', 'kind', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of source.status().collectors) {
        for (const [reason, count] of Object.entries(c.dropped)) this.set({ collector: c.id, kind: c.kind, reason }, count);
      }
    },
  });
  perCollector('collector_restarts_total', 'Restarts of the collector since start', (c) => c.restarts);
  perCollector('collector_up', '1 while the collector runs, 0 otherwise', (c) => (c.state === 'running' ? 1 : 0));
  perCollector('collector_stopped_by_operator', '1 while an operator keeps the collector stopped (collector stop), 0 otherwise', (c) => (c.stoppedByOperator ? 1 : 0));
  perCollector('collector_degraded', '1 while the collector waits out an exchange problem (maintenance, unreachable)', (c) => (c.degraded !== null ? 1 : 0));
  perCollector('collector_failed_series', 'Series the collector cannot collect now (symbol not listed, refused at subscribe)', (c) => c.failedSeries.length);
  perCollector('collector_trade_id_outliers_total', 'Trades dropped because their id lay far outside the sequence, unconfirmed', (c) => c.tradeIdOutliers);
  perCollector('collector_connections', 'WebSocket connections the collector has open and HTTP requests it has in flight', (c) => c.connections);
  perCollector('collector_buffered_frames', 'Records the collector received and holds, not yet handed to storage', (c) => c.bufferedFrames);
  perCollector('collector_last_data_age_seconds', 'Seconds since the collector last stored data', (c) =>
    c.lastDataAt ? (Date.now() - Date.parse(c.lastDataAt)) / 1000 : -1,
  );
  const storage = (name: string, help: string, pick: (s: ServiceStatus['storage']) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(pick(source.status().storage));
      },
    });
  storage('storage_buffered_samples', 'Samples accepted and not yet durable', (s) => s.buffered);
  storage('storage_written_samples_total', 'Samples written durably', (s) => s.written);
  storage('storage_rejected_samples_total', 'Samples the storage refused', (s) => s.rejected);
  storage('storage_errors_total', 'Storage write errors', (s) => s.errors);
  storage('storage_failing', '1 while storage writes fail (disk full, read-only, unreachable), 0 otherwise', (s) => (s.failingSince !== null ? 1 : 0));
  new Gauge({
    name: 'collector_config_reloads_total',
    help: 'Config reloads (SIGHUP, collector reload) since start, by result: applied, or refused (the running config stayed)',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      const config = source.status().config;
      if (!config) return;
      this.set({ result: 'applied' }, config.reloads.applied);
      this.set({ result: 'refused' }, config.reloads.refused);
    },
  });
  clusterMetrics(source, registry);
  return registry;
}

/** The cluster's members, units and leases (only with `cluster` configured). */
function clusterMetrics(source: StatusSource, registry: MetricsRegistry): void {
  const gauge = (name: string, help: string, pick: (c: NonNullable<ServiceStatus['cluster']>) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const cluster = source.status().cluster;
        if (cluster) this.set(pick(cluster));
      },
    });
  gauge('cluster_members', 'Live daemons in the cluster', (c) => c.members.length);
  gauge('cluster_units_owned', 'Units of work this daemon runs', (c) => c.owned);
  gauge('cluster_units_total', 'Units of work in the config', (c) => c.units.length);
  gauge('cluster_takeovers_total', 'Units this daemon took over from another daemon since start', (c) => c.takeovers);
  gauge('cluster_leases_lost_total', 'Units stopped because their lease could not be renewed in time, since start', (c) => c.leasesLost);
  gauge('cluster_stale_writes_refused_total', 'Samples the storage refused because their fencing token was stale', (c) => c.staleWritesRefused);
  gauge('cluster_lease_store_up', '1 while the lease store (Redis) answers', (c) => (c.connected ? 1 : 0));
  gauge('cluster_lease_commands_total', 'Redis commands sent for leases and membership since start', (c) => c.leaseCommands);
  new Gauge({
    name: 'cluster_lease_age_seconds',
    help: 'How long this daemon has held the lease of each of its units',
    labelNames: ['unit'],
    registers: [registry],
    collect() {
      this.reset();
      const cluster = source.status().cluster;
      for (const u of cluster?.units ?? []) if (u.owner === cluster?.node && u.leaseAgeMs !== null) this.set({ unit: u.unit }, u.leaseAgeMs / 1000);
    },
  });
}
