import type { Kline } from '../../klines/kline.js';
import { pageSpan, type KlinePageQuery, type KlineProtocol, type ProviderHealth, type RestRequest } from '../../klines/protocol.js';
import { decimal, isObject } from '../../trades/wire.js';
import { okxRestLimits } from './rest-limits.js';
import { okxConnection } from './connection.js';

// OKX v5 docs "GET / Candlesticks" and "GET / Candlesticks history" (crawled 2026-07):
// - /api/v5/market/candles "can retrieve the latest 1,440 data entries", limit ≤ 300, 40 req / 2 s;
// - /api/v5/market/history-candles serves older ones, 20 req / 2 s; its limit was documented as
//   ≤ 100 and is ≤ 300 in the 2026 copy. 100 a page is valid under both, so one page size serves
//   both endpoints (the poller never asks for more than maxPerRequest);
// - `after`: "records earlier than the requested ts", `before`: "records newer than the
//   requested ts", both exclusive; together they bound the page from both sides;
// - rows [ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm], all strings, newest first; for
//   SPOT `vol` is in base currency and `volCcyQuote` in quote currency; confirm "0" is the candle
//   still open (kept: the poller rewrites it until it closes).
const MAX_PER_REQUEST = 100;
const RECENT_CANDLES = 1440;
// Asks history-candles a little before the 1440th candle, so a page never straddles the edge of
// the recent window while it moves on.
const RECENT_MARGIN = 40;
const MILLIS = /^\d{1,15}$/;

/**
 * Unified → OKX bar names. From 6h up the `utc` bars: the plain ones open on Hong Kong time
 * (1D at 16:00 UTC), off the UTC grid the poller aligns to.
 */
const BARS: Readonly<Record<string, string>> = {
  '1m': '1m', '3m': '3m', '5m': '5m', '15m': '15m', '30m': '30m',
  '1h': '1H', '2h': '2H', '4h': '4H', '6h': '6Hutc', '12h': '12Hutc',
  '1d': '1Dutc', '1w': '1Wutc',
};

/**
 * Service types whose ongoing maintenance stops spot market data (docs "GET / Status"):
 * 0 WebSocket, 5 Trading service, and 1, which older docs listed as Spot/Margin. Block trading,
 * bots, copy and spread trading, and upgrades in batches of accounts leave public data alone.
 */
const MARKET_SERVICE_TYPES = new Set(['0', '1', '5']);

/** A ms timestamp OKX sends as a digit string. */
function millis(value: unknown, field: string): number {
  if (typeof value !== 'string' || !MILLIS.test(value)) throw new Error(`${field} is not a millisecond timestamp string: ${JSON.stringify(value)}`);
  return Number(value);
}

/** One candles row as a Kline; throws naming the row and field. */
export function parseOkxCandle(row: unknown, index: number): Kline {
  try {
    if (!Array.isArray(row) || row.length < 7) throw new Error(`not an array of at least 7 fields: ${JSON.stringify(row)}`);
    return {
      openTime: millis(row[0], 'ts'),
      open: decimal(row[1], 'o (open)'),
      high: decimal(row[2], 'h (high)'),
      low: decimal(row[3], 'l (low)'),
      close: decimal(row[4], 'c (close)'),
      volume: decimal(row[5], 'vol'),
      // Rows from before volCcyQuote existed carry the quote volume of a spot pair in volCcy.
      quoteVolume: row.length > 7 ? decimal(row[7], 'volCcyQuote') : decimal(row[6], 'volCcy'),
    };
  } catch (err) {
    throw new Error(`okx: candles row ${index}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The `{code, msg, data}` envelope's data array; throws naming the code and message of an error. */
function okxData(body: unknown, what: string): unknown[] {
  if (!isObject(body) || typeof body.code !== 'string') throw new Error(`okx: ${what} answer is not a {code, msg, data} envelope: ${JSON.stringify(body).slice(0, 200)}`);
  if (body.code !== '0') throw new Error(`okx: ${what} refused: code ${body.code}: ${String(body.msg)}`);
  if (!Array.isArray(body.data)) throw new Error(`okx: ${what} answer has no data array: ${JSON.stringify(body).slice(0, 200)}`);
  return body.data;
}

/** OKX spot candles: recent ones from `candles`, older ones from `history-candles`, 100 a page. */
export const okxKlines: KlineProtocol = {
  exchange: 'okx',
  defaultRestUrl: 'https://www.okx.com',
  intervals: BARS,
  maxPerRequest: MAX_PER_REQUEST,
  optionalFields: ['quote_volume'],
  limits: okxRestLimits,

  toExchangeSymbol: (symbol) => okxConnection.toExchangeSymbol(symbol),

  pageRequest(query: KlinePageQuery): RestRequest {
    const bar = BARS[query.interval];
    if (bar === undefined) throw new Error(`okx: no ${query.interval} candles`);
    const { to, limit } = pageSpan(query, MAX_PER_REQUEST);
    const recent = query.from > query.now - (RECENT_CANDLES - RECENT_MARGIN) * query.intervalMs;
    return {
      path: recent ? '/api/v5/market/candles' : '/api/v5/market/history-candles',
      // Exclusive bounds one ms outside the wanted open times.
      params: { instId: query.exchangeSymbol, bar, after: String(to + 1), before: String(query.from - 1), limit: String(limit) },
      // The bucket is sized for history-candles' 20 per 2 s; candles allows twice that.
      weight: recent ? 0.5 : 1,
    };
  },

  parsePage(body: unknown): Kline[] {
    return okxData(body, 'candles').map(parseOkxCandle).sort((a, b) => a.openTime - b.openTime);
  },

  health: {
    // docs "GET / Status": without `state` it lists scheduled, ongoing and pre_open maintenance;
    // 1 request per 5 s, far above how often the health gate asks.
    request: { path: '/api/v5/system/status', params: {} },
    parse(body: unknown): ProviderHealth {
      for (const event of okxData(body, 'system status')) {
        if (!isObject(event) || event.state !== 'ongoing' || !MARKET_SERVICE_TYPES.has(String(event.serviceType))) continue;
        const end = typeof event.end === 'string' && MILLIS.test(event.end) ? ` until ${new Date(Number(event.end)).toISOString()}` : '';
        return { ok: false, reason: `maintenance: ${String(event.title)} (serviceType ${String(event.serviceType)})${end}` };
      }
      return { ok: true };
    },
  },
};
