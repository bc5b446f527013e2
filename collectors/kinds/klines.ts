import { formatDuration } from '../../common/duration.js';
import { capabilityOf, type ExchangeDirectory } from '../exchange.js';
import type { CollectorContext, CollectorKind, DataRequirement, DataSourceCollector } from '../types.js';
import { klineGapsKey, klinesKey } from '../klines/kline.js';
import { KlinePoller } from '../klines/kline-poller.js';
import { intervalMs } from '../klines/open-times.js';

/** `klines:<interval>`: candles polled over each exchange's REST API, one poller per series. */
export function createKlinesCollectorKind(exchanges: ExchangeDirectory): CollectorKind {
  return {
    name: 'klines',
    exchanges: exchanges.names,
    seriesKinds: ['klines', 'gaps'],

    keysFor(exchange: string, symbol: string, arg: string | undefined): string[] {
      if (arg === undefined) throw new Error('klines needs an interval, e.g. klines:1m');
      const protocol = capabilityOf(exchanges.get(exchange), 'klines');
      if (protocol.intervals[arg] === undefined) throw new Error(`${exchange} has no ${arg} klines; it serves ${Object.keys(protocol.intervals).join(', ')}`);
      // Checks the symbol's spelling now, at config time.
      protocol.toExchangeSymbol(symbol);
      return [klinesKey(exchange, symbol, arg), klineGapsKey(exchange, symbol, arg)];
    },

    warnings({ exchange, symbol, arg, historyMs }: DataRequirement): string[] {
      const { maxHistoryCandles } = capabilityOf(exchanges.get(exchange), 'klines');
      if (maxHistoryCandles === undefined || arg === undefined || historyMs === undefined) return [];
      const servedMs = maxHistoryCandles * intervalMs(arg);
      if (historyMs <= servedMs) return [];
      return [
        `history ${formatDuration(historyMs)} reaches past the ${maxHistoryCandles} most recent ${arg} klines ${exchange} serves (${formatDuration(servedMs)}): older ones are recorded as gaps (${klineGapsKey(exchange, symbol, arg)})`,
      ];
    },

    create(requirements: readonly DataRequirement[], context: CollectorContext): DataSourceCollector[] {
      return requirements.map(
        (req) =>
          new KlinePoller({
            protocol: capabilityOf(exchanges.get(req.exchange), 'klines'),
            symbol: req.symbol,
            interval: req.arg!,
            restUrl: context.exchanges[req.exchange]?.restUrl,
            historyMs: req.historyMs,
            staleAfterMs: req.staleAfterMs,
            logger: context.logger,
          }),
      );
    },
  };
}
