/**
 * Bitstamp `order_book_<pair>` as the simulator serves it: the top 100 a side on subscribe and
 * whenever the book changes, shaped like ws_order_book_btcusd_2022-05-31_truncated_cmp.json; and
 * REST `GET /api/v2/order_book/<pair>/` shaped like rest_order_book_ethusd_2022-01-05.json.
 */
import type { WebSocket } from 'ws';
import { BookFault, priceText, SimulatedBook, sizeText, ticksOf, type SimLevel } from '../../../simulator/book.js';

const DEPTH = 100;
const PUSH_INTERVAL_MS = 100;
const CHANNEL_PREFIX = 'order_book_';
// How far back a corrupted frame's microtimestamp goes: older than the book, as a replayed frame.
const CORRUPT_MICROS_BACK = 5_000_000;

function levels(side: readonly SimLevel[]): [string, string][] {
  return side.map((l) => [priceText(l.ticks), sizeText(l.lots)]);
}

export interface BitstampBooksOptions {
  /** Listed pairs (btcusd). */
  pairs: readonly string[];
  seed: number;
  lastPrice(pair: string): string | undefined;
  clients(): Iterable<{ socket: WebSocket; channels: Set<string> }>;
  every(ms: number, task: () => void): void;
}

export interface BitstampBooks {
  /** Sends the current snapshot to a client that just subscribed `channel`. */
  subscribed(socket: WebSocket, channel: string): void;
  /** Fault: the next frame carries a microtimestamp older than the last one. */
  corruptNextBookUpdate(): void;
  /** The body of `/api/v2/order_book/<pair>/`, or undefined when the pair is not listed. */
  restBook(pair: string): Record<string, unknown> | undefined;
}

/** Starts every listed pair's book, pushing a snapshot to subscribers every 100 ms when it changed. */
export function startBitstampBooks(options: BitstampBooksOptions): BitstampBooks {
  const books = new Map(options.pairs.map((pair, i) => [pair, new SimulatedBook(options.seed + i)]));
  const fault = new BookFault();
  let lastMicros = Date.now() * 1000;
  const micros = (): number => (lastMicros = Math.max(lastMicros + 1, Date.now() * 1000));
  const price = (pair: string): number | undefined => {
    const last = options.lastPrice(pair);
    return last === undefined ? undefined : ticksOf(last);
  };
  for (const [pair, book] of books) book.step(price(pair));

  const body = (pair: string, depth: number, at: number): Record<string, unknown> => {
    const book = books.get(pair)!;
    // Recorded key order: timestamp, microtimestamp, bids, asks.
    return { timestamp: String(Math.floor(at / 1_000_000)), microtimestamp: String(at), bids: levels(book.top('bids', depth)), asks: levels(book.top('asks', depth)) };
  };
  // Recorded key order of data frames: data, channel, event.
  const frame = (pair: string, at: number): string => JSON.stringify({ data: body(pair, DEPTH, at), channel: CHANNEL_PREFIX + pair, event: 'data' });

  options.every(PUSH_INTERVAL_MS, () => {
    for (const [pair, book] of books) {
      const change = book.step(price(pair));
      if (change.bids.length + change.asks.length === 0) continue;
      const channel = CHANNEL_PREFIX + pair;
      const subscribers = [...options.clients()].filter((client) => client.channels.has(channel));
      if (subscribers.length === 0) continue;
      const at = fault.take() ? micros() - CORRUPT_MICROS_BACK : micros();
      const text = frame(pair, at);
      subscribers.forEach((client) => client.socket.send(text));
    }
  });

  return {
    corruptNextBookUpdate: () => fault.arm(),
    subscribed(socket, channel) {
      if (!channel.startsWith(CHANNEL_PREFIX)) return;
      const pair = channel.slice(CHANNEL_PREFIX.length);
      if (books.has(pair)) socket.send(frame(pair, micros()));
    },
    restBook: (pair) => (books.has(pair) ? body(pair, Number.POSITIVE_INFINITY, micros()) : undefined),
  };
}
