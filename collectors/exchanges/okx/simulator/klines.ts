/**
 * OKX's `GET /api/v5/market/candles`, `/api/v5/market/history-candles` and `/api/v5/system/status`
 * as the simulator serves them, from the shared simulated kline history (OKX v5 docs "GET /
 * Candlesticks", "GET / Candlesticks history", "GET / Status", "Error Code — Public").
 */
import type { SimulatedKline, SimulatedKlines } from '../../../simulator/kline-source.js';
import type { RequestBudget } from '../../../simulator/request-budget.js';
import { alignDown } from '../../../klines/open-times.js';
import type { RestAnswer } from '../../../simulator/server.js';
import { alignUp } from '../../../klines/open-times.js';
import type { MaintenanceWindows } from '../../../simulator/maintenance.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * OKX bar names the simulator serves, in ms: the UTC-aligned ones. OKX also has `1s`, Hong Kong
 * time bars (6H, 12H, 1D, 2D, 3D, 1W, 1M, 3M) and months; the simulator's history cannot build
 * them and refuses them as OKX refuses an unknown bar.
 */
const BAR_MS: Readonly<Record<string, number>> = {
  '1m': MINUTE, '3m': 3 * MINUTE, '5m': 5 * MINUTE, '15m': 15 * MINUTE, '30m': 30 * MINUTE,
  '1H': HOUR, '2H': 2 * HOUR, '4H': 4 * HOUR, '6Hutc': 6 * HOUR, '12Hutc': 12 * HOUR,
  '1Dutc': DAY, '1Wutc': 7 * DAY,
};

/** The two candle endpoints: how many rows each serves and how far back. */
export const OKX_CANDLE_ENDPOINTS = {
  // "can retrieve the latest 1,440 data entries"; limit "The maximum is 300. The default is 100."
  candles: { maxLimit: 300, recentOnly: 1440 },
  // The docs said ≤ 100 before the 2026 copy's 300; the simulator keeps the stricter one.
  'history-candles': { maxLimit: 100, recentOnly: undefined },
} as const;

/** `candles` or `history-candles`. */
export type OkxCandleEndpoint = keyof typeof OKX_CANDLE_ENDPOINTS;

const DEFAULT_LIMIT = 100;

/** What an OKX candles answer needs from its simulator. */
export interface OkxKlineSource {
  klines: SimulatedKlines;
  /** Whether an instId is listed. */
  lists(instId: string): boolean;
  /** The endpoint's own request budget (OKX limits each endpoint per IP). */
  budget: RequestBudget;
  maintenance: MaintenanceWindows;
}

/** An OKX error envelope with its documented HTTP status. */
function error(status: number, code: string, msg: string): RestAnswer {
  return { status, body: { code, msg, data: [] } };
}

/** "65000.12000000" → "65000.12", "0.00000000" → "0": OKX prints decimals without trailing zeros. */
function okxDecimal(value: number): string {
  return value.toFixed(8).replace(/\.?0+$/, '');
}

/** A row `[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]`; for spot volCcy is the quote volume too. */
function okxRow(candle: SimulatedKline, intervalMs: number, now: number): string[] {
  const quote = okxDecimal(candle.quoteVolume);
  const confirm = candle.openTime + intervalMs <= now ? '1' : '0';
  return [String(candle.openTime), okxDecimal(candle.open), okxDecimal(candle.high), okxDecimal(candle.low), okxDecimal(candle.close), okxDecimal(candle.volume), quote, quote, confirm];
}

/** A cursor parameter: absent, or ms (NaN when malformed). */
function cursor(url: URL, name: string): number | undefined {
  const text = url.searchParams.get(name);
  if (text === null || text === '') return undefined;
  return /^\d{1,15}$/.test(text) ? Number(text) : NaN;
}

/** How market-data endpoints refuse a request during maintenance (error codes, General class: 50001, HTTP 503). */
export const OKX_MAINTENANCE_ANSWER: RestAnswer = error(503, '50001', 'Service temporarily unavailable. Please try again later.');

/** The answer to one candles or history-candles request. */
export function answerOkxCandles(url: URL, endpoint: OkxCandleEndpoint, source: OkxKlineSource, now = Date.now()): RestAnswer {
  if (source.maintenance.ongoing()) return OKX_MAINTENANCE_ANSWER;
  // 50011 comes as HTTP 429 "Too Many Requests" (or HTTP 200 with a longer message); no Retry-After.
  if (source.budget.spend(1, now) !== undefined) return error(429, '50011', 'Too Many Requests');
  const instId = url.searchParams.get('instId');
  if (!instId) return error(400, '50014', 'Parameter instId can not be empty.');
  if (!source.lists(instId)) return error(200, '51001', "Instrument ID, Instrument ID code or Spread ID doesn't exist.");
  const intervalMs = BAR_MS[url.searchParams.get('bar') ?? '1m'];
  if (intervalMs === undefined) return error(400, '51000', 'Parameter bar error');
  const { maxLimit, recentOnly } = OKX_CANDLE_ENDPOINTS[endpoint];
  const limitText = url.searchParams.get('limit');
  if (limitText !== null && !/^[1-9]\d*$/.test(limitText)) return error(400, '51000', 'Parameter limit error');
  // A larger limit is answered with the maximum, as measured on history-candles (not refused).
  const limit = Math.min(maxLimit, limitText === null ? DEFAULT_LIMIT : Number(limitText));
  const after = cursor(url, 'after');
  const before = cursor(url, 'before');
  if (Number.isNaN(after)) return error(400, '51000', 'Parameter after error');
  if (Number.isNaN(before)) return error(400, '51000', 'Parameter before error');

  // Open times strictly between before and after, the newest `limit` of them, newest first.
  const current = alignDown(now, intervalMs);
  const last = Math.min(current, after !== undefined ? alignDown(after - 1, intervalMs) : current);
  let first = before !== undefined ? alignUp(before + 1, intervalMs) : Number.NEGATIVE_INFINITY;
  if (recentOnly !== undefined) first = Math.max(first, current - (recentOnly - 1) * intervalMs);
  const from = Math.max(first, last - (limit - 1) * intervalMs);
  const candles = from > last ? [] : source.klines.range(instId, intervalMs, from, last, now);
  return { status: 200, body: { code: '0', msg: '', data: candles.reverse().map((c) => okxRow(c, intervalMs, now)) } };
}

const STATES = new Set(['scheduled', 'ongoing', 'pre_open', 'completed', 'canceled']);
// "If this parameter is not filled, the data with status scheduled, ongoing and pre_open will be returned by default".
const DEFAULT_STATES = new Set(['scheduled', 'ongoing', 'pre_open']);

/** The answer to `/api/v5/system/status`: each maintenance window as a Trading service (5) upgrade. */
export function answerOkxSystemStatus(url: URL, maintenance: MaintenanceWindows): RestAnswer {
  const state = url.searchParams.get('state');
  if (state !== null && !STATES.has(state)) return error(400, '51000', 'Parameter state error');
  const wanted = state === null ? DEFAULT_STATES : new Set([state]);
  const data = maintenance.windows
    .map((w) => ({
      // Keys in the docs example's order; the expected end of an ongoing window is an hour on.
      begin: String(w.begin), end: String(w.end ?? w.begin + HOUR), href: '', preOpenBegin: '', scheDesc: '', serviceType: '5',
      state: w.end === undefined ? 'ongoing' : 'completed', maintType: '1', env: '1', system: 'unified', title: 'Spot trading system upgrade',
    }))
    .filter((event) => wanted.has(event.state));
  return { status: 200, body: { code: '0', data, msg: '' } };
}
