/**
 * Gate's `GET /api/v4/spot/candlesticks` as the simulator serves it, from the shared simulated kline
 * history (docs_examples_protocol.json rest_spot_candlesticks and its note; rows as in
 * rest_candlesticks_BTC_USDT_1h_limit1_2024-03-13_ccxt.json).
 */
import type { SimulatedKline, SimulatedKlines } from '../../../simulator/kline-source.js';
import type { RequestBudget } from '../../../simulator/request-budget.js';
import { alignDown } from '../../../klines/open-times.js';
import type { RestAnswer } from '../../../simulator/server.js';
import { gateError } from './history.js';

const MINUTE = 60_000;
const INTERVAL_MS: Readonly<Record<string, number>> = {
  '1m': MINUTE, '5m': 5 * MINUTE, '15m': 15 * MINUTE, '30m': 30 * MINUTE, '1h': 60 * MINUTE, '4h': 240 * MINUTE, '8h': 480 * MINUTE, '1d': 1440 * MINUTE,
};
// "Maximum of 1000 points can be returned in a query"; limit defaults to 100.
const MAX_POINTS = 1000;
const DEFAULT_LIMIT = 100;

/** "65000.12000000" → "65000.12", "0.00000000" → "0". */
function gateNumber(value: number): string {
  return value.toFixed(8).replace(/\.?0+$/, '');
}

/** A row [t (s), quote volume, close, high, low, open, base volume, closed]. */
function gateRow(candle: SimulatedKline, intervalMs: number, now: number): string[] {
  const closed = candle.openTime + intervalMs <= now ? 'true' : 'false';
  return [
    String(candle.openTime / 1000), gateNumber(candle.quoteVolume), gateNumber(candle.close), gateNumber(candle.high),
    gateNumber(candle.low), gateNumber(candle.open), gateNumber(candle.volume), closed,
  ];
}

/** Unix seconds (NaN when malformed), or undefined when absent. */
function seconds(url: URL, name: string): number | undefined {
  const text = url.searchParams.get(name);
  if (text === null) return undefined;
  return /^\d{1,12}$/.test(text) ? Number(text) * 1000 : NaN;
}

/** The answer to one candlesticks request; `lists` says whether Gate lists a pair. */
export function answerGateCandles(url: URL, klines: SimulatedKlines, lists: (pair: string) => boolean, budget: RequestBudget, now = Date.now()): RestAnswer {
  if (budget.spend(1, now) !== undefined) return gateError(429, 'TOO_MANY_REQUESTS', 'Request Rate limit Exceeded');
  const pair = url.searchParams.get('currency_pair');
  if (!pair) return gateError(400, 'MISSING_REQUIRED_PARAM', 'Missing required parameter: currency_pair');
  if (!lists(pair)) return gateError(400, 'INVALID_CURRENCY_PAIR', `Invalid currency pair ${pair}`);
  const intervalMs = INTERVAL_MS[url.searchParams.get('interval') ?? '30m'];
  if (intervalMs === undefined) return gateError(400, 'INVALID_PARAM_VALUE', `Invalid interval ${String(url.searchParams.get('interval'))}`);
  const from = seconds(url, 'from');
  const to = seconds(url, 'to');
  if (Number.isNaN(from) || Number.isNaN(to)) return gateError(400, 'INVALID_PARAM_VALUE', 'Invalid from or to');
  const limitText = url.searchParams.get('limit');
  // docs: "limit conflicts with from and to. If either from or to is specified, request will be rejected."
  if (limitText !== null && (from !== undefined || to !== undefined)) return gateError(400, 'INVALID_PARAM_VALUE', 'limit conflicts with from and to');
  const limit = limitText === null ? DEFAULT_LIMIT : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_POINTS) return gateError(400, 'INVALID_PARAM_VALUE', `Invalid limit ${String(limitText)}`);
  const last = alignDown(Math.min(to ?? now, now), intervalMs);
  // docs: from defaults to `to - 100 * interval`.
  const first = from ?? last - (DEFAULT_LIMIT - 1) * intervalMs;
  const start = limitText !== null ? last - (limit - 1) * intervalMs : first;
  if ((last - start) / intervalMs + 1 > MAX_POINTS) return gateError(400, 'INVALID_PARAM_VALUE', `Candlestick too long ago. Maximum ${MAX_POINTS} points ago are allowed`);
  const candles = start > last ? [] : klines.range(pair, intervalMs, start, last, now);
  return { status: 200, body: candles.map((c) => gateRow(c, intervalMs, now)) };
}
