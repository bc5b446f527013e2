/**
 * Kraken spot WebSocket v2 `book` channel as the simulator serves it (docs.kraken.com
 * spot-websocket-v2/book, guides/spot-ws-book-v2): per-symbol subscriptions with a depth, a
 * snapshot on subscribe, then updates of the levels that changed within that depth, each with
 * the CRC32 checksum of the top 10 levels. Frames are written as text so decimals keep Kraken's
 * fixed precision (price 2, qty 8), as in ws_v2_book_ETH-USD_depth10_*.jsonl.
 */
import type { WebSocket } from 'ws';
import { OrderBook } from '../../../liquidity/order-book.js';
import { BookFault, priceText, SimulatedBook, sizeText, ticksOf, topDiff, type SimLevel } from '../../../simulator/book.js';
import { isJsonObject } from '../../../simulator/json.js';
import { krakenBookChecksum } from '../book.js';
import { isoMicros, methodReply, subscriptionRefusal } from './frames.js';

const DEPTHS = [10, 25, 100, 500, 1000];
const DEFAULT_DEPTH = 10;
const PUSH_INTERVAL_MS = 100;

/** A client's book subscriptions: v2 symbol → depth. */
export type BookSubscriptions = Map<string, number>;

export interface KrakenBooksOptions {
  /** Listed v2 symbols (BTC/USD). */
  symbols: readonly string[];
  seed: number;
  /** The last trade price of a symbol, which the book follows. */
  lastPrice(symbol: string): string | undefined;
  /** The connected clients and their book subscriptions. */
  clients(): Iterable<{ socket: WebSocket; books: BookSubscriptions }>;
  every(ms: number, task: () => void): void;
}

export interface KrakenBooks {
  /**
   * Kraken's answer to a `book` subscribe/unsubscribe (acks, then snapshots), applied to `books`;
   * undefined for any other request, which the trade channel's handler answers.
   */
  answer(text: string, books: BookSubscriptions): string[] | undefined;
  /** Fault: the next book update carries a wrong checksum. */
  corruptNextBookUpdate(): void;
  /** Book subscribe requests acknowledged since the start. */
  subscriptions(): number;
  /** A listed symbol's best `count` levels per side now, best first (what REST Depth serves). */
  top(symbol: string, count: number): { bids: SimLevel[]; asks: SimLevel[] };
}

/** `{"price":…,"qty":…}` entries as text. */
function levelsText(levels: readonly SimLevel[]): string {
  return levels.map((l) => `{"price":${priceText(l.ticks)},"qty":${sizeText(l.lots)}}`).join(',');
}

/** The checksum a client holding these top levels computes. */
function checksumOf(bids: readonly SimLevel[], asks: readonly SimLevel[]): number {
  const book = new OrderBook();
  const text = (l: SimLevel): [string, string] => [priceText(l.ticks), sizeText(l.lots)];
  book.replace(bids.map(text), asks.map(text));
  return krakenBookChecksum(book);
}

/** Starts the books of every listed symbol, pushing updates to subscribers every 100 ms. */
export function startKrakenBooks(options: KrakenBooksOptions): KrakenBooks {
  const books = new Map(options.symbols.map((symbol, i) => [symbol, new SimulatedBook(options.seed + i)]));
  const fault = new BookFault();
  let subscriptions = 0;
  // The top levels each depth's subscribers hold, per symbol: updates are diffs against them.
  const held = new Map<string, { bids: SimLevel[]; asks: SimLevel[] }>();
  const price = (symbol: string): number | undefined => {
    const last = options.lastPrice(symbol);
    return last === undefined ? undefined : ticksOf(last);
  };
  books.forEach((book, symbol) => book.step(price(symbol)));

  const topOf = (symbol: string, depth: number): { bids: SimLevel[]; asks: SimLevel[] } => {
    const book = books.get(symbol)!;
    return { bids: book.top('bids', depth), asks: book.top('asks', depth) };
  };

  const snapshotFrame = (symbol: string, depth: number): string => {
    const { bids, asks } = topOf(symbol, depth);
    held.set(`${symbol}|${depth}`, { bids, asks });
    return `{"channel":"book","type":"snapshot","data":[{"symbol":"${symbol}","bids":[${levelsText(bids)}],"asks":[${levelsText(asks)}],"checksum":${checksumOf(bids, asks)}}]}`;
  };

  options.every(PUSH_INTERVAL_MS, () => {
    const now = Date.now();
    for (const [symbol, book] of books) {
      book.step(price(symbol));
      const frames = new Map<number, string | undefined>();
      for (const client of options.clients()) {
        const depth = client.books.get(symbol);
        if (depth === undefined) continue;
        if (!frames.has(depth)) {
          const before = held.get(`${symbol}|${depth}`) ?? { bids: [], asks: [] };
          const after = topOf(symbol, depth);
          held.set(`${symbol}|${depth}`, after);
          const bids = topDiff(before.bids, after.bids);
          const asks = topDiff(before.asks, after.asks);
          let checksum = checksumOf(after.bids, after.asks);
          if (fault.take()) checksum = (checksum ^ 1) >>> 0;
          const frame = bids.length + asks.length === 0
            ? undefined
            : `{"channel":"book","type":"update","data":[{"symbol":"${symbol}","bids":[${levelsText(bids)}],"asks":[${levelsText(asks)}],"checksum":${checksum},"timestamp":"${isoMicros(now)}"}]}`;
          frames.set(depth, frame);
        }
        const frame = frames.get(depth);
        if (frame !== undefined) client.socket.send(frame);
      }
    }
  });

  return {
    corruptNextBookUpdate: () => fault.arm(),
    subscriptions: () => subscriptions,
    top: (symbol, count) => topOf(symbol, count),
    answer(text, subscribed) {
      let request: unknown;
      try {
        request = JSON.parse(text);
      } catch {
        return undefined;
      }
      if (!isJsonObject(request) || (request.method !== 'subscribe' && request.method !== 'unsubscribe')) return undefined;
      const params = isJsonObject(request.params) ? request.params : {};
      if (params.channel !== 'book') return undefined;
      const { method, req_id: reqId } = request;
      const timeIn = Date.now();
      const depth = params.depth === undefined ? DEFAULT_DEPTH : params.depth;
      if (typeof depth !== 'number' || !DEPTHS.includes(depth)) return [methodReply({ error: `Invalid depth ${String(depth)}`, method, reqId, success: false }, timeIn)];
      const symbols = Array.isArray(params.symbol) ? params.symbol.filter((s): s is string => typeof s === 'string') : [];
      const replies: string[] = [];
      const snapshots: string[] = [];
      for (const symbol of symbols) {
        const refusal = subscriptionRefusal(method, symbol, books.has(symbol), subscribed.has(symbol));
        if (refusal) {
          replies.push(methodReply({ error: refusal, method, reqId, success: false, symbol }, timeIn));
        } else if (method === 'subscribe') {
          subscribed.set(symbol, depth);
          subscriptions += 1;
          replies.push(methodReply({ method, reqId, result: { channel: 'book', depth, snapshot: true, symbol }, success: true }, timeIn));
          if (params.snapshot !== false) snapshots.push(snapshotFrame(symbol, depth));
        } else {
          subscribed.delete(symbol);
          replies.push(methodReply({ method, reqId, result: { channel: 'book', depth, symbol }, success: true }, timeIn));
        }
      }
      return [...replies, ...snapshots];
    },
  };
}
