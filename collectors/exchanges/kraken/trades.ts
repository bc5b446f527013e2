import type { TradeFrame, TradeProtocol } from '../../trades/protocol.js';
import { TAKER_BUY, TAKER_SELL, type Trade } from '../../trades/trade.js';
import { integer, isObject, isoTimeMs, jsonNumber } from '../../trades/wire.js';
import type { FrameContext, SubscribeRequest } from '../../ws/channel-protocol.js';
import type { SymbolTable } from '../../ws/symbol-table.js';
import { krakenConnection, krakenMethodReply, krakenOtherChannel, krakenSubscribeRequests } from './connection.js';

/** RFC 3339 UTC time in ms (sub-millisecond digits truncated). */
export function krakenTimeMs(value: unknown, field = 'timestamp'): number {
  return isoTimeMs(value, field);
}

/** One entry of a `trade` frame's data as a normalized Trade; v2's `side` is the taker's (spot-websocket-v2/trade). */
function parseTrade(entry: unknown, context: FrameContext): Trade {
  if (!isObject(entry)) throw new Error('trade entry is not an object');
  if (typeof entry.symbol !== 'string') throw new Error('trade without a symbol');
  const symbol = context.symbols.fromExchange(entry.symbol);
  if (symbol === undefined) throw new Error(`trade for ${entry.symbol}, which this connection did not subscribe`);
  if (entry.side !== 'buy' && entry.side !== 'sell') throw new Error(`side is neither buy nor sell: ${JSON.stringify(entry.side)}`);
  return {
    exchange: 'kraken',
    symbol,
    id: integer(entry.trade_id, 'trade_id'),
    price: jsonNumber(entry.price, 'price'),
    amount: jsonNumber(entry.qty, 'qty'),
    side: entry.side === 'buy' ? TAKER_BUY : TAKER_SELL,
    exchangeTime: krakenTimeMs(entry.timestamp),
    receivedAt: context.receivedAt,
  };
}

/** Kraken spot WebSocket v2 trades (`trade` channel), with per-symbol acks and app-level pings. */
export const krakenTrades: TradeProtocol = {
  connection: krakenConnection,
  // "Trade ID: sequential int" (spot-websocket v2 vs v1 table), per symbol.
  idsIncrease: true,

  subscribeMessages(symbols: SymbolTable, firstRequest?: number): SubscribeRequest[] {
    // snapshot:false: the 50 trades of a snapshot were likely stored before a restart, and the
    // sum fields would count them twice.
    const request = (names: readonly string[], reqId: number) => JSON.stringify({ method: 'subscribe', params: { channel: 'trade', symbol: names, snapshot: false }, req_id: reqId });
    return krakenSubscribeRequests(symbols, request, firstRequest);
  },

  onMessage(text: string, context: FrameContext): TradeFrame {
    // The status frame's connection_id exceeds 2^53: JSON.parse rounds it, and it is never used.
    const message: unknown = JSON.parse(text);
    if (!isObject(message)) throw new Error('frame is not a JSON object');
    if (typeof message.method === 'string') return krakenMethodReply(message, 'trade');
    if (message.channel !== 'trade') return krakenOtherChannel(message);
    if (!Array.isArray(message.data)) throw new Error('trade frame without a data array');
    // `update` carries new trades; a `snapshot` (only if asked for) recent ones, which dedup filters.
    return { trades: message.data.map((entry) => parseTrade(entry, context)) };
  },
};
