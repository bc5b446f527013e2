/**
 * Kraken spot WebSocket v2 frames as the simulator writes them, key order and JSON types copied
 * from ws_v2_trade_session_status_ack_heartbeat_trade_2024-07-27.jsonl. Numbers are written as
 * text (a raw 64-bit connection_id, decimals with Kraken's fixed precision), never via JSON.stringify.
 */
import { randomBytes } from 'node:crypto';
import type { SimulatedTrade } from '../../../simulator/market.js';

/** A trade entry as a client's JSON.parse reads it. */
export interface KrakenTradeEntry {
  symbol: string;
  /** The taker's side. */
  side: 'buy' | 'sell';
  price: number;
  qty: number;
  ord_type: 'market' | 'limit';
  trade_id: number;
  timestamp: string;
}

/** One framed trade: the exact JSON text of its entry and what a client parses from it. */
export interface FramedTrade {
  text: string;
  entry: KrakenTradeEntry;
}

/** An RFC 3339 time with microseconds, as in time_in/time_out and trade timestamps (`micros` in 0–999). */
export function isoMicros(ms: number, micros = 0): string {
  return `${new Date(ms).toISOString().slice(0, -1)}${String(micros).padStart(3, '0')}Z`;
}

/** A random connection id above 2^63, like the recorded 15564437896659189083: exact only as text. */
export function connectionId(): string {
  return (randomBytes(8).readBigUInt64BE() | (1n << 63n)).toString();
}

/** The status frame Kraken sends first on every connection. */
export function statusFrame(id: string): string {
  return `{"channel":"status","data":[{"api_version":"v2","connection_id":${id},"system":"online","version":"2.0.7"}],"type":"update"}`;
}

/** The heartbeat frame, sent about once a second to subscribed connections. */
export const HEARTBEAT = '{"channel":"heartbeat"}';

/**
 * Frames a simulated trade. Prices print with the pair's 2 decimals (the simulator's cent tick)
 * and quantities with 8 (lot_decimals), trailing zeros kept, as Kraken prints them
 * (ws_v2_book_ETH-USD_depth10_*.jsonl: "price":1797.30,"qty":4.21870000).
 */
export function framedTrade(symbol: string, trade: SimulatedTrade, micros: number): FramedTrade {
  const price = trade.price.replace(/(\.\d{2})\d*$/, '$1');
  const qty = trade.amount;
  const side = trade.takerSide > 0 ? 'buy' : 'sell';
  // Most takers are market orders; the order type is irrelevant to the trade itself.
  const ordType = trade.id % 4 === 0 ? 'limit' : 'market';
  const timestamp = isoMicros(trade.time, micros);
  const text = `{"symbol":${JSON.stringify(symbol)},"side":"${side}","price":${price},"qty":${qty},"ord_type":"${ordType}","trade_id":${trade.id},"timestamp":"${timestamp}"}`;
  return { text, entry: { symbol, side, price: Number(price), qty: Number(qty), ord_type: ordType, trade_id: trade.id, timestamp } };
}

/** A `trade` channel frame: one taker order's fills (`update`) or recent trades (`snapshot`). */
export function tradeFrame(type: 'update' | 'snapshot', entries: readonly string[]): string {
  return `{"channel":"trade","type":"${type}","data":[${entries.join(',')}]}`;
}

/** Request/response envelope, keys in Kraken's (alphabetical) order; req_id only when the request had one. */
export function methodReply(fields: { error?: string; method: string; reqId?: unknown; result?: object; success: boolean; symbol?: string }, timeIn: number): string {
  const { error, method, reqId, result, success, symbol } = fields;
  // time_out a microsecond on, so it never precedes time_in within one millisecond.
  return JSON.stringify({ error, method, req_id: reqId, result, success, symbol, time_in: isoMicros(timeIn), time_out: isoMicros(Date.now(), 1) });
}

/** Why Kraken refuses a per-symbol (un)subscribe request, in its words, or undefined when it accepts it. */
export function subscriptionRefusal(method: string, symbol: string, listed: boolean, subscribed: boolean): string | undefined {
  if (!listed) return `Currency pair not supported ${symbol}`;
  if (method === 'subscribe' && subscribed) return 'Already subscribed';
  if (method === 'unsubscribe' && !subscribed) return 'Subscription Not Found';
  return undefined;
}
