import type { CollectorContext, CollectorKind, DataRequirement, DataSourceCollector } from '../types.js';
import { klineGapsKey, klinesKey } from './kline.js';
import { KlinePoller } from './kline-poller.js';
import { klineProtocolFor } from './protocols.js';

/** `klines:<interval>`: candles polled over each exchange's REST API, one poller per series. */
export const klinesCollectorKind: CollectorKind = {
  name: 'klines',
  seriesKinds: ['klines', 'gaps'],

  keysFor(exchange: string, symbol: string, arg: string | undefined): string[] {
    if (arg === undefined) throw new Error('klines needs an interval, e.g. klines:1m');
    const protocol = klineProtocolFor(exchange);
    if (protocol.intervals[arg] === undefined) throw new Error(`${exchange} has no ${arg} klines; it serves ${Object.keys(protocol.intervals).join(', ')}`);
    // Checks the symbol's spelling now, at config time.
    protocol.toExchangeSymbol(symbol);
    return [klinesKey(exchange, symbol, arg), klineGapsKey(exchange, symbol, arg)];
  },

  create(requirements: readonly DataRequirement[], context: CollectorContext): DataSourceCollector[] {
    return requirements.map(
      (req) =>
        new KlinePoller({
          protocol: klineProtocolFor(req.exchange),
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
