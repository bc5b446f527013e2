import type { TradeFrame, TradeProtocol } from '../../trades/protocol.js';
import { TAKER_BUY, TAKER_SELL, type Trade } from '../../trades/trade.js';
import { decimal, isObject } from '../../trades/wire.js';
import type { FrameContext, SubscribeRequest } from '../../ws/channel-protocol.js';
import type { SymbolTable } from '../../ws/symbol-table.js';
import { OKX_PONG, okxConnection, okxEvent, okxSubscribeRequests } from './connection.js';

const CHANNEL = 'trades';
const MILLIS = /^\d{1,15}$/;
const TRADE_ID = /^\d+$/;

/** A count OKX sends as a digit string. */
function positiveInteger(value: unknown, what: string): number {
  const n = typeof value === 'string' && /^[1-9]\d*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw new Error(`${what} is not a positive integer string: ${JSON.stringify(value)}`);
  return n;
}

/** One entry of a `trades` push as a normalized Trade. */
function parseTrade(data: unknown, context: FrameContext): Trade {
  if (!isObject(data)) throw new Error('trades entry is not an object');
  if (typeof data.instId !== 'string') throw new Error('trade without an instId');
  const symbol = context.symbols.fromExchange(data.instId);
  if (symbol === undefined) throw new Error(`trade for ${data.instId}, which this connection did not subscribe`);
  if (typeof data.tradeId !== 'string' || !TRADE_ID.test(data.tradeId)) throw new Error(`tradeId is not a digit string: ${JSON.stringify(data.tradeId)}`);
  if (typeof data.ts !== 'string' || !MILLIS.test(data.ts)) throw new Error(`ts is not a millisecond timestamp string: ${JSON.stringify(data.ts)}`);
  if (data.side !== 'buy' && data.side !== 'sell') throw new Error(`side is neither buy nor sell: ${JSON.stringify(data.side)}`);
  return {
    exchange: 'okx',
    symbol,
    // Kept as the string OKX sends; dedup compares digit strings by value.
    id: data.tradeId,
    price: decimal(data.px, 'px (price)'),
    amount: decimal(data.sz, 'sz (size)'),
    // docs: `count` — "the count of trades aggregated"; absent before aggregation existed.
    ...(data.count !== undefined ? { count: positiveInteger(data.count, 'count') } : {}),
    // docs: "side — Trade side of taker".
    side: data.side === 'buy' ? TAKER_BUY : TAKER_SELL,
    exchangeTime: Number(data.ts),
    receivedAt: context.receivedAt,
  };
}

/** OKX v5 public `trades` channel on `/ws/v5/public`, one ack per subscribed instrument. */
export const okxTrades: TradeProtocol = {
  connection: okxConnection,
  // docs: tradeId is "the last trade ID in the trades aggregation"; ws_trades_2022.jsonl has 69
  // BTC-USDT frames with ids strictly increasing (338476307, 338476308, ...).
  idsIncrease: true,

  subscribeMessages(symbols: SymbolTable, firstRequest?: number): SubscribeRequest[] {
    return okxSubscribeRequests(symbols, CHANNEL, 'trades', firstRequest);
  },

  onMessage(text: string, context: FrameContext): TradeFrame {
    if (text === 'pong') return OKX_PONG;
    const message: unknown = JSON.parse(text);
    if (!isObject(message)) throw new Error('frame is not a JSON object');
    if (typeof message.event === 'string') return okxEvent(message);
    if (!isObject(message.arg) || typeof message.arg.channel !== 'string') throw new Error('frame has neither an event nor an arg.channel');
    // Other channels (tickers, books, trades-all) share the connection shape; only `trades` is ours.
    if (message.arg.channel !== CHANNEL) return {};
    if (!Array.isArray(message.data)) throw new Error('trades frame without a data array');
    return { trades: message.data.map((entry) => parseTrade(entry, context)) };
  },
};
