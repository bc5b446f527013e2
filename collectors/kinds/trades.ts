import { groupBy } from '../../common/collections.js';
import { capabilityOf, type ExchangeDirectory } from '../exchange.js';
import { gapsKey } from '../trades/gap-records.js';
import { TradeStreamCollector } from '../trades/trade-stream.js';
import { tradesKey } from '../trades/trade.js';
import type { CollectorContext, CollectorKind, DataRequirement, DataSourceCollector } from '../types.js';
import { symbolsPerConnection } from '../ws/channel-protocol.js';

/** The smallest staleAfterMs among requirements, or undefined when none sets one. */
function minStaleAfter(requirements: readonly DataRequirement[]): number | undefined {
  const values = requirements.map((r) => r.staleAfterMs).filter((ms): ms is number => ms !== undefined);
  return values.length > 0 ? Math.min(...values) : undefined;
}

/** How far back a backfill may reach: the longest `history` asked for, or no limit when one requirement sets none. */
function longestHistory(requirements: readonly DataRequirement[]): number | undefined {
  if (requirements.some((r) => r.historyMs === undefined)) return undefined;
  return Math.max(...requirements.map((r) => r.historyMs!));
}

/** Live trades over each exchange's WebSocket: one collector per connection's worth of symbols. */
export function createTradesCollectorKind(exchanges: ExchangeDirectory): CollectorKind {
  return {
    name: 'trades',
    exchanges: exchanges.names,
    // Gaps the REST backfill could not fill are recorded under gaps:<exchange>:<SYMBOL>.
    seriesKinds: ['trades', 'gaps'],

    keysFor(exchange: string, symbol: string, arg: string | undefined): string[] {
      if (arg !== undefined) throw new Error(`trades takes no argument, got trades:${arg} (write just "trades")`);
      // Validates the exchange and the symbol's spelling now, at config time, not at connect.
      capabilityOf(exchanges.get(exchange), 'trades').connection.toExchangeSymbol(symbol);
      return [tradesKey(exchange, symbol)];
    },

    warnings({ exchange, symbol }: DataRequirement): string[] {
      if (exchanges.get(exchange).capabilities.tradeHistory) return [];
      return [`${exchange} has no trade history over REST: trades missed while disconnected are recorded as gaps (${gapsKey(exchange, symbol)}), not backfilled`];
    },

    create(requirements: readonly DataRequirement[], context: CollectorContext): DataSourceCollector[] {
      const collectors: DataSourceCollector[] = [];
      for (const [exchange, ofExchange] of groupBy(requirements, (r) => r.exchange)) {
        const { restLimits, maxFrameBytes, capabilities } = exchanges.get(exchange);
        const protocol = capabilityOf(exchanges.get(exchange), 'trades');
        const bySymbol = [...groupBy(ofExchange, (r) => r.symbol)];
        const perConnection = Math.min(symbolsPerConnection(protocol), context.maxSymbolsPerCollector ?? Infinity);
        for (let start = 0; start < bySymbol.length; start += perConnection) {
          const group = bySymbol.slice(start, start + perConnection);
          const index = start / perConnection + 1;
          const id = index === 1 ? `trades:${exchange}` : `trades:${exchange}#${index}`;
          collectors.push(
            new TradeStreamCollector({
              id,
              protocol,
              history: capabilities.tradeHistory,
              instruments: capabilities.instruments,
              symbols: group.map(([symbol]) => symbol),
              wsUrl: context.exchanges[exchange]?.wsUrl,
              restUrl: context.exchanges[exchange]?.restUrl,
              staleAfterMs: minStaleAfter(group.flatMap(([, reqs]) => reqs)),
              logger: context.logger,
              tap: context.trades,
              maxBackfillMs: longestHistory(group.flatMap(([, reqs]) => reqs)),
              restLimits,
              maxFrameBytes,
            }),
          );
        }
      }
      return collectors;
    },
  };
}
