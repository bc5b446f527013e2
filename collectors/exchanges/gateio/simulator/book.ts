/**
 * Gate `spot.order_book` as the simulator serves it: each subscription's top N levels every interval,
 * shaped like ws_order_book_BTC_USDT_20levels_2022-09-08_cmp.json; and REST `GET /api/v4/spot/order_book`
 * shaped like the docs example rest_spot_order_book (id only with `with_id=true`).
 */
import type { WebSocket } from 'ws';
import { BookFault, priceText, SimulatedBook, sizeText, ticksOf, type SimLevel } from '../../../simulator/book.js';
import type { RequestBudget } from '../../../simulator/request-budget.js';
import type { RestAnswer } from '../../../simulator/server.js';
import { gateError } from './history.js';
import { gateDecimal, gateUpdateFrame } from './trades.js';

const CHANNEL = 'spot.order_book';
// docs spot.order_book: level 5, 10, 20, 50 or 100; interval 100ms or 1000ms.
const LEVELS = new Set(['5', '10', '20', '50', '100']);
const INTERVALS_MS: Readonly<Record<string, number>> = { '100ms': 100, '1000ms': 1000 };
const TICK_MS = 100;
// REST limit: docs default 10; the recorded requests ask for 100, the most served here.
const REST_DEFAULT_LIMIT = 10;
const REST_MAX_LIMIT = 100;
// How far back a corrupted frame's lastUpdateId goes: older than the book, as a replayed frame.
const CORRUPT_IDS_BACK = 1_000;

function levels(side: readonly SimLevel[]): [string, string][] {
  return side.map((l) => [gateDecimal(priceText(l.ticks)), gateDecimal(sizeText(l.lots))]);
}

/** Why a spot.order_book payload [pair, level, interval] is refused, past the pair; undefined when accepted. */
export function gateBookPayloadProblem(payload: readonly string[]): string | undefined {
  const [, level, interval] = payload;
  if (payload.length !== 3 || !LEVELS.has(level!) || !(interval! in INTERVALS_MS)) return `Invalid argument provided: ${JSON.stringify(payload)}`;
  return undefined;
}

export interface GateBooksOptions {
  /** Listed pairs (BTC_USDT). */
  pairs: readonly string[];
  seed: number;
  lastPrice(pair: string): string | undefined;
  /** Open clients and their `channel:pair[:options]` subscriptions. */
  clients(): Iterable<{ socket: WebSocket; subscriptions: ReadonlySet<string> }>;
  every(ms: number, task: () => void): void;
}

export interface GateBooks {
  /** Fault: the next frame carries a lastUpdateId lower than the book's. */
  corruptNextBookUpdate(): void;
  /** The answer to `/api/v4/spot/order_book`. */
  answerRest(url: URL, budget: RequestBudget): RestAnswer;
}

/** Starts every listed pair's book, moving it every 100 ms and pushing each subscription its snapshot at its interval. */
export function startGateBooks(options: GateBooksOptions): GateBooks {
  const books = new Map(options.pairs.map((pair, i) => [pair, new SimulatedBook(options.seed + i)]));
  const fault = new BookFault();
  const price = (pair: string): number | undefined => {
    const last = options.lastPrice(pair);
    return last === undefined ? undefined : ticksOf(last);
  };
  for (const [pair, book] of books) book.step(price(pair));
  let ticks = 0;

  options.every(TICK_MS, () => {
    ticks += 1;
    for (const [pair, book] of books) book.step(price(pair));
    const now = Date.now();
    // One frame per subscription key a tick, the same for every client of it.
    const frames = new Map<string, string | undefined>();
    const frameOf = (subscription: string): string | undefined => {
      const [, pair, level, interval] = subscription.split(':');
      const book = books.get(pair!);
      if (book === undefined || ticks % ((INTERVALS_MS[interval!] ?? TICK_MS) / TICK_MS) !== 0) return undefined;
      const back = fault.take() ? CORRUPT_IDS_BACK : 0;
      // The recorded result's key order: t, lastUpdateId, s, bids, asks.
      const depth = Number(level);
      return gateUpdateFrame(CHANNEL, { t: now, lastUpdateId: book.sequence - back, s: pair, bids: levels(book.top('bids', depth)), asks: levels(book.top('asks', depth)) }, now);
    };
    for (const client of options.clients()) {
      for (const subscription of client.subscriptions) {
        if (!subscription.startsWith(`${CHANNEL}:`)) continue;
        if (!frames.has(subscription)) frames.set(subscription, frameOf(subscription));
        const frame = frames.get(subscription);
        if (frame !== undefined) client.socket.send(frame);
      }
    }
  });

  return {
    corruptNextBookUpdate: () => fault.arm(),
    answerRest(url, budget) {
      if (budget.spend(1) !== undefined) return gateError(429, 'TOO_MANY_REQUESTS', 'Request Rate limit Exceeded');
      const pair = url.searchParams.get('currency_pair');
      if (!pair) return gateError(400, 'MISSING_REQUIRED_PARAM', 'Missing required parameter: currency_pair');
      const book = books.get(pair);
      if (!book) return gateError(400, 'INVALID_CURRENCY_PAIR', `Invalid currency pair ${pair}`);
      const limit = Number(url.searchParams.get('limit') ?? REST_DEFAULT_LIMIT);
      if (!Number.isInteger(limit) || limit < 1 || limit > REST_MAX_LIMIT) return gateError(400, 'INVALID_PARAM_VALUE', `Invalid limit ${String(url.searchParams.get('limit'))}`);
      const now = Date.now();
      const id = url.searchParams.get('with_id') === 'true' ? { id: book.sequence } : {};
      return { status: 200, body: { ...id, current: now, update: now, asks: levels(book.top('asks', limit)), bids: levels(book.top('bids', limit)) } };
    },
  };
}
