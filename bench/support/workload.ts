/**
 * The storage benchmarks' shared workload, so every backend is measured on the same data in
 * the same way: trade-like samples over 20 keys written with `storeMany` in batches of 1000,
 * and a day of 1m klines to fetch.
 */
import { performance, monitorEventLoopDelay } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { DataCollectionStorage, MergePolicy, Point, SeriesDeclaration } from '../../storage/types.js';

/** Samples per `storeMany` call. */
export const BATCH = 1000;
/** Trade series written. */
export const KEYS = 20;
/** The first sample's time, and the kline day's start. */
export const T0 = Date.UTC(2026, 0, 1);
export const DAY_MS = 86_400_000;

export const TRADE_FIELDS = { price: 'last', amount: 'sum', count: 'sum', buy_amount: 'sum', notional: 'sum' } as const satisfies Record<string, MergePolicy>;
export const KLINE_FIELDS = { open: 'last', high: 'last', low: 'last', close: 'last', volume: 'last' } as const satisfies Record<string, MergePolicy>;

/** Deterministic PRNG (mulberry32), so every run writes the same data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface TradeSet {
  declarations: SeriesDeclaration[];
  /** The samples, pre-cut into `storeMany` batches (slicing is not part of the timing). */
  batches: Point[][];
  points: Point[];
  /** Distinct (key, ms): the rows per field that end up stored. */
  distinct: number;
}

/**
 * Trade-like samples: per key, timestamps never go back; the clock advances 1–3 ms on ~60% of
 * samples, and ~10% are a burst (same key, same ms as the previous sample), so the `sum`
 * fields merge. `keyPrefix` goes in front of every key (the data is the same whatever it is).
 */
export function makeTrades(n: number, seed = 42, keyPrefix = ''): TradeSet {
  const rand = prng(seed);
  const symbols = Array.from({ length: KEYS }, (_, i) => `SYM${i}-USDT`);
  const keys = symbols.map((s) => `${keyPrefix}trades:binance:${s}`);
  const declarations = keys.map((key, i) => ({
    key,
    fields: TRADE_FIELDS,
    labels: { kind: 'trades', exchange: 'binance', symbol: symbols[i]! },
  }));
  const prices = keys.map((_, i) => 100 + i * 37.5);
  const lastTs = new Array<number>(KEYS).fill(-1);
  const points: Point[] = new Array<Point>(n);
  let t = T0;
  let k = 0;
  let distinct = 0;
  for (let i = 0; i < n; i++) {
    if (i === 0 || rand() >= 0.1) {
      k = Math.floor(rand() * KEYS);
      if (rand() < 0.6) t += 1 + Math.floor(rand() * 3);
    }
    prices[k]! *= 1 + (rand() - 0.5) * 2e-4;
    const price = Math.round(prices[k]! * 100) / 100;
    const amount = Math.round(rand() * 2e6 + 1) / 1e6;
    const value = { price, amount, count: 1, buy_amount: rand() < 0.5 ? amount : 0, notional: price * amount };
    points[i] = { key: keys[k]!, value, timestamp: t };
    if (lastTs[k] !== t) distinct += 1;
    lastTs[k] = t;
  }
  const batches: Point[][] = [];
  for (let i = 0; i < n; i += BATCH) batches.push(points.slice(i, i + BATCH));
  return { declarations, batches, points, distinct };
}

/** A day of 1m klines (1,440 × open/high/low/close/volume) starting at `day`. */
export function makeKlines(key: string, day: number, seed = 7): Point[] {
  const rand = prng(seed);
  let close = 50_000;
  const out: Point[] = [];
  for (let m = 0; m < 1440; m++) {
    const open = close;
    close = Math.round(open * (1 + (rand() - 0.5) * 2e-3) * 100) / 100;
    const high = Math.round(Math.max(open, close) * (1 + rand() * 5e-4) * 100) / 100;
    const low = Math.round(Math.min(open, close) * (1 - rand() * 5e-4) * 100) / 100;
    out.push({ key, timestamp: day + m * 60_000, value: { open, high, low, close, volume: Math.round(rand() * 1e6) / 1e4 } });
  }
  return out;
}

/** The kline series every storage bench fetches. */
export function klineDeclaration(key: string): SeriesDeclaration {
  return { key, fields: KLINE_FIELDS, labels: { kind: 'klines', exchange: 'binance', symbol: 'BTC-USDT' } };
}

export interface WriteResult {
  seconds: number;
  /** Longest single `storeMany` call (ms): the event loop is blocked while it writes. */
  longestCallMs: number;
  /** Longest event-loop stall seen while writing (ms), when measured. */
  maxLoopStallMs?: number;
}

/** Writes the set through a backend in batches of 1000, then flushes. Declarations are untimed. */
export async function writeThrough(storage: DataCollectionStorage, set: TradeSet, yieldBetweenBatches: boolean): Promise<WriteResult> {
  for (const d of set.declarations) await storage.declare(d);
  const loop = yieldBetweenBatches ? monitorEventLoopDelay({ resolution: 1 }) : undefined;
  loop?.enable();
  let longestCallMs = 0;
  const t0 = performance.now();
  for (const batch of set.batches) {
    const c0 = performance.now();
    const result = await storage.storeMany(batch);
    const c = performance.now() - c0;
    if (c > longestCallMs) longestCallMs = c;
    if (result.rejected.length > 0) throw new Error(`bench data rejected: ${result.rejected[0]!.reason}`);
    // What a collector fed by a socket does: the event loop turns between batches, so
    // background writes (setImmediate / flush timers / socket replies) get to run.
    if (yieldBetweenBatches) await nextTurn();
  }
  await storage.flush();
  const seconds = (performance.now() - t0) / 1000;
  loop?.disable();
  return { seconds, longestCallMs, maxLoopStallMs: loop ? loop.max / 1e6 : undefined };
}
