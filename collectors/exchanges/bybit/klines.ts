import type { Kline } from '../../klines/kline.js';
import { pageSpan, type KlinePageQuery, type KlineProtocol, type ProviderHealth, type RestRequest } from '../../klines/protocol.js';
import { decimal, isObject } from '../../trades/wire.js';
import { bybitRestLimits } from './rest-limits.js';
import { bybitConnection } from './connection.js';

// bybit-exchange/docs docs/v5/market/kline.mdx (072c197, 2026-07-24): GET /v5/market/kline,
// category (spot), symbol, interval, start, end (ms), limit [1, 1000] default 200; the list is
// "sorted in reverse by startTime"; rows [startTime, open, high, low, close, volume, turnover],
// all strings, volume in base coin and turnover in quote coin for spot. The docs' example asks
// start=…601600000&end=…608800000 at 60 and gets three candles, both ends: bounds are inclusive
// on open times.
const MAX_PER_REQUEST = 1000;
const MILLIS = /^\d{1,15}$/;

/** Unified → Bybit interval names (minutes, or D / W); `M` (months) is not a fixed length. */
const INTERVALS: Readonly<Record<string, string>> = {
  '1m': '1', '3m': '3', '5m': '5', '15m': '15', '30m': '30',
  '1h': '60', '2h': '120', '4h': '240', '6h': '360', '12h': '720',
  '1d': 'D', '1w': 'W',
};

// docs/v5/enum.mdx: serviceTypes 1 Trading service, 5 Market data service (2–4 are order entry
// and private streams); product 2 Spot.
const MARKET_SERVICE_TYPES = [1, 5];
const SPOT_PRODUCT = 2;

/** A ms timestamp Bybit sends as a digit string. */
function millis(value: unknown, field: string): number {
  if (typeof value !== 'string' || !MILLIS.test(value)) throw new Error(`${field} is not a millisecond timestamp string: ${JSON.stringify(value)}`);
  return Number(value);
}

/** One kline row as a Kline; throws naming the row and field. */
export function parseBybitKline(row: unknown, index: number): Kline {
  try {
    if (!Array.isArray(row) || row.length < 7) throw new Error(`not an array of 7 fields: ${JSON.stringify(row)}`);
    return {
      openTime: millis(row[0], 'startTime'),
      open: decimal(row[1], 'openPrice'),
      high: decimal(row[2], 'highPrice'),
      low: decimal(row[3], 'lowPrice'),
      close: decimal(row[4], 'closePrice'),
      volume: decimal(row[5], 'volume'),
      quoteVolume: decimal(row[6], 'turnover'),
    };
  } catch (err) {
    throw new Error(`bybit: kline row ${index}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The v5 envelope's `result`; throws naming retCode and retMsg of an error. */
function bybitResult(body: unknown, what: string): Record<string, unknown> {
  if (!isObject(body) || typeof body.retCode !== 'number') throw new Error(`bybit: ${what} answer is not a {retCode, retMsg, result} envelope: ${JSON.stringify(body).slice(0, 200)}`);
  if (body.retCode !== 0) throw new Error(`bybit: ${what} refused: retCode ${body.retCode}: ${String(body.retMsg)}`);
  if (!isObject(body.result)) throw new Error(`bybit: ${what} answer has no result object: ${JSON.stringify(body).slice(0, 200)}`);
  return body.result;
}

/** Bybit v5 spot klines: 1000 a page, newest first, with turnover as quote volume. */
export const bybitKlines: KlineProtocol = {
  exchange: 'bybit',
  defaultRestUrl: 'https://api.bybit.com',
  intervals: INTERVALS,
  maxPerRequest: MAX_PER_REQUEST,
  optionalFields: ['quote_volume'],
  limits: bybitRestLimits,

  toExchangeSymbol: (symbol) => bybitConnection.toExchangeSymbol(symbol),

  pageRequest(query: KlinePageQuery): RestRequest {
    const interval = INTERVALS[query.interval];
    if (interval === undefined) throw new Error(`bybit: no ${query.interval} klines`);
    const { to, limit } = pageSpan(query, MAX_PER_REQUEST);
    // category is optional and defaults to linear: spot must be named.
    return { path: '/v5/market/kline', params: { category: 'spot', symbol: query.exchangeSymbol, interval, start: query.from, end: to, limit } };
  },

  parsePage(body: unknown): Kline[] {
    const { list } = bybitResult(body, 'kline');
    if (!Array.isArray(list)) throw new Error(`bybit: kline answer has no result.list array: ${JSON.stringify(body).slice(0, 200)}`);
    return list.map(parseBybitKline).sort((a, b) => a.openTime - b.openTime);
  },

  health: {
    // docs/v5/system-status.mdx: GET /v5/system/status lists maintenance events (scheduled,
    // ongoing, completed, canceled) with their serviceTypes and products.
    request: { path: '/v5/system/status', params: {} },
    parse(body: unknown): ProviderHealth {
      const { list } = bybitResult(body, 'system status');
      if (!Array.isArray(list)) throw new Error(`bybit: system status answer has no result.list array: ${JSON.stringify(body).slice(0, 200)}`);
      for (const event of list) {
        if (!isObject(event) || event.state !== 'ongoing') continue;
        const services = Array.isArray(event.serviceTypes) ? event.serviceTypes.map(Number) : [];
        const products = Array.isArray(event.product) ? event.product.map(Number) : [];
        // An event naming no product is taken to cover them all.
        if (!services.some((s) => MARKET_SERVICE_TYPES.includes(s)) || (products.length > 0 && !products.includes(SPOT_PRODUCT))) continue;
        const end = typeof event.end === 'string' && MILLIS.test(event.end) ? ` until ${new Date(Number(event.end)).toISOString()}` : '';
        return { ok: false, reason: `maintenance: ${String(event.title)}${end}` };
      }
      return { ok: true };
    },
  },
};
