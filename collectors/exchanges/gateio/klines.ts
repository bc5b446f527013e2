import type { Kline } from '../../klines/kline.js';
import { pageSpan, type KlinePageQuery, type KlineProtocol, type ProviderHealth, type RestRequest } from '../../klines/protocol.js';
import { decimal, isObject } from '../../trades/wire.js';
import { gateioRestLimits } from './rest-limits.js';
import { GATEIO_REST_URL, gateioPair } from './symbols.js';

// Gate API v4 "Market candlesticks" (GET /api/v4/spot/candlesticks; docs_examples_protocol.json
// rest_spot_candlesticks and its note): currency_pair, interval, from and to in unix seconds
// ("limit conflicts with from and to"), "Maximum of 1000 points can be returned in a query".
// Rows are string arrays [t (s), quote volume, close, high, low, open, base volume, window closed]:
// the 2024 capture (rest_candlesticks_BTC_USDT_1h_limit1_2024-03-13_ccxt.json) bears the order out
// — 992134.6 quote / 13.53 base ≈ 73,330, between its low 73236.3 and high 73435.8; the docs example
// row has 7 items (no base volume), so base volume is required and the closed flag is not read
// (an open candle is kept: the poller rewrites it until it closes).
const MAX_PER_REQUEST = 1000;
const SECONDS = /^\d{1,12}$/;

/**
 * Unified → Gate intervals (docs: 1s 10s 1m 5m 15m 30m 1h 4h 8h 1d 7d 30d). Gate's buckets are
 * multiples of the interval since the epoch, so 1d opens at 00:00 UTC; 7d (epoch weeks start on a
 * Thursday) and 30d lie off the UTC grid the poller aligns to, and are left out.
 */
const INTERVALS: Readonly<Record<string, string>> = {
  '1m': '1m', '5m': '5m', '15m': '15m', '30m': '30m', '1h': '1h', '4h': '4h', '8h': '8h', '1d': '1d',
};

/** One candlesticks row as a Kline; throws naming the row and field. */
export function parseGateioCandle(row: unknown, index: number): Kline {
  try {
    if (!Array.isArray(row) || row.length < 7) throw new Error(`not an array of at least 7 fields: ${JSON.stringify(row)}`);
    if (typeof row[0] !== 'string' || !SECONDS.test(row[0])) throw new Error(`t is not a unix seconds string: ${JSON.stringify(row[0])}`);
    return {
      openTime: Number(row[0]) * 1000,
      open: decimal(row[5], 'open'),
      high: decimal(row[3], 'high'),
      low: decimal(row[4], 'low'),
      close: decimal(row[2], 'close'),
      volume: decimal(row[6], 'base volume'),
      quoteVolume: decimal(row[1], 'quote volume'),
    };
  } catch (err) {
    throw new Error(`gateio: candlesticks row ${index}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Gate spot candlesticks: one endpoint, pages of up to 1000 bounded by from/to (seconds, both inclusive). */
export const gateioKlines: KlineProtocol = {
  exchange: 'gateio',
  defaultRestUrl: GATEIO_REST_URL,
  intervals: INTERVALS,
  maxPerRequest: MAX_PER_REQUEST,
  optionalFields: ['quote_volume'],
  limits: gateioRestLimits,

  toExchangeSymbol: gateioPair,

  pageRequest(query: KlinePageQuery): RestRequest {
    const interval = INTERVALS[query.interval];
    if (interval === undefined) throw new Error(`gateio: no ${query.interval} candles`);
    const { to } = pageSpan(query, MAX_PER_REQUEST);
    return {
      path: '/api/v4/spot/candlesticks',
      params: { currency_pair: query.exchangeSymbol, interval, from: Math.floor(query.from / 1000), to: Math.floor(to / 1000) },
    };
  },

  parsePage(body: unknown): Kline[] {
    // Errors come as {"label","message"} with a 4xx status; a 2xx body is the bare array of rows.
    if (!Array.isArray(body)) throw new Error(`gateio: candlesticks answer is not an array: ${JSON.stringify(body).slice(0, 200)}`);
    return body.map(parseGateioCandle).sort((a, b) => a.openTime - b.openTime);
  },

  health: {
    // Gate has no public status endpoint: a server time answered (as an integer per the docs, a
    // string in ccxt's 2024 capture) is taken as healthy; a failing request is not.
    request: { path: '/api/v4/spot/time', params: {} },
    parse(body: unknown): ProviderHealth {
      const time = isObject(body) ? body.server_time : undefined;
      const ok = (typeof time === 'number' && Number.isSafeInteger(time)) || (typeof time === 'string' && /^\d{10,15}$/.test(time));
      return ok ? { ok: true } : { ok: false, reason: `spot/time answered without a server_time: ${JSON.stringify(body).slice(0, 200)}` };
    },
  },
};
