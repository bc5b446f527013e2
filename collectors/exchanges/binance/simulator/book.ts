/**
 * Binance spot order books as the simulator serves them: `<symbol>@depth20@100ms` partial depth
 * (web-socket-streams.md "Partial Book Depth Streams": top 20 levels every 100 ms) and REST
 * `GET /api/v3/depth` (rest-api.md "Order book"), from one SimulatedBook per listed symbol.
 */
import { BookFault, priceText, SimulatedBook, sizeText, ticksOf, type SimLevel } from '../../../simulator/book.js';
import type { RequestBudget } from '../../../simulator/request-budget.js';
import type { RestAnswer } from '../../../simulator/server.js';

const PARTIAL_LEVELS = 20;
const PUSH_INTERVAL_MS = 100;
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 5000;
// A regressed lastUpdateId: what a client sees when a stale book is replayed.
const CORRUPT_ID_OFFSET = 1000;

/** rest-api.md "Order book" weights by limit. */
function depthWeight(limit: number): number {
  return limit <= 100 ? 5 : limit <= 500 ? 25 : limit <= 1000 ? 50 : 250;
}

/** `[["price","qty"], ...]` with Binance's 8 decimals. */
function levels(side: readonly SimLevel[]): [string, string][] {
  return side.map((l) => [priceText(l.ticks, 8), sizeText(l.lots, 8)]);
}

export interface BinanceBooksOptions {
  /** Listed symbols in Binance's spelling (BTCUSDT). */
  symbols: readonly string[];
  seed: number;
  /** The last trade price of a symbol, which the book follows; undefined before the first trade. */
  lastPrice(symbol: string): string | undefined;
  /** Sends a payload on a stream to the clients subscribed to it. */
  publish(stream: string, payload: string): void;
  /** Runs `task` every `ms` until the simulator closes. */
  every(ms: number, task: () => void): void;
}

/** The simulator's Binance books: pushes partial depth and answers REST depth requests. */
export interface BinanceBooks {
  /** Fault: the next partial depth frame carries a lastUpdateId older than the book's. */
  corruptNextBookUpdate(): void;
  /** The answer to one `/api/v3/depth` request. */
  answerDepth(url: URL, budget: RequestBudget): RestAnswer;
}

/** Starts the books of every listed symbol, pushing `@depth20@100ms` frames every 100 ms. */
export function startBinanceBooks(options: BinanceBooksOptions): BinanceBooks {
  const books = new Map(options.symbols.map((symbol, i) => [symbol, new SimulatedBook(options.seed + i)]));
  const fault = new BookFault();
  const price = (symbol: string): number | undefined => {
    const last = options.lastPrice(symbol);
    return last === undefined ? undefined : ticksOf(last);
  };
  books.forEach((book, symbol) => book.step(price(symbol)));

  options.every(PUSH_INTERVAL_MS, () => {
    for (const [symbol, book] of books) {
      book.step(price(symbol));
      const lastUpdateId = fault.take() ? book.sequence - CORRUPT_ID_OFFSET : book.sequence;
      const payload = JSON.stringify({ lastUpdateId, bids: levels(book.top('bids', PARTIAL_LEVELS)), asks: levels(book.top('asks', PARTIAL_LEVELS)) });
      options.publish(`${symbol.toLowerCase()}@depth${PARTIAL_LEVELS}@${PUSH_INTERVAL_MS}ms`, payload);
    }
  });

  return {
    corruptNextBookUpdate: () => fault.arm(),
    answerDepth(url, budget) {
      const limitText = url.searchParams.get('limit');
      const limit = limitText === null ? DEFAULT_LIMIT : Number(limitText);
      const retryAfter = budget.spend(Number.isInteger(limit) ? depthWeight(limit) : 5);
      if (retryAfter !== undefined) return { status: 429, headers: { 'Retry-After': String(retryAfter) }, body: { code: -1003, msg: 'Too much request weight used.' } };
      const headers = { 'X-MBX-USED-WEIGHT-1M': String(budget.usedWeight()) };
      const symbol = url.searchParams.get('symbol');
      if (symbol === null) return { status: 400, headers, body: { code: -1102, msg: "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed." } };
      const book = books.get(symbol);
      if (!book) return { status: 400, headers, body: { code: -1121, msg: 'Invalid symbol.' } };
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) return { status: 400, headers, body: { code: -1130, msg: "Data sent for parameter 'limit' is not valid." } };
      return { status: 200, headers, body: { lastUpdateId: book.sequence, bids: levels(book.top('bids', limit)), asks: levels(book.top('asks', limit)) } };
    },
  };
}
