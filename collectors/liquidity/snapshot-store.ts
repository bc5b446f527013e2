import type { Logger } from '../../common/logger.js';
import type { DataCollectionStorage, Point } from '../../storage/types.js';
import type { CollectorProgress } from '../types.js';
import { LIQUIDITY_FIELDS, liquidityKey, liquiditySnapshot, type PriceSize } from './depth.js';

/** Declares the `liquidity:<exchange>:<SYMBOL>` series of `symbols`. */
export async function declareLiquiditySeries(storage: DataCollectionStorage, exchange: string, symbols: readonly string[]): Promise<void> {
  for (const symbol of symbols) {
    await storage.declare({ key: liquidityKey(exchange, symbol), fields: LIQUIDITY_FIELDS, labels: { kind: 'liquidity', exchange, symbol } });
  }
}

/** One book to snapshot: its symbol, its sides best first, and the exchange time of its newest data. */
export interface BookView {
  symbol: string;
  bids: readonly PriceSize[];
  asks: readonly PriceSize[];
  time?: number;
}

/**
 * Stores one snapshot per book at `timestamp`; books with no meaningful mid (a side empty) are
 * skipped. Returns how many were stored. A refused point is logged, not fatal: the next interval
 * brings a fresh snapshot anyway.
 */
export async function storeSnapshots(
  storage: DataCollectionStorage,
  exchange: string,
  books: readonly BookView[],
  timestamp: number,
  progress: CollectorProgress,
  logger: Logger,
): Promise<number> {
  const points: Point[] = [];
  let newest: number | undefined;
  for (const book of books) {
    const snapshot = liquiditySnapshot(book.bids, book.asks);
    if (!snapshot) continue;
    points.push({ key: liquidityKey(exchange, book.symbol), value: { ...snapshot }, timestamp });
    if (book.time !== undefined) newest = Math.max(newest ?? book.time, book.time);
  }
  if (points.length === 0) return 0;
  const result = await storage.storeMany(points);
  for (const rejected of result.rejected) logger.warn({ key: rejected.key, reason: rejected.reason }, 'liquidity snapshot refused by storage');
  if (result.accepted > 0) progress.recordStored(result.accepted, newest ?? timestamp);
  return result.accepted;
}

/**
 * Calls `task` at every multiple of `intervalMs` since the epoch (so snapshots of different
 * collectors and restarts line up) until `signal` aborts; one call at a time, a slow one skips
 * the ticks it overran. Resolves when `signal` aborts; rejects with the task's error.
 */
export async function everyInterval(intervalMs: number, signal: AbortSignal, task: (tick: number) => Promise<void>): Promise<void> {
  while (!signal.aborted) {
    const now = Date.now();
    const tick = Math.floor(now / intervalMs) * intervalMs + intervalMs;
    const aborted = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve(false);
      }, tick - now);
      const onAbort = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
    if (aborted) return;
    await task(tick);
  }
}
