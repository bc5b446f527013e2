import type { Kline } from '../../klines/kline.js';
import { pageSpan, type KlinePageQuery, type KlineProtocol, type ProviderHealth, type RestRequest } from '../../klines/protocol.js';
import { decimal, integer, isObject } from '../../trades/wire.js';
import { binanceRestLimits } from './rest-limits.js';
import { binanceConnection } from './connection.js';

// rest-api.md "Kline/Candlestick data" (binance-spot-api-docs a5e0bc3, 2026-07-21):
// GET /api/v3/klines, weight 2, symbol, interval, startTime, endTime, limit (default 500, max 1000);
// "Klines are uniquely identified by their open time"; rows ascending, the last one the candle
// still open. Row: [openTime, open, high, low, close, volume, closeTime, quoteVolume, trades,
// takerBuyBase, takerBuyQuote, unused] with times and trades as JSON numbers, the rest as strings.
const MAX_PER_REQUEST = 1000;
const KLINES_WEIGHT = 2;

/**
 * Unified → Binance interval names. Left out: `1M` (months are not a fixed length) and `3d`,
 * whose open times the docs do not pin to the epoch grid the poller aligns to.
 */
const INTERVALS: Readonly<Record<string, string>> = {
  '1s': '1s',
  '1m': '1m', '3m': '3m', '5m': '5m', '15m': '15m', '30m': '30m',
  '1h': '1h', '2h': '2h', '4h': '4h', '6h': '6h', '8h': '8h', '12h': '12h',
  '1d': '1d', '1w': '1w',
};

/** One `/api/v3/klines` row as a Kline; throws naming the row and field. */
export function parseBinanceKline(row: unknown, index: number): Kline {
  try {
    if (!Array.isArray(row) || row.length < 9) throw new Error(`not an array of at least 9 fields: ${JSON.stringify(row)}`);
    return {
      openTime: integer(row[0], 'open time'),
      open: decimal(row[1], 'open'),
      high: decimal(row[2], 'high'),
      low: decimal(row[3], 'low'),
      close: decimal(row[4], 'close'),
      volume: decimal(row[5], 'volume'),
      quoteVolume: decimal(row[7], 'quote asset volume'),
      trades: integer(row[8], 'number of trades'),
    };
  } catch (err) {
    throw new Error(`binance: klines row ${index}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Binance spot klines: 1000 a page, ascending, with quote volume and trade count. */
export const binanceKlines: KlineProtocol = {
  exchange: 'binance',
  defaultRestUrl: 'https://api.binance.com',
  intervals: INTERVALS,
  maxPerRequest: MAX_PER_REQUEST,
  optionalFields: ['quote_volume', 'trades'],
  limits: binanceRestLimits,

  toExchangeSymbol: (symbol) => binanceConnection.toExchangeSymbol(symbol),

  pageRequest(query: KlinePageQuery): RestRequest {
    const interval = INTERVALS[query.interval];
    if (interval === undefined) throw new Error(`binance: no ${query.interval} klines`);
    const { to, limit } = pageSpan(query, MAX_PER_REQUEST);
    // endTime at the last wanted candle's close time: it holds that candle whether Binance
    // compares endTime with open or close times, and never the one after it.
    return {
      path: '/api/v3/klines',
      params: { symbol: query.exchangeSymbol, interval, startTime: query.from, endTime: to + query.intervalMs - 1, limit },
      weight: KLINES_WEIGHT,
    };
  },

  parsePage(body: unknown): Kline[] {
    if (!Array.isArray(body)) {
      // Refusals come as 4xx {"code":-1121,"msg":"Invalid symbol."}; one in a 2xx body reads the same.
      if (isObject(body) && 'code' in body) throw new Error(`binance: klines refused: code ${String(body.code)}: ${String(body.msg)}`);
      throw new Error(`binance: klines answer is not an array: ${JSON.stringify(body).slice(0, 200)}`);
    }
    return body.map(parseBinanceKline).sort((a, b) => a.openTime - b.openTime);
  },

  health: {
    // Wallet "System Status (System)": GET /sapi/v1/system/status, weight 1, no key;
    // {"status": 0, "msg": "normal"} or {"status": 1, "msg": "system_maintenance"}.
    // /api/v3/ping only shows reachability, not maintenance.
    request: { path: '/sapi/v1/system/status', params: {}, weight: 1 },
    parse(body: unknown): ProviderHealth {
      if (!isObject(body) || (body.status !== 0 && body.status !== 1)) {
        throw new Error(`binance: system status answer is not {status: 0|1, msg}: ${JSON.stringify(body).slice(0, 200)}`);
      }
      return body.status === 0 ? { ok: true } : { ok: false, reason: `system maintenance (status 1: ${String(body.msg)})` };
    },
  },
};
