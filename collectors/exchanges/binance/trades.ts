import type { FrameContext, SubscribeRequest } from '../../ws/channel-protocol.js';
import type { SymbolTable } from '../../ws/symbol-table.js';
import type { TradeFrame, TradeProtocol } from '../../trades/protocol.js';
import { TAKER_BUY, TAKER_SELL, type Trade } from '../../trades/trade.js';
import { type Json, decimal, integer, isObject } from '../../trades/wire.js';
import { BINANCE_SHUTDOWN, binanceConnection, binanceRequestReply, binanceSubscribeRequests } from './connection.js';
import { readTradeBytes, readTradeFrame } from './trade-frame.js';

/** A `trade` event payload (raw or unwrapped from a combined frame) as a normalized Trade. */
function parseTrade(data: Json, context: FrameContext): Trade {
  if (typeof data.s !== 'string') throw new Error('trade without a symbol (s)');
  const symbol = context.symbols.fromExchange(data.s);
  if (symbol === undefined) throw new Error(`trade for ${data.s}, which this connection did not subscribe`);
  if (typeof data.m !== 'boolean') throw new Error(`m (buyer is maker) is not a boolean: ${JSON.stringify(data.m)}`);
  return {
    exchange: 'binance',
    symbol,
    id: integer(data.t, 't (trade id)'),
    price: decimal(data.p, 'p (price)'),
    amount: decimal(data.q, 'q (quantity)'),
    // The buyer being the maker means the seller was the aggressor.
    side: data.m ? TAKER_SELL : TAKER_BUY,
    exchangeTime: integer(data.T, 'T (trade time)'),
    receivedAt: context.receivedAt,
  };
}

/** Binance spot trades over `/ws` with SUBSCRIBE requests whose acks are checked. */
export const binanceTrades: TradeProtocol = {
  connection: binanceConnection,
  idsIncrease: true,

  subscribeMessages(symbols: SymbolTable, firstRequest?: number): SubscribeRequest[] {
    return binanceSubscribeRequests(symbols, '@trade', firstRequest);
  },

  onMessage(text: string, context: FrameContext): TradeFrame {
    // Nearly every frame is a trade in Binance's fixed layout: read it without JSON.parse.
    const trade = readTradeFrame(text, context);
    return trade ? { trades: [trade] } : parseFrame(text, context);
  },

  onBytes(data: Buffer, context: FrameContext): TradeFrame | undefined {
    const trade = readTradeBytes(data, context);
    return trade && { trades: [trade] };
  },
};

/** Reads any Binance frame with JSON.parse: the reference reading, and the fallback of readTradeFrame. */
export function parseFrame(text: string, context: FrameContext): TradeFrame {
  const message: unknown = JSON.parse(text);
  if (!isObject(message)) throw new Error('frame is not a JSON object');
  const reply = binanceRequestReply(message);
  if (reply) return reply;
  // Combined streams wrap the payload as {"stream": ..., "data": ...}; /ws sends it bare.
  // Some payloads (bookTicker, partial depth) carry no event type, so the stream name decides.
  if (typeof message.stream === 'string') {
    if (!isObject(message.data)) throw new Error(`${message.stream} frame without a data object`);
    if (message.stream.endsWith('@trade')) return { trades: [parseTrade(message.data, context)] };
    return message.stream === '!serverShutdown' ? BINANCE_SHUTDOWN : {};
  }
  switch (message.e) {
    case 'trade':
      return { trades: [parseTrade(message, context)] };
    case 'serverShutdown':
      return BINANCE_SHUTDOWN;
    case undefined:
      throw new Error('frame has no event type (e) and no stream');
    default:
      return {};
  }
}
