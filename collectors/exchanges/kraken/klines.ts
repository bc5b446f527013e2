import type { Kline } from '../../klines/kline.js';
import type { KlinePageQuery, KlineProtocol, ProviderHealth } from '../../klines/protocol.js';
import { decimal, isObject } from '../../trades/wire.js';
import { krakenRestLimits } from './rest-limits.js';
import { krakenRestPair } from './trade-history.js';
import { krakenConnection } from './connection.js';

// Kraken spot REST "Get OHLC Data" (docs.kraken.com api-reference/market-data/get-ohlc-data;
// rest_OHLC_XBTUSDT_1m_2025-11.json): GET /0/public/OHLC?pair=&interval=<minutes>&since=<s>.
// - {"error":[],"result":{"<pair key>":[[time, "o", "h", "l", "c", "vwap", "volume", count], ...],
//   "last": <s>}}, oldest first; the key is Kraken's own (XXBTZUSD for XBTUSD), beside `last`;
// - "Returns up to 720 of the most recent entries (older data cannot be retrieved, regardless of
//   the value of since)", and "the last entry ... is for the current, not-yet-committed timeframe,
//   and will always be present" (the recording: 720 committed rows plus the open one);
// - `since` returns the candles after it (ccxt asks since = wanted − one interval, and
//   ccxt#22607 shows since=04:02:28 giving 05:00 first), so a page asks from one interval back;
// - empty minutes come as flat rows with vwap "0.0", volume "0.00000000" and count 0.
const MAX_HISTORY = 720;

// Minutes per unified interval (docs: 1, 5, 15, 30, 60, 240, 1440, 10080, 21600). 10080 (1w) is
// left out: Kraken's weeks are epoch-aligned and open on Thursdays 00:00 UTC, while the poller
// aligns weekly candles to Mondays, so every Kraken week would look misplaced. 21600 is 15 days
// on the same epoch grid the poller uses for `15d`.
const INTERVALS: Readonly<Record<string, string>> = { '1m': '1', '5m': '5', '15m': '15', '30m': '30', '1h': '60', '4h': '240', '1d': '1440', '15d': '21600' };

/** One `[time, open, high, low, close, vwap, volume, count]` row as a Kline, checked to open on the query's interval grid. */
export function parseKrakenCandle(row: unknown, intervalMs: number): Kline {
  if (!Array.isArray(row) || row.length < 8) throw new Error(`kraken: OHLC entry is not a [time, open, high, low, close, vwap, volume, count] array: ${JSON.stringify(row)}`);
  const [time, open, high, low, close, vwap, volume, count] = row as unknown[];
  if (typeof time !== 'number' || !Number.isSafeInteger(time) || time < 0) throw new Error(`kraken: OHLC time is not whole seconds: ${JSON.stringify(row)}`);
  const openTime = time * 1000;
  if (openTime % intervalMs !== 0) throw new Error(`kraken: OHLC entry at ${new Date(openTime).toISOString()} does not open on the ${intervalMs / 60_000} min grid`);
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) throw new Error(`kraken: OHLC count is not a whole number: ${JSON.stringify(row)}`);
  const base = decimal(volume, 'kraken OHLC volume');
  return {
    openTime,
    open: decimal(open, 'kraken OHLC open'),
    high: decimal(high, 'kraken OHLC high'),
    low: decimal(low, 'kraken OHLC low'),
    close: decimal(close, 'kraken OHLC close'),
    volume: base,
    // Kraken gives no quote volume; vwap × volume is it, up to vwap's rounding to the pair's price
    // decimals (XBTUSDT: 0.1, rest_AssetPairs_XBTUSDT.json), i.e. within half a tick per unit of
    // volume (5e-7 relative for BTC). Storing it keeps vwap recoverable as quote_volume / volume.
    quoteVolume: decimal(vwap, 'kraken OHLC vwap') * base,
    trades: count,
  };
}

/** The error list of a Kraken answer; throws naming the endpoint when the body is not `{error: [...]}`. */
function krakenErrors(body: unknown, endpoint: string): string[] {
  if (!isObject(body) || !Array.isArray(body.error)) throw new Error(`kraken: ${endpoint} answer is not {error, result}: ${JSON.stringify(body).slice(0, 200)}`);
  return body.error.map(String);
}

/** Kraken spot OHLC: the 720 most recent candles of an interval after `since`, flat rows where nothing traded. */
export const krakenKlines: KlineProtocol = {
  exchange: 'kraken',
  defaultRestUrl: 'https://api.kraken.com',
  intervals: INTERVALS,
  // One answer holds every candle Kraken still has, so a page is the whole history.
  maxPerRequest: MAX_HISTORY,
  maxHistoryCandles: MAX_HISTORY,
  optionalFields: ['quote_volume', 'trades'],
  limits: krakenRestLimits,

  toExchangeSymbol(symbol: string): string {
    // The trade hooks' checks (BASE-QUOTE, BTC not XBT), then REST's altname: BTC-USD → XBTUSD.
    return krakenRestPair(krakenConnection.toExchangeSymbol(symbol));
  },

  pageRequest(query: KlinePageQuery) {
    const intervalSeconds = query.intervalMs / 1000;
    // `to` needs no parameter: the answer runs to the open candle and the poller keeps [from, to].
    return {
      path: '/0/public/OHLC',
      params: { pair: query.exchangeSymbol, interval: intervalSeconds / 60, since: Math.max(0, query.from / 1000 - intervalSeconds) },
    };
  },

  parsePage(body: unknown, query: KlinePageQuery): Kline[] {
    const errors = krakenErrors(body, 'OHLC');
    // 200 with e.g. ["EQuery:Unknown asset pair"], ["EService:Unavailable"], ["EService:Busy"].
    if (errors.length > 0) throw new Error(`kraken: OHLC refused: ${errors.join(', ')}`);
    const result = (body as { result?: unknown }).result;
    if (!isObject(result)) throw new Error(`kraken: OHLC answer has no result object: ${JSON.stringify(body).slice(0, 200)}`);
    // Keyed by Kraken's pair key, which may differ from the pair asked for (XBTUSD → XXBTZUSD).
    const keys = Object.keys(result).filter((key) => key !== 'last');
    if (keys.length !== 1) throw new Error(`kraken: OHLC result for ${query.exchangeSymbol} should hold one pair beside "last", has ${JSON.stringify(keys)}`);
    const rows = result[keys[0]!];
    if (!Array.isArray(rows)) throw new Error(`kraken: OHLC result ${keys[0]} is not an array`);
    return rows.map((row) => parseKrakenCandle(row, query.intervalMs)).sort((a, b) => a.openTime - b.openTime);
  },

  health: {
    request: { path: '/0/public/SystemStatus', params: {} },
    // Only `maintenance` stops polling ("Markets are offline"). `cancel_only` and `post_only` stop
    // order matching, not the public market data: OHLC still answers, with flat candles, and
    // recording those is right. Any other state (older docs list `limit_only`) is read the same way.
    parse(body: unknown): ProviderHealth {
      const errors = krakenErrors(body, 'SystemStatus');
      if (errors.length > 0) return { ok: false, reason: errors.join(', ') };
      const result = (body as { result?: unknown }).result;
      if (!isObject(result) || typeof result.status !== 'string') throw new Error(`kraken: SystemStatus answer has no status: ${JSON.stringify(body).slice(0, 200)}`);
      if (result.status === 'maintenance') return { ok: false, reason: `system status maintenance${typeof result.timestamp === 'string' ? ` (at ${result.timestamp})` : ''}` };
      return { ok: true };
    },
  },
};
