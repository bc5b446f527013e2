/**
 * Bitstamp's `GET /api/v2/ohlc/<pair>/` as the simulator serves it, from the shared simulated kline
 * history, in the recorded shape (rest_ohlc_btcusdt_step3600_limit1_2024-03-13_ccxt.json).
 * Error bodies are not recorded: they follow Bitstamp's `{status, reason, code}` error shape.
 */
import { alignDown, alignUp } from '../../../klines/open-times.js';
import type { SimulatedKline, SimulatedKlines } from '../../../simulator/kline-source.js';
import type { RestAnswer } from '../../../simulator/server.js';

const STEPS = new Set([60, 180, 300, 900, 1800, 3600, 7200, 14400, 21600, 43200, 86400, 259200]);
const MAX_LIMIT = 1000;

function refusal(reason: string): RestAnswer {
  return { status: 400, body: { status: 'error', reason, code: 'API0001' } };
}

/** Bitstamp prints OHLC prices without trailing zeros ("73241") and volumes with 8 decimals. */
function row(candle: SimulatedKline): Record<string, string> {
  const price = (value: number) => value.toFixed(2).replace(/\.?0+$/, '');
  return {
    timestamp: String(candle.openTime / 1000), open: price(candle.open), high: price(candle.high), low: price(candle.low),
    close: price(candle.close), volume: candle.volume.toFixed(8),
  };
}

/** The answer to `/api/v2/ohlc/<pair>/`: the `limit` candles ending at `end` (or now), within [start, end]. */
export function answerOhlc(url: URL, pair: string, name: string, klines: SimulatedKlines, now = Date.now()): RestAnswer {
  const params = url.searchParams;
  const step = Number(params.get('step'));
  if (!STEPS.has(step)) return refusal('Invalid step.');
  const limit = Number(params.get('limit'));
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) return refusal('Invalid limit.');
  const intervalMs = step * 1000;
  const seconds = (key: string): number | undefined => (params.get(key) === null ? undefined : Number(params.get(key)) * 1000);
  const [start, end] = [seconds('start'), seconds('end')];
  if (Number.isNaN(start) || Number.isNaN(end)) return refusal('Invalid start or end.');
  const last = alignDown(Math.min(end ?? now, now), intervalMs);
  const from = Math.max(start === undefined ? Number.NEGATIVE_INFINITY : alignUp(start, intervalMs), last - (limit - 1) * intervalMs);
  const candles = from > last ? [] : klines.range(pair, intervalMs, from, last, now);
  return { status: 200, body: { data: { pair: name, ohlc: candles.map(row) } } };
}
