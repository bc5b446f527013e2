import type { BookFrame, BookProtocol, BookUpdate } from '../../liquidity/book-protocol.js';
import { textLevels } from '../../liquidity/levels.js';
import { type Json, integer, isObject } from '../../trades/wire.js';
import type { FrameContext, SubscribeRequest } from '../../ws/channel-protocol.js';
import type { SymbolTable } from '../../ws/symbol-table.js';
import { bybitConnection, bybitOpReply, bybitRequest, bybitSubscribeRequests } from './connection.js';

// v5 websocket/public/orderbook: spot depths 1, 50, 200, 1000; 50 pushes every 20 ms.
const DEPTH = 50;
const TOPIC_PREFIX = `orderbook.${DEPTH}.`;

/**
 * An orderbook push. `u` is consecutive per topic, so a delta must follow the previous message's
 * `u` (ws_orderbook500_linear_XRPUSDT_*: 20254869, 20254870, …); "u"=1 is a snapshot sent after a
 * service restart, which replaces the book like any snapshot.
 */
function parseBook(message: Json, context: FrameContext): BookUpdate {
  if (message.type !== 'snapshot' && message.type !== 'delta') throw new Error(`orderbook push of unknown type ${JSON.stringify(message.type)}`);
  if (!isObject(message.data)) throw new Error('orderbook push without a data object');
  const { data } = message;
  if (typeof data.s !== 'string') throw new Error('orderbook push without a symbol (s)');
  const symbol = context.symbols.fromExchange(data.s);
  if (symbol === undefined) throw new Error(`book for ${data.s}, which this connection did not subscribe`);
  const u = integer(data.u, 'u (update id)');
  const type = message.type;
  return {
    symbol,
    type,
    bids: textLevels(data.b, 'b (bids)'),
    asks: textLevels(data.a, 'a (asks)'),
    time: message.ts === undefined ? undefined : integer(message.ts, 'ts'),
    sequence: u,
    // "If you receive a new snapshot message, you will have to reset your local orderbook" (u restarts at 1).
    restartsSequence: type === 'snapshot',
    follows: type === 'delta' ? u - 1 : undefined,
  };
}

/** Bybit v5 spot `orderbook.50.<SYMBOL>` on `/v5/public/spot`: a snapshot, then deltas checked by `u`. */
export const bybitBook: BookProtocol = {
  connection: bybitConnection,
  depth: DEPTH,

  subscribeMessages(symbols: SymbolTable, firstRequest?: number): SubscribeRequest[] {
    return bybitSubscribeRequests(symbols, TOPIC_PREFIX, 'books', firstRequest);
  },

  // A new subscription starts with a snapshot.
  resyncMessages(symbol: string, symbols: SymbolTable): string[] {
    const name = symbols.toExchange(symbol);
    return [bybitRequest('unsubscribe', TOPIC_PREFIX, [name], 'resync'), bybitRequest('subscribe', TOPIC_PREFIX, [name], 'resync')];
  },

  onMessage(text: string, context: FrameContext): BookFrame {
    const message: unknown = JSON.parse(text);
    if (!isObject(message)) throw new Error('frame is not a JSON object');
    if (typeof message.topic === 'string') return message.topic.startsWith(TOPIC_PREFIX) ? { books: [parseBook(message, context)] } : {};
    if (typeof message.op === 'string') return bybitOpReply(message);
    throw new Error('frame has neither a topic nor an op');
  },
};
