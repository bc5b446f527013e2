/**
 * Coinbase Exchange `ws-feed` frames as the simulator sends them, key order and JSON types
 * copied from the recordings (ws_matches_and_last_match.jsonl, ws_subscriptions_acks.jsonl,
 * ws_error_and_subscriptions_examples.jsonl) and the docs example heartbeat.
 */
import { randomUUID } from 'node:crypto';
import type { SimulatedTrade } from '../../../simulator/market.js';

/** A `match` (or `last_match`) frame exactly as Coinbase sends it. */
export interface CoinbaseMatchPayload {
  type: 'match' | 'last_match';
  trade_id: number;
  maker_order_id: string;
  taker_order_id: string;
  /** The MAKER's side. */
  side: 'buy' | 'sell';
  size: string;
  price: string;
  product_id: string;
  sequence: number;
  /** ISO-8601 with microseconds, e.g. "2021-04-17T16:43:30.244075Z". */
  time: string;
}

/** "65000.12000000" → "65000.12", "3.00000000" → "3": Coinbase prints no trailing zeros on ws-feed. */
export function trimDecimal(value: string): string {
  return value.includes('.') ? value.replace(/0+$/, '').replace(/\.$/, '') : value;
}

/** A millisecond time as Coinbase prints it, with microseconds (`micros` in 0–999). */
export function isoMicros(ms: number, micros: number): string {
  return `${new Date(ms).toISOString().slice(0, -1)}${String(micros).padStart(3, '0')}Z`;
}

/** Frames a simulated trade; the maker's side is the opposite of the taker's. */
export function matchPayload(productId: string, trade: SimulatedTrade, sequence: number, micros: number): CoinbaseMatchPayload {
  return {
    type: 'match',
    trade_id: trade.id,
    maker_order_id: randomUUID(),
    taker_order_id: randomUUID(),
    side: trade.takerSide > 0 ? 'sell' : 'buy',
    size: trimDecimal(trade.amount),
    price: trimDecimal(trade.price),
    product_id: productId,
    sequence,
    time: isoMicros(trade.time, micros),
  };
}

/** A heartbeat-channel frame, in the documented key order. */
export function heartbeatFrame(productId: string, sequence: number, lastTradeId: number, now: number): string {
  return JSON.stringify({ type: 'heartbeat', sequence, last_trade_id: lastTradeId, product_id: productId, time: isoMicros(now, 0) });
}

/** The cumulative `subscriptions` reply: every channel with its products, not just the request's. */
export function subscriptionsFrame(channels: ReadonlyMap<string, ReadonlySet<string>>): string {
  const listed = [...channels].filter(([, products]) => products.size > 0).map(([name, products]) => ({ name, product_ids: [...products] }));
  return JSON.stringify({ type: 'subscriptions', channels: listed });
}

/** An `error` frame: Coinbase names no request, only a message and a reason. */
export function errorFrame(message: string, reason?: string): string {
  return JSON.stringify(reason === undefined ? { type: 'error', message } : { type: 'error', message, reason });
}
