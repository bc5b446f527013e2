/**
 * Bybit v5 spot `orderbook.50.<SYMBOL>` as the simulator serves it (docs v5/websocket/public/orderbook):
 * a snapshot on subscribe, then deltas of the top 50 levels whose `u` goes up by one per message,
 * shaped like ws_orderbook50_spot_BTCUSDT_snapshot_delta_2024-11-08.jsonl; and REST
 * `GET /v5/market/orderbook` (docs v5/market/orderbook).
 */
import type { WebSocket } from 'ws';
import { BookFault, priceText, SimulatedBook, sizeText, ticksOf, topDiff, type SimLevel } from '../../../simulator/book.js';

const DEPTH = 50;
const PUSH_INTERVAL_MS = 100;
const TOPIC_PREFIX = `orderbook.${DEPTH}.`;
const MAX_REST_LIMIT = 200;

/** Bybit prints decimals without trailing zeros ("75845.4", "0.00039"). */
function trim(text: string): string {
  return text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
}

function levels(side: readonly SimLevel[]): [string, string][] {
  return side.map((l) => [trim(priceText(l.ticks)), trim(sizeText(l.lots, 6))]);
}

export interface BybitBooksOptions {
  /** Listed symbols in Bybit's spelling (BTCUSDT). */
  symbols: readonly string[];
  seed: number;
  lastPrice(symbol: string): string | undefined;
  clients(): Iterable<{ socket: WebSocket; topics: Set<string> }>;
  every(ms: number, task: () => void): void;
}

export interface BybitBooks {
  /** Sends a snapshot for each orderbook topic the client subscribed since `before`. */
  subscribed(client: { socket: WebSocket; topics: Set<string> }, before: ReadonlySet<string>): void;
  /** Fault: the next delta skips a `u`, as a lost message would. */
  corruptNextBookUpdate(): void;
  /** The `result` of `/v5/market/orderbook` for a symbol, or undefined when it is not listed. */
  restBook(symbol: string, limit: number): Record<string, unknown> | undefined;
}

/** Starts the books of every listed symbol, pushing deltas to subscribers every 100 ms. */
export function startBybitBooks(options: BybitBooksOptions): BybitBooks {
  const books = new Map(options.symbols.map((symbol, i) => [symbol, new SimulatedBook(options.seed + i)]));
  const fault = new BookFault();
  const held = new Map<string, { bids: SimLevel[]; asks: SimLevel[] }>();
  const updateIds = new Map(options.symbols.map((symbol) => [symbol, 1]));
  const price = (symbol: string): number | undefined => {
    const last = options.lastPrice(symbol);
    return last === undefined ? undefined : ticksOf(last);
  };
  const topOf = (symbol: string): { bids: SimLevel[]; asks: SimLevel[] } => {
    const book = books.get(symbol)!;
    return { bids: book.top('bids', DEPTH), asks: book.top('asks', DEPTH) };
  };
  for (const [symbol, book] of books) {
    book.step(price(symbol));
    held.set(symbol, topOf(symbol));
  }

  const frame = (symbol: string, type: 'snapshot' | 'delta', bids: readonly SimLevel[], asks: readonly SimLevel[], now: number): string => {
    const book = books.get(symbol)!;
    // Recorded key order: topic, ts, type, data {s, b, a, u, seq}, cts.
    return JSON.stringify({ topic: TOPIC_PREFIX + symbol, ts: now, type, data: { s: symbol, b: levels(bids), a: levels(asks), u: updateIds.get(symbol)!, seq: book.sequence }, cts: now - 3 });
  };

  options.every(PUSH_INTERVAL_MS, () => {
    const now = Date.now();
    for (const [symbol, book] of books) {
      book.step(price(symbol));
      const before = held.get(symbol)!;
      const after = topOf(symbol);
      held.set(symbol, after);
      const bids = topDiff(before.bids, after.bids);
      const asks = topDiff(before.asks, after.asks);
      if (bids.length + asks.length === 0) continue;
      const topic = TOPIC_PREFIX + symbol;
      const subscribers = [...options.clients()].filter((client) => client.topics.has(topic));
      if (subscribers.length === 0) continue;
      updateIds.set(symbol, updateIds.get(symbol)! + (fault.take() ? 2 : 1));
      const text = frame(symbol, 'delta', bids, asks, now);
      subscribers.forEach((client) => client.socket.send(text));
    }
  });

  return {
    corruptNextBookUpdate: () => fault.arm(),
    subscribed(client, before) {
      for (const topic of client.topics) {
        if (before.has(topic) || !topic.startsWith(TOPIC_PREFIX)) continue;
        const symbol = topic.slice(TOPIC_PREFIX.length);
        if (!books.has(symbol)) continue;
        const { bids, asks } = held.get(symbol)!;
        client.socket.send(frame(symbol, 'snapshot', bids, asks, Date.now()));
      }
    },
    restBook(symbol, limit) {
      const book = books.get(symbol);
      if (!book) return undefined;
      const n = Math.min(Math.max(1, limit), MAX_REST_LIMIT);
      const now = Date.now();
      return { s: symbol, b: levels(book.top('bids', n)), a: levels(book.top('asks', n)), ts: now, u: updateIds.get(symbol)!, seq: book.sequence, cts: now - 3 };
    },
  };
}
