import type { BookFrame, BookProtocol, BookUpdate } from '../../liquidity/book-protocol.js';
import { textLevels } from '../../liquidity/levels.js';
import { type Json, isObject } from '../../trades/wire.js';
import type { FrameContext, SubscribeRequest } from '../../ws/channel-protocol.js';
import type { SymbolTable } from '../../ws/symbol-table.js';
import { bitstampConnection, bitstampControl, bitstampEnvelope, bitstampSubscribeRequests } from './connection.js';

// `order_book_<pair>`: every frame is the whole top 100 of each side (docs: "List of top 100
// bids/asks"; ws_order_book_btcusd_100levels_2020_gct.jsonl has 100 a side). Chosen over
// `diff_order_book_<pair>` + REST `order_book`: the diff frames carry no sequence number, only a
// microtimestamp, so a lost diff cannot be detected and the book would drift unseen; a lost
// snapshot is healed by the next one.
const DEPTH = 100;
const CHANNEL_PREFIX = 'order_book_';
const MICROS = /^\d{1,19}$/;

/** `microtimestamp` as a number of µs (below 2^53 until the year 2255). */
export function bitstampMicros(data: Json): number {
  if (typeof data.microtimestamp !== 'string' || !MICROS.test(data.microtimestamp)) throw new Error(`microtimestamp is not a digit string: ${JSON.stringify(data.microtimestamp)}`);
  return Number(data.microtimestamp);
}

/** One `order_book_` frame: a snapshot ordered by its microtimestamp (one going back in time is refused by the book). */
function parseBook(message: Json & { channel: string }, context: FrameContext): BookUpdate {
  const pair = message.channel.slice(CHANNEL_PREFIX.length);
  const symbol = context.symbols.fromExchange(pair);
  if (symbol === undefined) throw new Error(`book for ${pair}, which this connection did not subscribe`);
  if (!isObject(message.data)) throw new Error('book event without a data object');
  const micros = bitstampMicros(message.data);
  return {
    symbol,
    type: 'snapshot',
    bids: textLevels(message.data.bids, 'bids'),
    asks: textLevels(message.data.asks, 'asks'),
    time: Math.floor(micros / 1000),
    sequence: micros,
  };
}

/** Bitstamp WebSocket v2 `order_book_<pair>`: top-100 snapshots, nothing to resync. */
export const bitstampBook: BookProtocol = {
  connection: bitstampConnection,
  depth: DEPTH,
  subscribeMessages(symbols: SymbolTable): SubscribeRequest[] {
    return bitstampSubscribeRequests(CHANNEL_PREFIX, symbols);
  },
  // Every frame is a full snapshot: the next one resynchronizes.
  resyncMessages: () => [],
  onMessage(text: string, context: FrameContext): BookFrame {
    const message = bitstampEnvelope(text);
    if (message.event === 'data' && message.channel.startsWith(CHANNEL_PREFIX)) return { books: [parseBook(message, context)] };
    // diff_order_book_ and detail_order_book_ frames share event "data" but not this prefix.
    return bitstampControl(message) ?? {};
  },
};
