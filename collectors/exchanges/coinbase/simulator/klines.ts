/**
 * Coinbase Exchange's `GET /products/<id>/candles` as the simulator serves it, from the shared
 * simulated kline history (collectors/simulator/kline-source.ts, empty buckets left out as
 * Coinbase does): rows [time, low, high, open, close, volume] newest first, at most 300 per
 * request, and the refusals the real API answers with.
 */
import type { SimulatedKlines } from '../../../simulator/kline-source.js';
import type { RequestBudget } from '../../../simulator/request-budget.js';
import type { RestAnswer } from '../../../simulator/server.js';

/** One candle row as Coinbase prints it (rest_candles_BTC-USD_60s_first2rows_2026-06-19.json): numbers, low and high first. */
export type CoinbaseCandleRow = [time: number, low: number, high: number, open: number, close: number, volume: number];

/** What the REST routes need to serve candles and maintenance (rest.ts). */
export interface CoinbaseMarketRoutes {
  /** The answer to `/products/<id>/candles` for a listed product. */
  candles(id: string, url: URL): RestAnswer;
  /** True during a maintenance window: every route answers `maintenanceAnswer`. */
  maintenance(): boolean;
}

// docs "Get product candles": granularity one of these, at most 300 candles per request.
const GRANULARITIES: ReadonlySet<number> = new Set([60, 300, 900, 3600, 21600, 86400]);
const MAX_CANDLES = 300;

/**
 * What every route answers during maintenance. Coinbase documents no maintenance answer for the
 * Exchange API; a 503 is assumed (what its load balancers send when the service is down).
 */
export const maintenanceAnswer: RestAnswer = { status: 503, body: { message: 'Service Unavailable' } };

/** `start`/`end` as ms: ISO-8601 (what the docs and our client send) or unix seconds; NaN when unreadable. */
function timeParam(text: string): number {
  return /^\d+(\.\d+)?$/.test(text) ? Number(text) * 1000 : Date.parse(text);
}

/** The answer to one candles request for a listed product. */
export function answerCandles(url: URL, id: string, klines: SimulatedKlines, budget: RequestBudget, now = Date.now()): RestAnswer {
  // Public endpoints: 10 requests per second per IP; over it HTTP 429 {"message":"Public rate limit exceeded"}.
  if (budget.spend(1) !== undefined) return { status: 429, body: { message: 'Public rate limit exceeded' } };
  const granularity = Number(url.searchParams.get('granularity') ?? 'none');
  // The message of the real API for a granularity outside the set (coinbasepro-python#210).
  if (!GRANULARITIES.has(granularity)) return { status: 400, body: { message: 'Unsupported granularity' } };
  const intervalMs = granularity * 1000;
  const startText = url.searchParams.get('start');
  const endText = url.searchParams.get('end');
  let from: number;
  let to: number;
  if (startText && endText) {
    from = timeParam(startText);
    to = timeParam(endText);
    // Wording assumed: Coinbase's answer to an unreadable or reversed range is not documented.
    if (Number.isNaN(from)) return { status: 400, body: { message: 'Invalid start' } };
    if (Number.isNaN(to) || to < from) return { status: 400, body: { message: 'Invalid end' } };
    const first = Math.ceil(from / intervalMs) * intervalMs;
    const last = Math.floor(to / intervalMs) * intervalMs;
    if ((last - first) / intervalMs + 1 > MAX_CANDLES) {
      return { status: 400, body: { message: 'granularity too small for the requested time range. Count of aggregations requested exceeds 300' } };
    }
  } else {
    // "If the start or end fields are not provided, both fields are ignored" and a range ending now is served.
    to = now;
    from = (Math.floor(now / intervalMs) - (MAX_CANDLES - 1)) * intervalMs;
  }
  const rows = klines
    .range(id, intervalMs, from, to, now)
    .reverse()
    .map((k): CoinbaseCandleRow => [k.openTime / 1000, k.low, k.high, k.open, k.close, k.volume]);
  return { status: 200, body: rows };
}
