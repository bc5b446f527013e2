import type { Kline } from '../../klines/kline.js';
import { pageSpan, type KlinePageQuery, type KlineProtocol, type ProviderHealth, type RestRequest } from '../../klines/protocol.js';
import { decimal, isObject } from '../../trades/wire.js';
import { bitstampSymbol } from './connection.js';
import { bitstampRestLimits } from './rest-limits.js';

// GET /api/v2/ohlc/<pair>/?step=&limit=&start=&end= (seconds): {"data":{"pair":"BTC/USD","ohlc":[{timestamp,
// open, high, low, close, volume}, ...]}}, all strings, oldest first, limit at most 1000. Given start,
// end and limit it answers the `limit` candles ending at end (rest_ohlc_btcusd_step60_limit10_2019-12-31_gct.json:
// start=1546300800, end=1577836799, limit=10 → 1577836200 … 1577836740, end inclusive on open times), so
// a page asks exactly the candles of [from, to] and gets them. No REST documentation was read: the
// steps are the published ones.
const MAX_PER_REQUEST = 1000;
const SECONDS = /^\d{1,12}$/;

/** Unified → Bitstamp `step` (seconds). */
const INTERVALS: Readonly<Record<string, string>> = {
  '1m': '60', '3m': '180', '5m': '300', '15m': '900', '30m': '1800',
  '1h': '3600', '2h': '7200', '4h': '14400', '6h': '21600', '12h': '43200',
  '1d': '86400', '3d': '259200',
};

/** One `ohlc` entry as a Kline; throws naming the row and field. */
export function parseBitstampKline(row: unknown, index: number): Kline {
  try {
    if (!isObject(row)) throw new Error(`not an object: ${JSON.stringify(row)}`);
    if (typeof row.timestamp !== 'string' || !SECONDS.test(row.timestamp)) throw new Error(`timestamp is not a seconds string: ${JSON.stringify(row.timestamp)}`);
    return {
      openTime: Number(row.timestamp) * 1000,
      open: decimal(row.open, 'open'),
      high: decimal(row.high, 'high'),
      low: decimal(row.low, 'low'),
      close: decimal(row.close, 'close'),
      volume: decimal(row.volume, 'volume'),
    };
  } catch (err) {
    throw new Error(`bitstamp: ohlc row ${index}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Bitstamp's error body, `{"status":"error","reason":...,"code":...}`, as a message; undefined for another body. */
function errorOf(body: unknown): string | undefined {
  return isObject(body) && body.status === 'error' ? `${String(body.code)}: ${JSON.stringify(body.reason)}` : undefined;
}

/** Bitstamp spot klines: `/api/v2/ohlc/<pair>/`, 1000 a page, base volume only. */
export const bitstampKlines: KlineProtocol = {
  exchange: 'bitstamp',
  defaultRestUrl: 'https://www.bitstamp.net',
  intervals: INTERVALS,
  maxPerRequest: MAX_PER_REQUEST,
  optionalFields: [],
  limits: bitstampRestLimits,
  toExchangeSymbol: bitstampSymbol,
  pageRequest(query: KlinePageQuery): RestRequest {
    const step = INTERVALS[query.interval];
    if (step === undefined) throw new Error(`bitstamp: no ${query.interval} klines`);
    const { to, limit } = pageSpan(query, MAX_PER_REQUEST);
    return { path: `/api/v2/ohlc/${query.exchangeSymbol}/`, params: { step, limit, start: Math.floor(query.from / 1000), end: Math.floor(to / 1000) } };
  },
  parsePage(body: unknown): Kline[] {
    const error = errorOf(body);
    if (error !== undefined) throw new Error(`bitstamp: ohlc refused: ${error}`);
    const ohlc = isObject(body) && isObject(body.data) ? body.data.ohlc : undefined;
    if (!Array.isArray(ohlc)) throw new Error(`bitstamp: ohlc answer has no data.ohlc array: ${JSON.stringify(body).slice(0, 200)}`);
    return ohlc.map(parseBitstampKline).sort((a, b) => a.openTime - b.openTime);
  },
  health: {
    // Bitstamp has no status endpoint; the pair list answering shows the API is up (as Coinbase's
    // `/time`), and during maintenance it fails like every other endpoint.
    request: { path: '/api/v2/trading-pairs-info/', params: {} },
    parse(body: unknown): ProviderHealth {
      const error = errorOf(body);
      if (error !== undefined) return { ok: false, reason: error };
      if (!Array.isArray(body)) throw new Error(`bitstamp: trading-pairs-info answered with no array: ${JSON.stringify(body).slice(0, 200)}`);
      return { ok: true };
    },
  },
};
