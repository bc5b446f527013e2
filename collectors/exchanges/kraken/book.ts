import { crc32 } from 'node:zlib';
import type { BookFrame, BookProtocol, BookUpdate } from '../../liquidity/book-protocol.js';
import type { BookLevel, LevelText, OrderBook } from '../../liquidity/order-book.js';
import { integer, isObject, isoTimeMs } from '../../trades/wire.js';
import type { FrameContext, SubscribeRequest } from '../../ws/channel-protocol.js';
import type { SymbolTable } from '../../ws/symbol-table.js';
import { krakenConnection, krakenMethodReply, krakenOtherChannel, krakenSubscribeRequests } from './connection.js';

// spot-websocket-v2/book: depth 10, 25, 100, 500 or 1000. 100 levels reach further from the mid
// than 10 or 25 on liquid pairs, for the 100 bps band; the checksum covers the top 10 whatever the depth.
export const KRAKEN_BOOK_DEPTH = 100;
const CHECKSUM_LEVELS = 10;
// A JSON number as Kraken prints it: plain decimal, full precision (no exponent). The sign is
// read so a negative size is refused as a value (validation.ts), not as an unreadable frame.
const PLAIN_DECIMAL = /^-?\d+(\.\d+)?$/;

/**
 * The literal text of every `{"price":…,"qty":…}` of each `"bids"`/`"asks"` array in a frame,
 * in order. v2 sends decimals as JSON numbers "containing full precision" (guides/spot-ws-book-v2)
 * and the checksum is over that text, which JSON.parse would lose (1797.30 → 1797.3).
 */
function levelTexts(text: string, side: 'bids' | 'asks'): LevelText[][] {
  const arrays: LevelText[][] = [];
  const arrayPattern = new RegExp(`"${side}":\\[([^\\]]*)\\]`, 'g');
  for (const [, body] of text.matchAll(arrayPattern)) {
    const levels: LevelText[] = [];
    for (const [entry] of body!.matchAll(/\{[^}]*\}/g)) {
      const price = /"price":([^,}\s]+)/.exec(entry)?.[1];
      const qty = /"qty":([^,}\s]+)/.exec(entry)?.[1];
      if (price === undefined || qty === undefined || !PLAIN_DECIMAL.test(price) || !PLAIN_DECIMAL.test(qty)) {
        throw new Error(`${side} entry is not {"price":<decimal>,"qty":<decimal>}: ${entry}`);
      }
      levels.push([price, qty]);
    }
    arrays.push(levels);
  }
  return arrays;
}

/** One `data` entry of a book frame, with its levels' literal texts. */
function parseEntry(entry: unknown, type: 'snapshot' | 'delta', bids: LevelText[] | undefined, asks: LevelText[] | undefined, context: FrameContext): BookUpdate {
  if (!isObject(entry)) throw new Error('book entry is not an object');
  if (typeof entry.symbol !== 'string') throw new Error('book entry without a symbol');
  const symbol = context.symbols.fromExchange(entry.symbol);
  if (symbol === undefined) throw new Error(`book for ${entry.symbol}, which this connection did not subscribe`);
  const parsedBids = Array.isArray(entry.bids) ? entry.bids : [];
  const parsedAsks = Array.isArray(entry.asks) ? entry.asks : [];
  if (!bids || !asks || bids.length !== parsedBids.length || asks.length !== parsedAsks.length) throw new Error('cannot match the levels of the book frame with its text');
  return {
    symbol,
    type,
    bids,
    asks,
    time: entry.timestamp === undefined ? undefined : isoTimeMs(entry.timestamp, 'timestamp'),
    checksum: integer(entry.checksum, 'checksum'),
  };
}

/** A level's share of the checksum string: digits of price then qty without the point or leading zeros. */
function checksumPart(level: BookLevel): string {
  const digits = (text: string): string => text.replace('.', '').replace(/^0+/, '');
  return digits(level.priceText) + digits(level.sizeText);
}

/**
 * Kraken's v2 book checksum (guides/spot-ws-book-v2, "Checksum Calculation"): the top 10 asks
 * low to high then the top 10 bids high to low, each as price and qty digits, CRC32 as unsigned.
 */
export function krakenBookChecksum(book: OrderBook): number {
  const asks = book.asks.slice(0, CHECKSUM_LEVELS).map(checksumPart).join('');
  const bids = book.bids.slice(0, CHECKSUM_LEVELS).map(checksumPart).join('');
  return crc32(asks + bids) >>> 0;
}

/** The `book` subscribe or unsubscribe request for some v2 symbols. */
function bookRequest(method: 'subscribe' | 'unsubscribe', names: readonly string[], reqId: number): string {
  const params = method === 'subscribe' ? { channel: 'book', symbol: names, depth: KRAKEN_BOOK_DEPTH, snapshot: true } : { channel: 'book', symbol: names, depth: KRAKEN_BOOK_DEPTH };
  return JSON.stringify({ method, params, req_id: reqId });
}

/** Kraken spot WebSocket v2 `book` channel, each update's CRC32 checksum verified. */
export const krakenBook: BookProtocol = {
  connection: krakenConnection,
  // "after each update, the book should be truncated to your subscribed depth" (guides/spot-ws-book-v2).
  depth: KRAKEN_BOOK_DEPTH,

  subscribeMessages(symbols: SymbolTable, firstRequest?: number): SubscribeRequest[] {
    return krakenSubscribeRequests(symbols, (names, reqId) => bookRequest('subscribe', names, reqId), firstRequest);
  },

  // Resubscribing is the only way to get a new snapshot; subscribing twice is refused ("Already subscribed").
  resyncMessages(symbol: string, symbols: SymbolTable): string[] {
    const name = symbols.toExchange(symbol);
    return [bookRequest('unsubscribe', [name], 0), bookRequest('subscribe', [name], 0)];
  },

  onMessage(text: string, context: FrameContext): BookFrame {
    const message: unknown = JSON.parse(text);
    if (!isObject(message)) throw new Error('frame is not a JSON object');
    if (typeof message.method === 'string') return krakenMethodReply(message, 'book');
    if (message.channel !== 'book') return krakenOtherChannel(message);
    if (!Array.isArray(message.data)) throw new Error('book frame without a data array');
    if (message.type !== 'snapshot' && message.type !== 'update') throw new Error(`book frame of unknown type ${JSON.stringify(message.type)}`);
    const type = message.type === 'snapshot' ? 'snapshot' : 'delta';
    const bids = levelTexts(text, 'bids');
    const asks = levelTexts(text, 'asks');
    return { books: message.data.map((entry, i) => parseEntry(entry, type, bids[i], asks[i], context)) };
  },

  checksum: krakenBookChecksum,
};
