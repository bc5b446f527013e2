import type { BookFrame, BookFrameContext, BookProtocol, BookUpdate } from '../../liquidity/book-protocol.js';
import type { LevelText } from '../../liquidity/order-book.js';
import type { SubscribeRequest, SymbolTable } from '../../trades/protocol.js';
import { type Json, isObject } from '../../trades/wire.js';
import { coinbaseErrorReason, coinbaseTimeMs, coinbaseTrades } from './trades.js';
import { textLevels } from '../../liquidity/levels.js';

// exchange/websocket-feed/channels: `level2` needs authentication (websocket-feed/authentication);
// `level2_batch` carries the same snapshot and l2update messages, batched every 50 ms, publicly.
const CHANNEL = 'level2_batch';
const SUBSCRIPTION_ACK = 'level2';

function symbolOf(message: Json, context: BookFrameContext): string {
  if (typeof message.product_id !== 'string') throw new Error(`${String(message.type)} without a product_id`);
  const symbol = context.symbols.fromExchange(message.product_id);
  if (symbol === undefined) throw new Error(`book for ${message.product_id}, which this connection did not subscribe`);
  return symbol;
}

/** An l2update: `changes` of `[side, price, size]`, side `buy` (bid) or `sell` (ask). No sequence numbers: only the crossed-book check applies. */
function parseUpdate(message: Json, context: BookFrameContext): BookUpdate {
  if (!Array.isArray(message.changes)) throw new Error('l2update without changes');
  const bids: LevelText[] = [];
  const asks: LevelText[] = [];
  message.changes.forEach((change, i) => {
    if (!Array.isArray(change) || typeof change[1] !== 'string' || typeof change[2] !== 'string') throw new Error(`changes[${i}] is not [side, price, size]`);
    if (change[0] === 'buy') bids.push([change[1], change[2]]);
    else if (change[0] === 'sell') asks.push([change[1], change[2]]);
    else throw new Error(`changes[${i}] side is neither buy nor sell: ${JSON.stringify(change[0])}`);
  });
  return { symbol: symbolOf(message, context), type: 'delta', bids, asks, time: message.time === undefined ? undefined : coinbaseTimeMs(message.time) };
}

/** True when the cumulative `subscriptions` reply lists every product of this connection under the level2 channel. */
function confirmsLevel2(message: Json, symbols: SymbolTable): boolean {
  const channels = Array.isArray(message.channels) ? message.channels : [];
  const level2 = channels.find((channel): channel is Json => isObject(channel) && (channel.name === CHANNEL || channel.name === 'level2'));
  const listed = new Set(level2 && Array.isArray(level2.product_ids) ? level2.product_ids : []);
  return symbols.unified.every((symbol) => listed.has(symbols.toExchange(symbol)));
}

function request(type: 'subscribe' | 'unsubscribe', productIds: readonly string[], channels: readonly string[]): string {
  return JSON.stringify({ type, product_ids: productIds, channels });
}

/** Coinbase Exchange `ws-feed` `level2_batch`: a snapshot per product, then l2update batches; kept alive by `heartbeat`. */
export const coinbaseBook: BookProtocol = {
  exchange: 'coinbase',
  defaultWsUrl: coinbaseTrades.defaultWsUrl,
  maxSymbolsPerConnection: coinbaseTrades.maxStreamsPerConnection,
  minSendIntervalMs: coinbaseTrades.minSendIntervalMs,
  keepalive: coinbaseTrades.keepalive,
  toExchangeSymbol: (symbol) => coinbaseTrades.toExchangeSymbol(symbol),
  url: (wsUrl, symbols) => coinbaseTrades.url(wsUrl, symbols),

  subscribeMessages(symbols: SymbolTable): SubscribeRequest[] {
    const productIds = symbols.unified.map((symbol) => symbols.toExchange(symbol));
    return [{ text: request('subscribe', productIds, [CHANNEL, 'heartbeat']), acks: [{ key: SUBSCRIPTION_ACK, symbols: symbols.unified }] }];
  },

  // A new subscription starts with a snapshot.
  resyncMessages(symbol: string, symbols: SymbolTable): string[] {
    const productId = symbols.toExchange(symbol);
    return [request('unsubscribe', [productId], [CHANNEL]), request('subscribe', [productId], [CHANNEL])];
  },

  onMessage(text: string, context: BookFrameContext): BookFrame {
    const message: unknown = JSON.parse(text);
    if (!isObject(message)) throw new Error('frame is not a JSON object');
    switch (message.type) {
      case 'snapshot':
        return { books: [{ symbol: symbolOf(message, context), type: 'snapshot', bids: textLevels(message.bids, 'bids'), asks: textLevels(message.asks, 'asks') }] };
      case 'l2update':
        return { books: [parseUpdate(message, context)] };
      case 'heartbeat':
        return { heartbeat: true };
      case 'subscriptions':
        return confirmsLevel2(message, context.symbols) ? { ack: SUBSCRIPTION_ACK } : {};
      case 'error':
        return { error: { reason: coinbaseErrorReason(message, text) } };
      case undefined:
        throw new Error('frame has no type');
      default:
        return {};
    }
  },
};
