import type { TradeTap } from '../collectors/trades/trade-tap.js';
import type { DataSourceCollector } from '../collectors/types.js';
import { dataRequirements, loadDataSourceCollectors } from '../feeds/load.js';
import type { Feed, KindLookup } from '../feeds/types.js';
import type { Logger } from '../common/logger.js';
import type { CollectorConfig } from './config/load.js';
import { chainSettings } from './dex-pools.js';

/**
 * The collectors a config runs (in a cluster: split into units of at most `cluster.unitSymbols`
 * symbols). A daemon passes its one trade tap, so collectors built by a reload and those kept
 * running share it (candles hear the trades of a trades collector built earlier or later).
 */
export function collectorsOf(config: CollectorConfig, feeds: readonly Feed[], registry: KindLookup, logger: Logger, trades?: TradeTap): DataSourceCollector[] {
  return loadDataSourceCollectors(feeds, registry, {
    exchanges: config.exchanges,
    chains: chainSettings(config),
    logger,
    maxSymbolsPerCollector: config.cluster?.unitSymbols,
    trades,
  });
}

/**
 * What each collector collects and how, as text that is equal exactly when a collector built
 * from another config would do the same: its kind, series and inputs, and the merged
 * requirements it serves (exchange, symbol, `collect` argument, staleAfter, history) with the
 * endpoint overrides of their exchanges. A reload restarts a collector whose text changed.
 */
export function collectorFingerprints(
  config: CollectorConfig,
  feeds: readonly Feed[],
  registry: KindLookup,
  collectors: readonly DataSourceCollector[],
): Map<string, string> {
  const requirements = dataRequirements(feeds, registry);
  return new Map(
    collectors.map((c) => {
      const served = requirements
        .filter((r) => r.collector === c.kind && r.keys.some((key) => c.keys.includes(key)))
        .map(({ id, exchange, symbol, arg, keys, staleAfterMs, historyMs, dex }) => ({ id, exchange, symbol, arg, keys: [...keys].sort(), staleAfterMs, historyMs, dex }))
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const exchanges = [...new Set(served.map((r) => r.exchange))].sort();
      return [
        c.id,
        JSON.stringify({
          kind: c.kind,
          keys: [...c.keys].sort(),
          inputs: [...(c.inputs ?? [])].sort(),
          staleAfterMs: c.staleAfterMs,
          served,
          endpoints: exchanges.map((exchange) => [exchange, config.exchanges[exchange]?.wsUrl, config.exchanges[exchange]?.restUrl]),
          // A DEX feed's `exchange` is its chain: its RPC endpoints and block rules.
          chains: exchanges.flatMap((exchange) => (config.chains[exchange] ? [[exchange, config.chains[exchange]]] : [])),
          unitSymbols: config.cluster?.unitSymbols,
        }),
      ];
    }),
  );
}
