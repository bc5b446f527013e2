/**
 * OKX v5 order books as the simulator serves them, from one SimulatedBook per listed instrument:
 * `books5` on `/ws/v5/public` (the top 5 levels, a full snapshot on subscribe and whenever they
 * change, shaped like ws_books5_BTC-USDT_2022.json plus the `seqId` of the 2026 docs), `books`
 * (a snapshot on subscribe, then updates of the changed levels with the CRC32 checksum of the
 * top 25 and seqId/prevSeqId, shaped like ws_books_BTC-USDT_snapshot_then_updates.jsonl and the
 * docs) and REST `GET /api/v5/market/books` (rest_books_BTC-USDT_2022_truncated.json).
 */
import type { WebSocket } from 'ws';
import { OrderBook } from '../../../liquidity/order-book.js';
import { BookFault, priceText, SimulatedBook, sizeText, ticksOf, topDiff, type SimLevel } from '../../../simulator/book.js';
import type { RequestBudget } from '../../../simulator/request-budget.js';
import type { RestAnswer } from '../../../simulator/server.js';
import { okxBookChecksum } from '../book.js';
import { OKX_MAINTENANCE_ANSWER } from './klines.js';

// docs "Order book channel": `books` holds 400 levels per side, `books5` 5; both push every 100 ms.
const BOOKS_DEPTH = 400;
const BOOKS5_DEPTH = 5;
const PUSH_INTERVAL_MS = 100;
// The checksum covers the top 25 levels per side (docs "Order book channel", checksum).
const CHECKSUM_LEVELS = 25;
// docs "GET / Order book": sz up to 400, default 1.
const MAX_REST_SZ = 400;
// A books5 push whose seqId went back this far: what a client sees when a stale book is replayed.
const CORRUPT_SEQ_OFFSET = 1000;

/** A connected client as the books see it: its subscribed `channel:instId` args. */
export interface OkxBookClient {
  readonly socket: WebSocket;
  readonly args: ReadonlySet<string>;
  /** Pushed data keeps a connection alive (the 30 s idle cut-off). */
  lastActivityAt: number;
}

export interface OkxBooksOptions {
  /** Listed instIds (BTC-USDT). */
  symbols: readonly string[];
  seed: number;
  /** The last trade price of an instrument, which its book follows; undefined before the first trade. */
  lastPrice(instId: string): string | undefined;
  clients(): Iterable<OkxBookClient>;
  every(ms: number, task: () => void): void;
}

/** The simulator's OKX books: pushes `books5` and `books`, answers REST `market/books`. */
export interface OkxBooks {
  /** Sends the first push of each book arg the client subscribed since `before` (its `args` then). */
  subscribed(client: OkxBookClient, before: ReadonlySet<string>): void;
  /** Fault: the next `books` update carries a wrong checksum, or the next `books5` push a seqId gone back. */
  corruptNextBookUpdate(): void;
  /** The answer to one `/api/v5/market/books` request. */
  answerBooks(url: URL, budget: RequestBudget, maintenance: boolean): RestAnswer;
}

/** The levels a `books` subscriber holds, and the seqId of the last message they came with. */
interface Held {
  bids: SimLevel[];
  asks: SimLevel[];
  seqId: number;
}

/** "65000.10000000" → "65000.1", "0.00000000" → "0": OKX prints decimals without trailing zeros. */
function okxDecimal(value: string): string {
  return value.includes('.') ? value.replace(/\.?0+$/, '') : value;
}

/** `[price, size, "0", orders]` entries; a deleted level has size and orders "0", as recorded. */
function entries(levels: readonly SimLevel[]): [string, string, string, string][] {
  // The order count is made up from the size: only its shape matters to clients.
  return levels.map((l) => [okxDecimal(priceText(l.ticks)), okxDecimal(sizeText(l.lots)), '0', String(l.lots === 0 ? 0 : 1 + (l.lots % 7))]);
}

/** The levels a `books5` push carries. */
function top5(levels: readonly SimLevel[]): SimLevel[] {
  return levels.slice(0, BOOKS5_DEPTH);
}

/** The checksum a client holding these levels computes. */
function checksumOf({ bids, asks }: { bids: readonly SimLevel[]; asks: readonly SimLevel[] }): number {
  const book = new OrderBook();
  const text = (l: SimLevel): [string, string] => [okxDecimal(priceText(l.ticks)), okxDecimal(sizeText(l.lots))];
  book.replace(bids.slice(0, CHECKSUM_LEVELS).map(text), asks.slice(0, CHECKSUM_LEVELS).map(text));
  return okxBookChecksum(book);
}

/** An OKX REST error envelope with its documented HTTP status. */
function error(status: number, code: string, msg: string): RestAnswer {
  return { status, body: { code, msg, data: [] } };
}

/** Starts the books of every listed instrument, pushing to subscribers every 100 ms. */
export function startOkxBooks(options: OkxBooksOptions): OkxBooks {
  const books = new Map(options.symbols.map((instId, i) => [instId, new SimulatedBook(options.seed + i)]));
  const fault = new BookFault();
  const held = new Map<string, Held>();
  const price = (instId: string): number | undefined => {
    const last = options.lastPrice(instId);
    return last === undefined ? undefined : ticksOf(last);
  };
  const topOf = (book: SimulatedBook, depth: number): { bids: SimLevel[]; asks: SimLevel[] } => ({ bids: book.top('bids', depth), asks: book.top('asks', depth) });
  for (const [instId, book] of books) {
    book.step(price(instId));
    held.set(instId, { ...topOf(book, BOOKS_DEPTH), seqId: book.sequence });
  }

  const booksFrame = (instId: string, action: 'snapshot' | 'update', bids: readonly SimLevel[], asks: readonly SimLevel[], extra: { checksum: number; prevSeqId: number; seqId: number }): string =>
    // Key order of the recording (asks, bids, ts, checksum) then the docs' prevSeqId, seqId.
    JSON.stringify({ arg: { channel: 'books', instId }, action, data: [{ asks: entries(asks), bids: entries(bids), ts: String(Date.now()), ...extra }] });

  const books5Frame = (instId: string, top: Held, seqId: number): string =>
    JSON.stringify({ arg: { channel: 'books5', instId }, data: [{ asks: entries(top5(top.asks)), bids: entries(top5(top.bids)), instId, ts: String(Date.now()), seqId }] });

  /** Sends `text()` to the clients subscribed to `arg`; built only when there are some, so a fault is spent on a frame someone gets. */
  const push = (arg: string, text: () => string): void => {
    const subscribers = [...options.clients()].filter((client) => client.args.has(arg));
    if (subscribers.length === 0) return;
    const frame = text();
    const now = Date.now();
    for (const client of subscribers) {
      client.socket.send(frame);
      client.lastActivityAt = now;
    }
  };

  options.every(PUSH_INTERVAL_MS, () => {
    for (const [instId, book] of books) {
      book.step(price(instId));
      const before = held.get(instId)!;
      const after: Held = { ...topOf(book, BOOKS_DEPTH), seqId: book.sequence };
      const bids = topDiff(before.bids, after.bids);
      const asks = topDiff(before.asks, after.asks);
      if (bids.length + asks.length === 0) continue;
      held.set(instId, after);
      push(`books:${instId}`, () => {
        const checksum = checksumOf(after);
        // `^ 1` keeps it a signed 32-bit integer, as OKX prints checksums.
        return booksFrame(instId, 'update', bids, asks, { checksum: fault.take() ? checksum ^ 1 : checksum, prevSeqId: before.seqId, seqId: after.seqId });
      });
      // docs: books5 is pushed when its levels change.
      const top5Changed = topDiff(top5(before.bids), top5(after.bids)).length + topDiff(top5(before.asks), top5(after.asks)).length > 0;
      if (top5Changed) push(`books5:${instId}`, () => books5Frame(instId, after, fault.take() ? after.seqId - CORRUPT_SEQ_OFFSET : after.seqId));
    }
  });

  return {
    corruptNextBookUpdate: () => fault.arm(),

    subscribed(client, before) {
      for (const arg of client.args) {
        if (before.has(arg)) continue;
        const [channel, instId] = arg.split(':') as [string, string];
        const top = held.get(instId);
        if (!top) continue;
        if (channel === 'books') {
          const checksum = checksumOf(top);
          client.socket.send(booksFrame(instId, 'snapshot', top.bids, top.asks, { checksum, prevSeqId: -1, seqId: top.seqId }));
        } else if (channel === 'books5') {
          client.socket.send(books5Frame(instId, top, top.seqId));
        }
      }
    },

    answerBooks(url, budget, maintenance) {
      if (maintenance) return OKX_MAINTENANCE_ANSWER;
      // docs: 40 requests per 2 s per IP; over it 50011 as HTTP 429, as the other market endpoints.
      if (budget.spend(1) !== undefined) return error(429, '50011', 'Too Many Requests');
      const instId = url.searchParams.get('instId');
      if (!instId) return error(400, '50014', 'Parameter instId can not be empty.');
      const book = books.get(instId);
      if (!book) return error(200, '51001', "Instrument ID, Instrument ID code or Spread ID doesn't exist.");
      const szText = url.searchParams.get('sz');
      if (szText !== null && !/^[1-9]\d*$/.test(szText)) return error(400, '51000', 'Parameter sz error');
      const sz = Math.min(MAX_REST_SZ, szText === null ? 1 : Number(szText));
      return { status: 200, body: { code: '0', msg: '', data: [{ asks: entries(book.top('asks', sz)), bids: entries(book.top('bids', sz)), ts: String(Date.now()) }] } };
    },
  };
}
