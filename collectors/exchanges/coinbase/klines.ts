import type { Kline } from '../../klines/kline.js';
import type { KlinePageQuery, KlineProtocol, ProviderHealth } from '../../klines/protocol.js';
import { isObject, splitSymbol } from '../../trades/wire.js';
import { coinbaseRestLimits } from './rest-limits.js';

// Coinbase Exchange REST "Get product candles" (docs.cdp.coinbase.com api-reference/exchange-api/
// rest-api/products/get-product-candles): GET /products/<id>/candles?granularity=&start=&end=.
// - rows are [time, low, high, open, close, volume]: low and high come BEFORE open and close
//   (rest_candles_BTC-USD_60s_first2rows_2026-06-19.json), newest first;
// - "The maximum number of data points for a single request is 300 candles. If your selection of
//   start/end time and granularity results in more than 300 data points, your request is
//   rejected" (400 "granularity too small for the requested time range. Count of aggregations
//   requested exceeds 300", quoted in ccxt#9268). Both bounds are inclusive: ccxt asks for
//   `limit` candles with end = start + (limit − 1) × granularity, so a page of open times
//   [from, from + 299 × granularity] is exactly 300;
// - "No data is published for intervals where there are no ticks": holes are normal, and the
//   poller records them as missing after asking twice;
// - no quote volume or trade count.
const MAX_CANDLES = 300;

/** Unified interval → Coinbase granularity in seconds: "one of {60, 300, 900, 3600, 21600, 86400}, or your request is rejected". */
const GRANULARITIES: Readonly<Record<string, string>> = { '1m': '60', '5m': '300', '15m': '900', '1h': '3600', '6h': '21600', '1d': '86400' };

/** A price or size of a candle row: Coinbase sends them as JSON numbers (their values are validation.ts's to judge). */
function rowNumber(row: readonly unknown[], index: number, field: string): number {
  const value = row[index];
  if (typeof value !== 'number') throw new Error(`coinbase: candle ${field} is not a number: ${JSON.stringify(row)}`);
  return value;
}

/** One `[time, low, high, open, close, volume]` row as a Kline, checked to open on the query's interval grid. */
export function parseCoinbaseCandle(row: unknown, intervalMs: number): Kline {
  if (!Array.isArray(row) || row.length < 6) throw new Error(`coinbase: candle is not a [time, low, high, open, close, volume] array: ${JSON.stringify(row)}`);
  const time = row[0];
  if (typeof time !== 'number' || !Number.isSafeInteger(time) || time < 0) throw new Error(`coinbase: candle time is not whole seconds: ${JSON.stringify(row)}`);
  const openTime = time * 1000;
  if (openTime % intervalMs !== 0) throw new Error(`coinbase: candle at ${new Date(openTime).toISOString()} does not open on the ${intervalMs / 1000} s grid`);
  return {
    openTime,
    low: rowNumber(row, 1, 'low'),
    high: rowNumber(row, 2, 'high'),
    open: rowNumber(row, 3, 'open'),
    close: rowNumber(row, 4, 'close'),
    volume: rowNumber(row, 5, 'volume'),
  };
}

/** Coinbase Exchange candles: 300 per request between inclusive ISO bounds, holes where nothing traded. */
export const coinbaseKlines: KlineProtocol = {
  exchange: 'coinbase',
  defaultRestUrl: 'https://api.exchange.coinbase.com',
  intervals: GRANULARITIES,
  maxPerRequest: MAX_CANDLES,
  optionalFields: [],
  limits: coinbaseRestLimits,

  toExchangeSymbol(symbol: string): string {
    splitSymbol('coinbase', symbol);
    // Product ids are spelled the unified way (rest_product_BTC-USD_2026-06-19.json), as for trades.
    return symbol;
  },

  pageRequest(query: KlinePageQuery) {
    const granularity = query.intervalMs / 1000;
    // Never more than 300 open times, even if a caller asked for a longer page: Coinbase would refuse it.
    const to = Math.min(query.to, query.from + (MAX_CANDLES - 1) * query.intervalMs);
    return {
      path: `/products/${encodeURIComponent(query.exchangeSymbol)}/candles`,
      params: { granularity, start: new Date(query.from).toISOString(), end: new Date(to).toISOString() },
    };
  },

  parsePage(body: unknown, query: KlinePageQuery): Kline[] {
    if (!Array.isArray(body)) {
      // Refusals come as 4xx {"message": "..."}, which the REST client throws on; one in a 2xx body is read the same way.
      const message = isObject(body) && typeof body.message === 'string' ? body.message : undefined;
      if (message !== undefined) throw new Error(`coinbase: candles refused: ${message}`);
      throw new Error(`coinbase: candles answer is not an array: ${JSON.stringify(body).slice(0, 200)}`);
    }
    return body.map((row) => parseCoinbaseCandle(row, query.intervalMs)).sort((a, b) => a.openTime - b.openTime);
  },

  health: {
    // The Exchange API has no JSON status endpoint; status.coinbase.com is a separate Statuspage
    // site (another host, incidents rather than trading state). `/time` answering shows the API is
    // reachable; during maintenance it is assumed to fail with 5xx like every other endpoint.
    request: { path: '/time', params: {} },
    parse(body: unknown): ProviderHealth {
      // rest_time_2026-06-19.json: {"iso":"2026-06-19T16:43:33.188Z","epoch":1781887413.188}
      if (!isObject(body) || typeof body.epoch !== 'number' || typeof body.iso !== 'string') {
        throw new Error(`coinbase: /time answer is not {iso, epoch}: ${JSON.stringify(body).slice(0, 200)}`);
      }
      return { ok: true };
    },
  },
};
