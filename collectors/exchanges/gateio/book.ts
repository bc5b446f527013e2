import type { BookFrame, BookProtocol, BookUpdate } from '../../liquidity/book-protocol.js';
import { textLevels } from '../../liquidity/levels.js';
import { type Json, integer, isObject } from '../../trades/wire.js';
import type { FrameContext, SubscribeRequest } from '../../ws/channel-protocol.js';
import type { SymbolTable } from '../../ws/symbol-table.js';
import { gateioAckKey, gateioConnection, gateioControl, gateioSubscribe } from './connection.js';

// `spot.order_book` with payload [pair, "20", "100ms"]: every 100 ms the whole top 20 of each side
// (ws_order_book_BTC_USDT_20levels_2022-09-08_cmp.json: 20 a side, with lastUpdateId). Chosen over
// `spot.order_book_update` + REST: the diff channel needs a REST `with_id` book to start from and to
// fall back on after each gap (docs local_order_book_procedure), and in the 2021 recording it sent,
// unflagged, a full book for 4 of 10 pairs (ws_order_book_update_100ms_10pairs_2021-04-22.jsonl) that
// a diff reader would have applied as changes. A lost snapshot is healed by the next one.
const CHANNEL = 'spot.order_book';
const DEPTH = 20;
const INTERVAL = '100ms';
// The channel takes one pair a request (payload [pair, level, interval]); at the connection's send
// spacing 100 pairs subscribe in 20 s.
const MAX_PAIRS = 100;

/** One spot.order_book result: a snapshot ordered by lastUpdateId (a lower one is refused by the book and resyncs it). */
function parseBook(result: Json, context: FrameContext): BookUpdate {
  if (typeof result.s !== 'string') throw new Error('spot.order_book update without result.s');
  const symbol = context.symbols.fromExchange(result.s);
  if (symbol === undefined) throw new Error(`book for ${result.s}, which this connection did not subscribe`);
  return {
    symbol,
    type: 'snapshot',
    bids: textLevels(result.bids, 'bids'),
    asks: textLevels(result.asks, 'asks'),
    time: integer(result.t, 't'),
    sequence: integer(result.lastUpdateId, 'lastUpdateId'),
  };
}

/** Gate API v4 spot `spot.order_book` (top-20 snapshots every 100 ms) on the trades' connection shape. */
export const gateioBook: BookProtocol = {
  connection: gateioConnection,
  maxSymbolsPerConnection: MAX_PAIRS,
  depth: DEPTH,

  subscribeMessages(symbols: SymbolTable, firstRequest = 1): SubscribeRequest[] {
    return symbols.unified.map((symbol, i) => {
      const id = firstRequest + i;
      return { text: gateioSubscribe(CHANNEL, id, [symbols.toExchange(symbol), String(DEPTH), INTERVAL]), acks: [{ key: gateioAckKey(CHANNEL, id), symbols: [symbol] }] };
    });
  },

  // Every frame is a full snapshot: the next one resynchronizes.
  resyncMessages: () => [],

  onMessage(text: string, context: FrameContext): BookFrame {
    const message: unknown = JSON.parse(text);
    if (!isObject(message)) throw new Error('frame is not a JSON object');
    const control = gateioControl(message, CHANNEL);
    if (control) return control;
    // spot.order_book_update, spot.trades, ... share the connection shape.
    if (message.channel !== CHANNEL) return {};
    if (!isObject(message.result)) throw new Error('spot.order_book update without a result object');
    return { books: [parseBook(message.result, context)] };
  },
};
