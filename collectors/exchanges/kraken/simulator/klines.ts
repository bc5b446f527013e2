/**
 * Kraken's `GET /0/public/OHLC` and `/0/public/SystemStatus` as the simulator serves them, from the
 * shared simulated kline history (collectors/simulator/kline-source.ts, flat candles where nothing
 * traded as Kraken does): only the most recent candles of an interval, after `since`, oldest
 * first, and the refusals Kraken answers with (200 with an `error` list).
 */
import type { SimulatedKlines } from '../../../simulator/kline-source.js';
import type { RequestBudget } from '../../../simulator/request-budget.js';
import type { RestAnswer } from '../../../simulator/server.js';

/** One OHLC entry as Kraken prints it (rest_OHLC_XBTUSDT_1m_2025-11.json): decimals as strings, count a number. */
export type KrakenOhlcRow = [time: number, open: string, high: string, low: string, close: string, vwap: string, volume: string, count: number];

/** What the REST routes need to serve OHLC, the system status and maintenance (rest.ts). */
export interface KrakenMarketRoutes {
  /** The answer to `/0/public/OHLC` for a listed pair: its v2 symbol and REST result key. */
  ohlc(symbol: string, key: string, url: URL): RestAnswer;
  /** True during a maintenance window. */
  maintenance(): boolean;
}

// docs "Get OHLC Data": interval in minutes, one of these (default 1).
const INTERVALS: ReadonlySet<number> = new Set([1, 5, 15, 30, 60, 240, 1440, 10080, 21600]);
// "Returns up to 720 of the most recent entries"; the open candle comes on top of them (the
// recording holds 721 rows: 720 committed and the current one).
const COMMITTED = 720;

/** During maintenance market-data calls fail with EService:Unavailable (support.kraken.com "API error messages", service status errors). */
export const unavailableAnswer: RestAnswer = { status: 200, body: { error: ['EService:Unavailable'] } };

/** `/0/public/SystemStatus` (rest_SystemStatus.json): `maintenance` during a maintenance window, else `online`. */
export function answerSystemStatus(maintenance: boolean, now = Date.now()): RestAnswer {
  const timestamp = new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return { status: 200, body: { error: [], result: { status: maintenance ? 'maintenance' : 'online', timestamp } } };
}

/** Prices with the simulator's 2 pair decimals (AssetPairs pair_decimals), as Kraken prints OHLC prices. */
const price = (x: number): string => x.toFixed(2);

/**
 * The answer to one OHLC request for a listed pair (`key` its REST result key, `symbol` its v2
 * symbol in the kline history): the open candle and the 720 before it, those after `since`.
 */
export function answerOhlc(url: URL, symbol: string, key: string, klines: SimulatedKlines, budget: RequestBudget, now = Date.now()): RestAnswer {
  // Public calls are limited per IP; Kraken refuses with 200 {"error":["EGeneral:Too many requests"]}.
  if (budget.spend(1) !== undefined) return { status: 200, body: { error: ['EGeneral:Too many requests'] } };
  const interval = Number(url.searchParams.get('interval') ?? '1');
  if (!INTERVALS.has(interval)) return { status: 200, body: { error: ['EGeneral:Invalid arguments'] } };
  const sinceText = url.searchParams.get('since');
  if (sinceText !== null && sinceText !== '' && !/^\d+(\.\d+)?$/.test(sinceText)) return { status: 200, body: { error: ['EGeneral:Invalid arguments:since'] } };
  const since = sinceText ? Number(sinceText) * 1000 : Number.NEGATIVE_INFINITY;
  const intervalMs = interval * 60_000;
  const current = Math.floor(now / intervalMs) * intervalMs;
  const rows = klines
    .range(symbol, intervalMs, current - COMMITTED * intervalMs, current, now)
    // The open candle "will always be present, regardless of the value of since".
    .filter((k) => k.openTime > since || k.openTime === current)
    .map((k): KrakenOhlcRow => {
      const vwap = k.volume > 0 ? price(k.quoteVolume / k.volume) : '0.00';
      return [k.openTime / 1000, price(k.open), price(k.high), price(k.low), price(k.close), vwap, k.volume.toFixed(8), k.trades];
    });
  // `last`: "ID to be used as since when polling for new, committed OHLC data": the newest committed open time.
  return { status: 200, body: { error: [], result: { [key]: rows, last: (current - intervalMs) / 1000 } } };
}
