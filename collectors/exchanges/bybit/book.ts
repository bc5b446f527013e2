import type { BookFrame, BookFrameContext, BookProtocol, BookUpdate } from '../../liquidity/book-protocol.js';
import type { SubscribeRequest, SymbolTable } from '../../trades/protocol.js';
import { type Json, integer, isObject } from '../../trades/wire.js';
import { bybitTrades } from './trades.js';
import { textLevels } from '../../liquidity/levels.js';

// v5 websocket/public/orderbook: spot depths 1, 50, 200, 1000; 50 pushes every 20 ms.
const DEPTH = 50;
const TOPIC_PREFIX = `orderbook.${DEPTH}.`;
const ARGS_PER_REQUEST = 10;

/**
 * An orderbook push. `u` is consecutive per topic, so a delta must follow the previous message's
 * `u` (ws_orderbook500_linear_XRPUSDT_*: 20254869, 20254870, …); "u"=1 is a snapshot sent after a
 * service restart, which replaces the book like any snapshot.
 */
function parseBook(message: Json, context: BookFrameContext): BookUpdate {
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

/** The subscribe or unsubscribe request for some symbols' orderbook topics. */
function request(op: 'subscribe' | 'unsubscribe', names: readonly string[], reqId: string): string {
  return JSON.stringify({ req_id: reqId, op, args: names.map((name) => TOPIC_PREFIX + name) });
}

/** Bybit v5 spot `orderbook.50.<SYMBOL>` on `/v5/public/spot`: a snapshot, then deltas checked by `u`. */
export const bybitBook: BookProtocol = {
  exchange: 'bybit',
  defaultWsUrl: bybitTrades.defaultWsUrl,
  maxSymbolsPerConnection: bybitTrades.maxStreamsPerConnection,
  minSendIntervalMs: bybitTrades.minSendIntervalMs,
  keepalive: bybitTrades.keepalive,
  depth: DEPTH,
  toExchangeSymbol: (symbol) => bybitTrades.toExchangeSymbol(symbol),
  url: (wsUrl, symbols) => bybitTrades.url(wsUrl, symbols),

  subscribeMessages(symbols: SymbolTable, firstRequest = 1): SubscribeRequest[] {
    const requests: SubscribeRequest[] = [];
    for (let start = 0; start < symbols.unified.length; start += ARGS_PER_REQUEST) {
      const chunk = symbols.unified.slice(start, start + ARGS_PER_REQUEST);
      const reqId = `books${firstRequest + requests.length}`;
      requests.push({ text: request('subscribe', chunk.map((symbol) => symbols.toExchange(symbol)), reqId), acks: [{ key: reqId, symbols: chunk }] });
    }
    return requests;
  },

  // A new subscription starts with a snapshot.
  resyncMessages(symbol: string, symbols: SymbolTable): string[] {
    const name = symbols.toExchange(symbol);
    return [request('unsubscribe', [name], 'resync'), request('subscribe', [name], 'resync')];
  },

  onMessage(text: string, context: BookFrameContext): BookFrame {
    const message: unknown = JSON.parse(text);
    if (!isObject(message)) throw new Error('frame is not a JSON object');
    if (typeof message.topic === 'string') return message.topic.startsWith(TOPIC_PREFIX) ? { books: [parseBook(message, context)] } : {};
    if (typeof message.op === 'string') {
      // Op replies (acks, refusals, pongs) read the same as on the trade stream.
      const { ack, error, heartbeat } = bybitTrades.onMessage(text, { symbols: context.symbols, receivedAt: context.receivedAt });
      return { ack, error, heartbeat };
    }
    throw new Error('frame has neither a topic nor an op');
  },
};
