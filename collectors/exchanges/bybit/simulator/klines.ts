/**
 * Bybit v5's `GET /v5/market/kline` and `GET /v5/system/status` as the simulator serves them,
 * from the shared simulated kline history (bybit-exchange/docs docs/v5/market/kline.mdx,
 * system-status.mdx, enum.mdx, error.mdx, rate-limit/rate-limit.mdx).
 */
import type { SimulatedKline, SimulatedKlines } from '../../../simulator/kline-source.js';
import type { RequestBudget } from '../../../simulator/request-budget.js';
import { alignDown } from '../../../klines/open-times.js';
import type { RestAnswer } from '../../../simulator/server.js';
import { alignUp } from '../../../klines/open-times.js';
import type { MaintenanceWindows } from '../../../simulator/maintenance.js';

const MINUTE = 60_000;

/** Bybit interval names the simulator serves, in ms; `M` (months) it cannot build and refuses like an unknown one. */
const INTERVAL_MS: Readonly<Record<string, number>> = {
  '1': MINUTE, '3': 3 * MINUTE, '5': 5 * MINUTE, '15': 15 * MINUTE, '30': 30 * MINUTE,
  '60': 60 * MINUTE, '120': 120 * MINUTE, '240': 240 * MINUTE, '360': 360 * MINUTE, '720': 720 * MINUTE,
  D: 1440 * MINUTE, W: 7 * 1440 * MINUTE,
};

// kline.mdx: limit "[1, 1000]. Default: 200".
const DEFAULT_LIMIT = 200;
const MAX_LIMIT = 1000;

/**
 * How the simulator refuses a request over the rate limit. rate-limit.mdx: over the per-IP
 * limit (600 requests per 5 s) Bybit answers HTTP 403 "access too frequent" — the limit public
 * market data is under; over the per-UID API limit it answers 200 with retCode 10006 "Too many visits!".
 */
export type BybitRateLimitRefusal = 'http-403' | 'retcode-10006';

/** A REST answer that may be plain text instead of JSON. */
export interface BybitRestAnswer extends RestAnswer {
  /** Sent as text/plain instead of `body` as JSON. */
  text?: string;
}

/** What a Bybit kline answer needs from its simulator. */
export interface BybitKlineSource {
  klines: SimulatedKlines;
  /** Whether a spot symbol (Bybit spelling) is listed. */
  lists(symbol: string): boolean;
  budget: RequestBudget;
  refusal: BybitRateLimitRefusal;
  maintenance: MaintenanceWindows;
}

/** The v5 envelope, keys in the recorded order (rest_kline_spot_BTCUSDT_D_2025-04-29.json). */
function envelope(retCode: number, retMsg: string, result: unknown, now: number): BybitRestAnswer {
  return { status: 200, body: { retCode, retMsg, result, retExtInfo: {}, time: now } };
}

/** "95009.90000000" → "95009.9", as Bybit spot prints decimals. */
function bybitDecimal(value: number): string {
  return value.toFixed(8).replace(/\.?0+$/, '');
}

/** A row `[startTime, open, high, low, close, volume, turnover]`. */
function bybitRow(candle: SimulatedKline): string[] {
  const d = bybitDecimal;
  return [String(candle.openTime), d(candle.open), d(candle.high), d(candle.low), d(candle.close), d(candle.volume), d(candle.quoteVolume)];
}

/** The answer to one kline request. */
export function answerBybitKline(url: URL, source: BybitKlineSource, now = Date.now()): BybitRestAnswer {
  // error.mdx: 10016 "Server error." / "Service is restarting" — what a request meets during maintenance.
  if (source.maintenance.ongoing()) return envelope(10016, 'Server error.', {}, now);
  if (source.budget.spend(1, now) !== undefined) {
    return source.refusal === 'http-403' ? { status: 403, body: undefined, text: 'access too frequent' } : envelope(10006, 'Too many visits!', {}, now);
  }
  const params = url.searchParams;
  // category is optional and means linear when absent; the simulator lists spot pairs only.
  const category = params.get('category') ?? 'linear';
  if (!['spot', 'linear', 'inverse'].includes(category)) return envelope(10001, 'params error: category is invalid', {}, now);
  const symbol = params.get('symbol');
  if (!symbol) return envelope(10001, 'params error: symbol is required', {}, now);
  // Quoted by ccxt (bybit.js exceptions): {"retCode":10001,"retMsg":"Not supported symbols"}.
  if (category !== 'spot' || !source.lists(symbol)) return envelope(10001, 'Not supported symbols', {}, now);
  // As clients quote it for an interval Bybit does not have: {"retCode":10001,"retMsg":"Invalid period!"}.
  const intervalMs = INTERVAL_MS[params.get('interval') ?? ''];
  if (intervalMs === undefined) return envelope(10001, 'Invalid period!', {}, now);
  const limitText = params.get('limit');
  const limit = limitText === null ? DEFAULT_LIMIT : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) return envelope(10001, 'params error: limit must be in [1, 1000]', {}, now);
  const bounds: Partial<Record<'start' | 'end', number>> = {};
  for (const name of ['start', 'end'] as const) {
    const text = params.get(name);
    if (text === null) continue;
    if (!/^\d{1,15}$/.test(text)) return envelope(10001, `params error: ${name} is invalid`, {}, now);
    bounds[name] = Number(text);
  }

  // Open times in [start, end], both inclusive (the docs' example), the newest `limit` of them, newest first.
  const last = alignDown(Math.min(bounds.end ?? now, now), intervalMs);
  const first = bounds.start !== undefined ? alignUp(bounds.start, intervalMs) : Number.NEGATIVE_INFINITY;
  const from = Math.max(first, last - (limit - 1) * intervalMs);
  const candles = from > last ? [] : source.klines.range(symbol, intervalMs, from, last, now);
  return envelope(0, 'OK', { category: 'spot', symbol, list: candles.reverse().map(bybitRow) }, now);
}

const STATES = new Set(['scheduled', 'ongoing', 'completed', 'canceled']);

/** The answer to `/v5/system/status`: each maintenance window as a spot trading and market-data one. */
export function answerBybitSystemStatus(url: URL, maintenance: MaintenanceWindows, now = Date.now()): BybitRestAnswer {
  const state = url.searchParams.get('state');
  if (state !== null && !STATES.has(state)) return envelope(10001, 'params error: state is invalid', {}, now);
  // Newest first, as in the docs' example.
  const list = [...maintenance.windows]
    .reverse()
    .map((w) => ({
      // Keys and value types as in the docs' example (maintainType and env are numbers there).
      id: w.id, title: 'Spot system maintenance', state: w.end === undefined ? 'ongoing' : 'completed', begin: String(w.begin),
      end: String(w.end ?? w.begin + 60 * MINUTE), href: '', serviceTypes: [1, 5], product: [2], uidSuffix: [], maintainType: 1, env: 1,
    }))
    .filter((event) => state === null || event.state === state);
  return { status: 200, body: { retCode: 0, retMsg: '', result: { list }, retExtInfo: {}, time: now } };
}
