import type { TradeFrame, TradeProtocol } from '../../trades/protocol.js';
import { TAKER_BUY, TAKER_SELL, type Trade } from '../../trades/trade.js';
import { integer, decimal, isObject } from '../../trades/wire.js';
import type { FrameContext, SubscribeRequest } from '../../ws/channel-protocol.js';
import type { SymbolTable } from '../../ws/symbol-table.js';
import { bybitConnection, bybitOpReply, bybitSubscribeRequests } from './connection.js';

const TOPIC_PREFIX = 'publicTrade.';

/** One entry of a `publicTrade` push as a normalized Trade. */
function parseTrade(data: unknown, context: FrameContext): Trade {
  if (!isObject(data)) throw new Error('publicTrade entry is not an object');
  if (typeof data.s !== 'string') throw new Error('trade without a symbol (s)');
  const symbol = context.symbols.fromExchange(data.s);
  if (symbol === undefined) throw new Error(`trade for ${data.s}, which this connection did not subscribe`);
  // Spot ids are digit strings beyond 2^53 (2240000000970262966); the docs example has a UUID.
  if (typeof data.i !== 'string' || data.i.length === 0) throw new Error(`i (trade id) is not a string: ${JSON.stringify(data.i)}`);
  if (data.S !== 'Buy' && data.S !== 'Sell') throw new Error(`S (side) is neither Buy nor Sell: ${JSON.stringify(data.S)}`);
  return {
    exchange: 'bybit',
    symbol,
    id: data.i,
    price: decimal(data.p, 'p (price)'),
    amount: decimal(data.v, 'v (size)'),
    // docs publicTrade: "S — Side of taker. Buy,Sell".
    side: data.S === 'Buy' ? TAKER_BUY : TAKER_SELL,
    exchangeTime: integer(data.T, 'T (trade time)'),
    receivedAt: context.receivedAt,
  };
}

/** Bybit v5 spot `publicTrade.<SYMBOL>` topics on `/v5/public/spot`, one ack per request (by req_id). */
export const bybitTrades: TradeProtocol = {
  connection: bybitConnection,
  // Spot ids are numbers without a documented order and other categories use UUIDs: dedup keeps a
  // bounded set of recent ids instead of a last id.
  idsIncrease: false,

  subscribeMessages(symbols: SymbolTable, firstRequest?: number): SubscribeRequest[] {
    return bybitSubscribeRequests(symbols, TOPIC_PREFIX, 'trades', firstRequest);
  },

  onMessage(text: string, context: FrameContext): TradeFrame {
    const message: unknown = JSON.parse(text);
    if (!isObject(message)) throw new Error('frame is not a JSON object');
    if (typeof message.topic === 'string') {
      // Other topics (orderbook.*, tickers.*) share the shape; only publicTrade.* carries trades.
      if (!message.topic.startsWith(TOPIC_PREFIX)) return {};
      if (!Array.isArray(message.data)) throw new Error(`${message.topic} frame without a data array`);
      return { trades: message.data.map((entry) => parseTrade(entry, context)) };
    }
    if (typeof message.op === 'string') return bybitOpReply(message);
    throw new Error('frame has neither a topic nor an op');
  },
};
