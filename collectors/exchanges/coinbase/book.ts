import type { BookFrame, BookProtocol, BookUpdate } from '../../liquidity/book-protocol.js';
import { textLevels } from '../../liquidity/levels.js';
import type { LevelText } from '../../liquidity/order-book.js';
import { type Json, isObject, isoTimeMs } from '../../trades/wire.js';
import type { FrameContext, SubscribeRequest } from '../../ws/channel-protocol.js';
import type { SymbolTable } from '../../ws/symbol-table.js';
import { coinbaseConnection, coinbaseControl, coinbaseRequest, coinbaseSubscribeRequests, type CoinbaseSubscription } from './connection.js';

// exchange/websocket-feed/channels: `level2` needs authentication (websocket-feed/authentication);
// `level2_batch` carries the same snapshot and l2update messages, batched every 50 ms, publicly.
const CHANNEL = 'level2_batch';
// The recorded subscriptions replies list level2 channels as `level2` (ws_subscriptions_acks.jsonl); `level2_batch` is read too.
const SUBSCRIPTION: CoinbaseSubscription = { ack: 'level2', listedAs: [CHANNEL, 'level2'] };

function symbolOf(message: Json, context: FrameContext): string {
  if (typeof message.product_id !== 'string') throw new Error(`${String(message.type)} without a product_id`);
  const symbol = context.symbols.fromExchange(message.product_id);
  if (symbol === undefined) throw new Error(`book for ${message.product_id}, which this connection did not subscribe`);
  return symbol;
}

/** An l2update: `changes` of `[side, price, size]`, side `buy` (bid) or `sell` (ask). No sequence numbers: only the crossed-book check applies. */
function parseUpdate(message: Json, context: FrameContext): BookUpdate {
  if (!Array.isArray(message.changes)) throw new Error('l2update without changes');
  const bids: LevelText[] = [];
  const asks: LevelText[] = [];
  message.changes.forEach((change, i) => {
    if (!Array.isArray(change) || typeof change[1] !== 'string' || typeof change[2] !== 'string') throw new Error(`changes[${i}] is not [side, price, size]`);
    if (change[0] === 'buy') bids.push([change[1], change[2]]);
    else if (change[0] === 'sell') asks.push([change[1], change[2]]);
    else throw new Error(`changes[${i}] side is neither buy nor sell: ${JSON.stringify(change[0])}`);
  });
  return { symbol: symbolOf(message, context), type: 'delta', bids, asks, time: message.time === undefined ? undefined : isoTimeMs(message.time, 'time') };
}

/** Coinbase Exchange `ws-feed` `level2_batch`: a snapshot per product, then l2update batches; kept alive by `heartbeat`. */
export const coinbaseBook: BookProtocol = {
  connection: coinbaseConnection,

  subscribeMessages(symbols: SymbolTable): SubscribeRequest[] {
    return coinbaseSubscribeRequests(symbols, CHANNEL, SUBSCRIPTION);
  },

  // A new subscription starts with a snapshot.
  resyncMessages(symbol: string, symbols: SymbolTable): string[] {
    const productId = symbols.toExchange(symbol);
    return [coinbaseRequest('unsubscribe', [productId], [CHANNEL]), coinbaseRequest('subscribe', [productId], [CHANNEL])];
  },

  onMessage(text: string, context: FrameContext): BookFrame {
    const message: unknown = JSON.parse(text);
    if (!isObject(message)) throw new Error('frame is not a JSON object');
    switch (message.type) {
      case 'snapshot':
        return { books: [{ symbol: symbolOf(message, context), type: 'snapshot', bids: textLevels(message.bids, 'bids'), asks: textLevels(message.asks, 'asks') }] };
      case 'l2update':
        return { books: [parseUpdate(message, context)] };
      default:
        return coinbaseControl(message, text, SUBSCRIPTION, context.symbols);
    }
  },
};
