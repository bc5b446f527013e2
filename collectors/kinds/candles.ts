import { capabilityOf, type ExchangeDirectory } from '../exchange.js';
import { createTradesCollectorKind } from './trades.js';
import type { CollectorContext, CollectorKind, DataRequirement, DataSourceCollector } from '../types.js';
import { parseTimeframes, type Timeframe } from '../candles/candle-builder.js';
import { CandleCollector, candlesKey } from '../candles/candle-collector.js';

/** Every timeframe the requirements ask of each symbol, shortest first (two feeds may ask different sets). */
function timeframesBySymbol(requirements: readonly DataRequirement[]): Map<string, Timeframe[]> {
  const bySymbol = new Map<string, Map<number, Timeframe>>();
  for (const req of requirements) {
    let timeframes = bySymbol.get(req.symbol);
    if (!timeframes) bySymbol.set(req.symbol, (timeframes = new Map()));
    for (const tf of parseTimeframes(req.arg)) timeframes.set(tf.ms, tf);
  }
  return new Map([...bySymbol].map(([symbol, tfs]) => [symbol, [...tfs.values()].sort((a, b) => a.ms - b.ms)]));
}

/**
 * Candles computed from the live (and backfilled) trades of the pair's trades collector, for
 * several timeframes at once: `candles:1m,5m,1h`. One collector per exchange.
 */
export function createCandlesCollectorKind(exchanges: ExchangeDirectory): CollectorKind {
  const tradesKind = createTradesCollectorKind(exchanges);
  return {
    name: 'candles',
    exchanges: exchanges.names,

    keysFor(exchange: string, symbol: string, arg: string | undefined): string[] {
      const timeframes = parseTimeframes(arg);
      // Built from trades: the exchange and symbol must be ones the trades collector takes.
      tradesKind.keysFor(exchange, symbol, undefined);
      return timeframes.map((tf) => candlesKey(exchange, symbol, tf.name));
    },

    needs: () => ['trades'],

    // Same keys, same timeframes in another order or spelling (`1m,5m` and `5m,60s`).
    mergeArgs: (a, b) => parseTimeframes(a ?? b).map((tf) => tf.name).join(','),

    create(requirements: readonly DataRequirement[], context: CollectorContext): DataSourceCollector[] {
      const { trades } = context;
      if (!trades) throw new Error('candles are built from the trade tap: build collectors with loadDataSourceCollectors, or pass context.trades');
      const names = [...new Set(requirements.map((r) => r.exchange))];
      return names.map(
        (exchange) =>
          new CandleCollector({
            id: `candles:${exchange}`,
            exchange,
            series: timeframesBySymbol(requirements.filter((r) => r.exchange === exchange)),
            tap: trades,
            idsIncrease: capabilityOf(exchanges.get(exchange), 'trades').idsIncrease,
            logger: context.logger,
          }),
      );
    },
  };
}
