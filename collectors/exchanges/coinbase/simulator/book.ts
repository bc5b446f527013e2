/**
 * Coinbase Exchange order books as the simulator serves them, from one SimulatedBook per listed
 * product: the public `level2_batch` channel of the ws-feed (a full `snapshot` on subscribe, then
 * `l2update` frames of the changes batched every 50 ms, shaped like
 * ws_level2_snapshot_and_l2update_*.jsonl) and REST `GET /products/<id>/book` (levels 1 and 2,
 * shaped like rest_book_level2_2022_truncated_cmp.json and rest_book_level1_BTC-USD_2026-06-19.json).
 */
import type { WebSocket } from 'ws';
import { BookFault, priceText, SimulatedBook, sizeText, ticksOf, type SimLevel } from '../../../simulator/book.js';
import type { RequestBudget } from '../../../simulator/request-budget.js';
import type { RestAnswer } from '../../../simulator/server.js';
import { isoMicros, trimDecimal } from './frames.js';
import type { Subscriptions } from './requests.js';

// websocket-feed/channels: level2_batch "delivers level2 messages in batches every 50 milliseconds".
const PUSH_INTERVAL_MS = 50;
const CHANNEL = 'level2_batch';
// Every level the simulated book keeps goes in a snapshot (Coinbase sends the whole book).
const ALL_LEVELS = Number.MAX_SAFE_INTEGER;
// docs "Get product book": level 2 is the top 50 aggregated levels per side.
const LEVEL2_DEPTH = 50;

/** A connected ws-feed client as the books see it. */
export interface CoinbaseBookClient {
  readonly socket: WebSocket;
  readonly subscriptions: Subscriptions;
}

export interface CoinbaseBooksOptions {
  /** Listed product ids (BTC-USD). */
  products: readonly string[];
  seed: number;
  /** The last trade price of a product, which its book follows; undefined before the first trade. */
  lastPrice(id: string): string | undefined;
  clients(): Iterable<CoinbaseBookClient>;
  every(ms: number, task: () => void): void;
}

/** The simulator's Coinbase books: pushes `level2_batch`, answers REST `/products/<id>/book`. */
export interface CoinbaseBooks {
  /** The `snapshot` frame a new `level2_batch` subscriber of a listed product gets. */
  snapshot(id: string): string;
  /** Fault: the next l2update carries a bid at the best ask, crossing the book (the only check level2 allows). */
  corruptNextBookUpdate(): void;
  /** The answer to `/products/<id>/book` for a listed product. */
  answerBook(id: string, url: URL, budget: RequestBudget): RestAnswer;
}

/** ws-feed prices with the quote increment's 2 decimals and sizes with BTC's 8, zeros kept, as level2 prints them. */
function wsLevel(l: SimLevel): [string, string] {
  return [priceText(l.ticks), sizeText(l.lots)];
}

/** REST `[price, size, num_orders]` entries, decimals without trailing zeros as recorded. */
function restEntries(levels: readonly SimLevel[]): [string, string, number][] {
  // The order count is made up from the size: only its shape matters to clients.
  return levels.map((l) => [trimDecimal(priceText(l.ticks)), trimDecimal(sizeText(l.lots)), 1 + (l.lots % 7)]);
}

/** Starts the books of every listed product, pushing l2update batches to subscribers every 50 ms. */
export function startCoinbaseBooks(options: CoinbaseBooksOptions): CoinbaseBooks {
  const books = new Map(options.products.map((id, i) => [id, new SimulatedBook(options.seed + i)]));
  const fault = new BookFault();
  const price = (id: string): number | undefined => {
    const last = options.lastPrice(id);
    return last === undefined ? undefined : ticksOf(last);
  };
  books.forEach((book, id) => book.step(price(id)));

  options.every(PUSH_INTERVAL_MS, () => {
    const now = Date.now();
    for (const [id, book] of books) {
      const change = book.step(price(id));
      const subscribers = [...options.clients()].filter((client) => client.subscriptions.get(CHANNEL)?.has(id));
      if (subscribers.length === 0 || change.bids.length + change.asks.length === 0) continue;
      const changes = [...change.bids.map((l) => ['buy', ...wsLevel(l)]), ...change.asks.map((l) => ['sell', ...wsLevel(l)])];
      const bestAsk = book.top('asks', 1)[0];
      if (bestAsk && fault.take()) changes.push(['buy', priceText(bestAsk.ticks), sizeText(1)]);
      // Recorded key order: type, product_id, changes, time.
      const text = JSON.stringify({ type: 'l2update', product_id: id, changes, time: isoMicros(now, (book.sequence * 337) % 1000) });
      subscribers.forEach((client) => client.socket.send(text));
    }
  });

  return {
    corruptNextBookUpdate: () => fault.arm(),

    snapshot(id) {
      const book = books.get(id)!;
      // Recorded key order: type, product_id, asks, bids.
      return JSON.stringify({ type: 'snapshot', product_id: id, asks: book.top('asks', ALL_LEVELS).map(wsLevel), bids: book.top('bids', ALL_LEVELS).map(wsLevel) });
    },

    answerBook(id, url, budget) {
      // Public endpoints: 10 requests per second per IP, as for candles and trades.
      if (budget.spend(1) !== undefined) return { status: 429, body: { message: 'Public rate limit exceeded' } };
      const level = url.searchParams.get('level') ?? '1';
      // Level 3 (every order) is not simulated; the refusal's wording is assumed.
      if (level !== '1' && level !== '2') return { status: 400, body: { message: 'Invalid level' } };
      const depth = level === '1' ? 1 : LEVEL2_DEPTH;
      const book = books.get(id)!;
      const now = new Date().toISOString();
      // The 2026 capture adds a nanosecond `time` after the 2022 keys.
      return {
        status: 200,
        body: {
          bids: restEntries(book.top('bids', depth)), asks: restEntries(book.top('asks', depth)), sequence: book.sequence,
          auction_mode: false, auction: null, time: `${now.slice(0, -1)}000000Z`,
        },
      };
    },
  };
}
