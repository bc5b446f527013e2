/**
 * Coinbase Exchange's `GET /products/<id>/trades` as the simulator serves it, from the trades the
 * simulator generated, sent or not: newest first, cursor pagination by trade_id with CB-BEFORE /
 * CB-AFTER headers (docs "Pagination"), entries shaped like rest_trades_BTC-USD_limit2_2026-06-19.json.
 */
import type { SimulatedTrade } from '../../../simulator/market.js';
import type { RequestBudget } from '../../../simulator/request-budget.js';
import type { RestAnswer } from '../../../simulator/server.js';
import { isoMicros } from './frames.js';

/** One entry as Coinbase prints it (rest_trades_BTC-USD_limit2_2026-06-19.json), in its key order. */
export interface CoinbaseRestTrade {
  trade_id: number;
  /** The MAKER's side. */
  side: 'buy' | 'sell';
  /** 8 decimals, unlike the ws-feed ("0.00003219", "63212.97000000"). */
  size: string;
  price: string;
  /** ISO-8601 with microseconds. */
  time: string;
}

// docs "Get product trades": limit default 100, max 1000.
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

/** The same microseconds the ws-feed frame of this trade carries (index.ts), so both agree. */
function restTrade(trade: SimulatedTrade): CoinbaseRestTrade {
  return { trade_id: trade.id, side: trade.takerSide > 0 ? 'sell' : 'buy', size: trade.amount, price: trade.price, time: isoMicros(trade.time, (trade.id * 337) % 1000) };
}

/** A cursor: absent, or a non-negative integer (NaN when malformed). */
function cursor(url: URL, name: string): number | undefined {
  const text = url.searchParams.get(name);
  if (text === null || text === '') return undefined;
  return /^\d+$/.test(text) ? Number(text) : NaN;
}

/** The answer to one product trades request; `trades` are the product's generated trades, oldest first. */
export function answerProductTrades(url: URL, trades: readonly SimulatedTrade[], budget: RequestBudget): RestAnswer {
  // websocket/REST rate-limits docs: public endpoints 10 requests per second per IP; over it HTTP 429
  // {"message":"Public rate limit exceeded"}, with no Retry-After.
  if (budget.spend(1) !== undefined) return { status: 429, body: { message: 'Public rate limit exceeded' } };
  const limitText = url.searchParams.get('limit');
  const limit = limitText === null ? DEFAULT_LIMIT : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) return { status: 400, body: { message: 'Invalid limit' } };
  const after = cursor(url, 'after');
  const before = cursor(url, 'before');
  if (Number.isNaN(after) || Number.isNaN(before)) return { status: 400, body: { message: 'Invalid pagination cursor' } };
  // Ids are consecutive: an id is an offset from the oldest kept.
  const first = trades[0]?.id ?? 0;
  let page: readonly SimulatedTrade[];
  if (after !== undefined) {
    // "after (older)": the newest trades with trade_id < after.
    const hi = Math.max(0, Math.min(trades.length, after - first));
    page = trades.slice(Math.max(0, hi - limit), hi);
  } else if (before !== undefined) {
    // "before (newer)": the page right above the cursor.
    const lo = Math.max(0, Math.min(trades.length, before - first + 1));
    page = trades.slice(lo, lo + limit);
  } else {
    page = trades.slice(-limit);
  }
  const body = [...page].reverse().map(restTrade);
  // The cursors of the neighbouring pages: the newest id for `before`, the oldest for `after`.
  const headers: Record<string, string> = body.length > 0 ? { 'CB-BEFORE': String(body[0]!.trade_id), 'CB-AFTER': String(body.at(-1)!.trade_id) } : {};
  return { status: 200, headers, body };
}
