import { crc32 } from 'node:zlib';
import type { BookFrame, BookProtocol, BookUpdate } from '../../liquidity/book-protocol.js';
import { textLevels } from '../../liquidity/levels.js';
import type { BookLevel, OrderBook } from '../../liquidity/order-book.js';
import { type Json, isObject } from '../../trades/wire.js';
import type { FrameContext, SubscribeRequest } from '../../ws/channel-protocol.js';
import type { SymbolTable } from '../../ws/symbol-table.js';
import { OKX_PONG, okxConnection, okxEvent, okxRequest, okxSubscribeRequests } from './connection.js';

const CHECKSUM_LEVELS = 25;
const MILLIS = /^\d{1,15}$/;

/** The book channels read here: `books5` (5 levels, full snapshot each push) and `books` (400 levels, snapshot then checksummed deltas). */
export type OkxBookChannel = 'books5' | 'books';

/**
 * OKX's book checksum (docs "Order book channel", checksum): the top 25 bids and asks interleaved
 * as `bidPx:bidSz:askPx:askSz:…` (a side that runs out is left out), CRC32 as a signed 32-bit integer,
 * over the decimal strings exactly as OKX sent them.
 */
export function okxBookChecksum(book: OrderBook): number {
  const parts: string[] = [];
  const text = (level: BookLevel): string => `${level.priceText}:${level.sizeText}`;
  for (let i = 0; i < CHECKSUM_LEVELS; i++) {
    const bid = book.bids[i];
    const ask = book.asks[i];
    if (bid) parts.push(text(bid));
    if (ask) parts.push(text(ask));
  }
  return crc32(parts.join(':')) | 0;
}

/** An optional integer field (seqId, prevSeqId, checksum). */
function optionalInteger(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new Error(`${field} is not an integer: ${JSON.stringify(value)}`);
  return value;
}

/** One entry of a books push. */
function parseEntry(entry: unknown, instId: string, type: BookUpdate['type'], context: FrameContext): BookUpdate {
  if (!isObject(entry)) throw new Error('books entry is not an object');
  const symbol = context.symbols.fromExchange(instId);
  if (symbol === undefined) throw new Error(`book for ${instId}, which this connection did not subscribe`);
  if (typeof entry.ts !== 'string' || !MILLIS.test(entry.ts)) throw new Error(`ts is not a millisecond timestamp string: ${JSON.stringify(entry.ts)}`);
  const prevSeqId = optionalInteger(entry.prevSeqId, 'prevSeqId');
  return {
    symbol,
    type,
    bids: textLevels(entry.bids, 'bids'),
    asks: textLevels(entry.asks, 'asks'),
    time: Number(entry.ts),
    sequence: optionalInteger(entry.seqId, 'seqId'),
    // A snapshot's prevSeqId is -1; only a delta is checked against the book's sequence.
    follows: type === 'delta' && prevSeqId !== undefined && prevSeqId >= 0 ? prevSeqId : undefined,
    checksum: optionalInteger(entry.checksum, 'checksum'),
  };
}

/** OKX v5 public order-book hooks for one of its book channels on `/ws/v5/public`. */
export function okxBookProtocol(channel: OkxBookChannel): BookProtocol {
  return {
    connection: okxConnection,
    depth: channel === 'books5' ? 5 : 400,

    subscribeMessages(symbols: SymbolTable, firstRequest?: number): SubscribeRequest[] {
      return okxSubscribeRequests(symbols, channel, 'books', firstRequest);
    },

    // books5 pushes full snapshots; `books` sends a new snapshot only on a new subscription.
    resyncMessages(symbol: string, symbols: SymbolTable): string[] {
      if (channel === 'books5') return [];
      const instId = symbols.toExchange(symbol);
      return [okxRequest('unsubscribe', channel, [instId], 'resync'), okxRequest('subscribe', channel, [instId], 'resync')];
    },

    onMessage(text: string, context: FrameContext): BookFrame {
      if (text === 'pong') return OKX_PONG;
      const message: unknown = JSON.parse(text);
      if (!isObject(message)) throw new Error('frame is not a JSON object');
      if (typeof message.event === 'string') return okxEvent(message);
      const arg: Json = isObject(message.arg) ? message.arg : {};
      if (typeof arg.channel !== 'string') throw new Error('frame has neither an event nor an arg.channel');
      if (arg.channel !== channel) return {};
      if (typeof arg.instId !== 'string') throw new Error(`${channel} frame without arg.instId`);
      if (!Array.isArray(message.data)) throw new Error(`${channel} frame without a data array`);
      const type = message.action === 'update' ? 'delta' : 'snapshot';
      const instId = arg.instId;
      return { books: message.data.map((entry) => parseEntry(entry, instId, type, context)) };
    },

    checksum: okxBookChecksum,
  };
}

/** OKX `books5`: the top 5 levels every 100 ms, each push a full snapshot (the choice of channel). */
export const okxBook: BookProtocol = okxBookProtocol('books5');
