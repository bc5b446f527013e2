import type { BookFrame, BookProtocol, BookUpdate } from '../../liquidity/book-protocol.js';
import { textLevels } from '../../liquidity/levels.js';
import type { FrameContext, SubscribeRequest } from '../../ws/channel-protocol.js';
import type { SymbolTable } from '../../ws/symbol-table.js';
import { type Json, integer, isObject } from '../../trades/wire.js';
import { BINANCE_SHUTDOWN, binanceConnection, binanceRequestReply, binanceSubscribeRequests } from './connection.js';

// web-socket-streams.md "Partial Book Depth Streams": <symbol>@depth<levels>@100ms pushes the top
// 20 levels of each side every 100 ms as a full snapshot; the payload has no symbol, so the
// combined endpoint (/stream) is used, whose frames name their stream.
const DEPTH_STREAM_SUFFIX = '@depth20@100ms';

/** A partial depth payload as a snapshot update of `symbol`. */
function parseDepth(symbol: string, data: Json): BookUpdate {
  return {
    symbol,
    type: 'snapshot',
    bids: textLevels(data.bids, 'bids'),
    asks: textLevels(data.asks, 'asks'),
    // A lower lastUpdateId than the book's means an older book: caught as a sequence regression.
    sequence: integer(data.lastUpdateId, 'lastUpdateId'),
  };
}

/** Binance spot top-20 partial depth over `/stream` with SUBSCRIBE requests whose acks are checked. */
export const binanceBook: BookProtocol = {
  connection: binanceConnection,

  // The combined endpoint: the depth payload names no symbol, its stream name does.
  url(wsUrl: string): string {
    return `${wsUrl.replace(/\/+$/, '')}/stream`;
  },

  subscribeMessages(symbols: SymbolTable, firstRequest?: number): SubscribeRequest[] {
    return binanceSubscribeRequests(symbols, DEPTH_STREAM_SUFFIX, firstRequest);
  },

  // Every frame is a full top-20 snapshot: the next one resynchronizes the book by itself.
  resyncMessages(): string[] {
    return [];
  },

  onMessage(text: string, context: FrameContext): BookFrame {
    const message: unknown = JSON.parse(text);
    if (!isObject(message)) throw new Error('frame is not a JSON object');
    const reply = binanceRequestReply(message);
    if (reply) return reply;
    if (typeof message.stream !== 'string') throw new Error('frame has no stream');
    if (message.stream === '!serverShutdown') return BINANCE_SHUTDOWN;
    if (!message.stream.endsWith(DEPTH_STREAM_SUFFIX)) return {};
    if (!isObject(message.data)) throw new Error(`${message.stream} frame without a data object`);
    const exchangeSymbol = message.stream.slice(0, -DEPTH_STREAM_SUFFIX.length).toUpperCase();
    const symbol = context.symbols.fromExchange(exchangeSymbol);
    if (symbol === undefined) throw new Error(`depth for ${exchangeSymbol}, which this connection did not subscribe`);
    return { books: [parseDepth(symbol, message.data)] };
  },
};
