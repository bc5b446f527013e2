/**
 * Binance spot's `GET /api/v3/klines` and `GET /sapi/v1/system/status` as the simulator serves
 * them (rest-api.md "Kline/Candlestick data", errors.md), from the shared simulated kline history.
 */
import { alignDown, alignUp } from '../../../klines/open-times.js';
import type { MaintenanceWindows } from '../../../simulator/maintenance.js';
import type { SimulatedKline, SimulatedKlines } from '../../../simulator/kline-source.js';
import type { RequestBudget } from '../../../simulator/request-budget.js';
import type { RestAnswer } from '../../../simulator/server.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;

/**
 * Binance interval names the simulator serves, in ms. `1M` is a Binance interval it cannot build
 * (months vary) and is refused as invalid. `1s` candles before the simulator started are minute
 * candles' numbers; from its start they are the trades of each second.
 */
const INTERVAL_MS: Readonly<Record<string, number>> = {
  '1s': 1000,
  '1m': MINUTE, '3m': 3 * MINUTE, '5m': 5 * MINUTE, '15m': 15 * MINUTE, '30m': 30 * MINUTE,
  '1h': HOUR, '2h': 2 * HOUR, '4h': 4 * HOUR, '6h': 6 * HOUR, '8h': 8 * HOUR, '12h': 12 * HOUR,
  '1d': DAY, '3d': 3 * DAY, '1w': WEEK,
};

// rest-api.md: "limit — Default: 500; Maximum: 1000", weight 2.
const DEFAULT_LIMIT = 500;
const MAX_LIMIT = 1000;
const WEIGHT = 2;
const MILLIS = /^[0-9]{1,20}$/;




/** What a Binance klines answer needs from its simulator. */
export interface BinanceKlineSource {
  klines: SimulatedKlines;
  /** Whether a symbol (Binance spelling) is listed. */
  lists(symbol: string): boolean;
  /** The REQUEST_WEIGHT budget shared with every other REST endpoint. */
  budget: RequestBudget;
  maintenance: MaintenanceWindows;
}

/** rest-api.md "LIMITS": over the weight limit → 429 with Retry-After and error -1003. */
function tooMuchWeight(budget: RequestBudget, retryAfter: number): RestAnswer {
  const per = budget.windowMs % 60_000 === 0 ? `${budget.windowMs / 60_000} MINUTE` : `${budget.windowMs / 1000} SECOND`;
  return {
    status: 429,
    headers: { 'Retry-After': String(retryAfter) },
    body: { code: -1003, msg: `Too much request weight used; current limit is ${budget.limit} request weight per ${per}. Please use WebSocket Streams for live updates to avoid polling the API.` },
  };
}

/** A kline row as Binance prints it (rest_klines_BTCUSDT_1m_2021-10-22.json): 8-decimal strings, times and count as numbers. */
function binanceRow(candle: SimulatedKline, intervalMs: number): unknown[] {
  const d = (x: number): string => x.toFixed(8);
  // The taker-buy split is not simulated: reported as 0.
  return [candle.openTime, d(candle.open), d(candle.high), d(candle.low), d(candle.close), d(candle.volume), candle.openTime + intervalMs - 1, d(candle.quoteVolume), candle.trades, d(0), d(0), '0'];
}

/**
 * How market-data endpoints refuse a request during maintenance: 5XX is "an issue on Binance's
 * side" (rest-api.md); the body is the one ccxt maps to OnMaintenance. No weight is counted.
 */
export const BINANCE_MAINTENANCE_ANSWER: RestAnswer = { status: 503, body: { code: 1, msg: 'System is under maintenance.' } };

/** The answer to one klines request. */
export function answerBinanceKlines(url: URL, source: BinanceKlineSource, now = Date.now()): RestAnswer {
  if (source.maintenance.ongoing()) return BINANCE_MAINTENANCE_ANSWER;
  const retryAfter = source.budget.spend(WEIGHT, now);
  if (retryAfter !== undefined) return tooMuchWeight(source.budget, retryAfter);
  const headers = { 'X-MBX-USED-WEIGHT-1M': String(source.budget.usedWeight()) };
  const refuse = (code: number, msg: string): RestAnswer => ({ status: 400, headers, body: { code, msg } });

  const params = url.searchParams;
  for (const name of ['symbol', 'interval']) {
    if (!params.get(name)) return refuse(-1102, `Mandatory parameter '${name}' was not sent, was empty/null, or malformed.`);
  }
  const symbol = params.get('symbol')!;
  if (!source.lists(symbol)) return refuse(-1121, 'Invalid symbol.');
  const intervalMs = INTERVAL_MS[params.get('interval')!];
  if (intervalMs === undefined) return refuse(-1120, 'Invalid interval.');
  const limitText = params.get('limit');
  const limit = limitText === null ? DEFAULT_LIMIT : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) return refuse(-1130, "Data sent for parameter 'limit' is not valid.");
  const times: Partial<Record<'startTime' | 'endTime', number>> = {};
  for (const name of ['startTime', 'endTime'] as const) {
    const text = params.get(name);
    if (text === null) continue;
    if (!MILLIS.test(text)) return refuse(-1100, `Illegal characters found in parameter '${name}'; legal range is '^[0-9]{1,20}$'.`);
    times[name] = Number(text);
  }
  const { startTime, endTime } = times;
  if (startTime !== undefined && endTime !== undefined && startTime > endTime) return refuse(-1128, 'Combination of optional parameters invalid.');

  // Open times in [startTime, endTime], at most `limit` of them: from startTime on when it is
  // given, else the most recent up to endTime (or now). Only candles that have started are served.
  const last = alignDown(Math.min(endTime ?? now, now), intervalMs);
  const from = startTime !== undefined ? alignUp(startTime, intervalMs) : last - (limit - 1) * intervalMs;
  const to = Math.min(last, from + (limit - 1) * intervalMs);
  const rows = from > to ? [] : source.klines.range(symbol, intervalMs, from, to, now).map((c) => binanceRow(c, intervalMs));
  return { status: 200, headers, body: rows };
}

/** Wallet "System Status": 0 normal, 1 maintenance (msg "normal" / "system_maintenance"). */
export function answerBinanceSystemStatus(maintenance: MaintenanceWindows): RestAnswer {
  return { status: 200, body: maintenance.ongoing() ? { status: 1, msg: 'system_maintenance' } : { status: 0, msg: 'normal' } };
}
