import { LastUsedMap } from '../../common/last-used-map.js';
import type { Trade } from './trade.js';

// Enough to cover a reconnect's replay on exchanges whose ids carry no order.
const RECENT_IDS_PER_SYMBOL = 10_000;
// Increasing ids: the ids accepted last, kept so that one id far outside the sequence does not hide
// the ids around it; older ones fall under the floor.
const RECENT_INCREASING_IDS_PER_SYMBOL = 1_000;
const DIGITS = /^\d+$/;

/**
 * Orders two trade ids: numbers numerically, digit strings by value without BigInt (Bybit's ids
 * exceed 2^53), anything else as text.
 */
export function compareTradeIds(a: string | number, b: string | number): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = String(a);
  const y = String(b);
  if (DIGITS.test(x) && DIGITS.test(y)) {
    const p = x.replace(/^0+(?=\d)/, '');
    const q = y.replace(/^0+(?=\d)/, '');
    if (p.length !== q.length) return p.length - q.length;
  }
  return x < y ? -1 : x > y ? 1 : 0;
}

/** What one symbol's deduplication keeps. */
interface SeenIds {
  /** Increasing ids: ids at or below it count as seen (a checkpoint's last id, ids older than the recent ones). */
  floor?: string | number;
  /** Exchange time of a seeded floor, until the first live trade supersedes it. */
  seededTime?: number;
  /** Increasing ids: the ids accepted lately, as sent (an exchange types its ids one way), a ring. */
  window?: Array<string | number>;
  /** Where the ring's oldest id is, once it is full. */
  oldestAt: number;
  /** Increasing ids: the highest id in the window. An id above it is new without a look at the window. */
  highest?: string | number;
  /** Unordered ids: recent ids as text (a seeded id, text from a checkpoint, must match the same id sent as a number). */
  recent?: Set<string>;
}

/**
 * Drops trades already seen, so `sum` fields never count one twice. It keeps the ids it actually
 * accepted lately per symbol (a bounded window), not just the highest: an id far ahead of the
 * sequence (a forged or corrupt frame) then hides no real trade after it. With increasing ids,
 * ids below the window count as seen too (the floor: a seeded checkpoint, or ids the window let go
 * of, never one newer than the id accepted last).
 */
export class TradeDeduplicator {
  private readonly symbols = new LastUsedMap<SeenIds>(() => ({ oldestAt: 0 }));

  constructor(private readonly idsIncrease: boolean) {}

  /** Forgets every id seen: the next `seed`s say what is stored. */
  forget(): void {
    this.symbols.clear();
  }

  /** True the first time a trade is seen. */
  accept(trade: Trade): boolean {
    return this.idsIncrease ? this.acceptIncreasing(trade) : this.acceptUnordered(trade);
  }

  /**
   * Marks `id` of `symbol` as seen: the last id a previous process stored, whose trade time was
   * `time`. A trade the exchange sends again after a daemon restart is then not counted twice,
   * nor one before it. Never moves a symbol's floor backwards.
   */
  seed(symbol: string, id: string | number, time?: number): void {
    if (!this.idsIncrease) {
      this.acceptUnordered({ symbol, id });
      return;
    }
    const seen = this.symbols.of(symbol);
    if (seen.floor !== undefined && compareTradeIds(id, seen.floor) <= 0) return;
    seen.floor = id;
    seen.seededTime = time;
  }

  private acceptIncreasing({ symbol, id, exchangeTime }: Trade): boolean {
    const seen = this.symbols.of(symbol);
    const floor = seen.floor;
    if (floor !== undefined && compareTradeIds(id, floor) <= 0) {
      // A lower id that is newer than the seeded checkpoint is not a repeat: the exchange
      // restarted its ids (a testnet reset) while the daemon was down. Follow the new ids.
      const seeded = seen.seededTime;
      if (seeded === undefined || !(exchangeTime > seeded)) return false;
      seen.floor = undefined;
      seen.window = undefined;
      seen.highest = undefined;
    }
    // The usual case, an id above every id in the window, needs no look at it (the trade path's
    // cost per trade); an id at or below the highest is looked for.
    const highest = seen.highest;
    if (highest !== undefined && compareTradeIds(id, highest) <= 0 && this.inWindow(seen.window!, id)) return false;
    this.remember(seen, id);
    seen.seededTime = undefined;
    return true;
  }

  private inWindow(window: ReadonlyArray<string | number>, id: string | number): boolean {
    for (let i = 0; i < window.length; i++) if (window[i] === id || compareTradeIds(window[i]!, id) === 0) return true;
    return false;
  }

  /** Adds an accepted id to the window; the oldest leaves it, under the floor. */
  private remember(seen: SeenIds, id: string | number): void {
    if (seen.highest === undefined || compareTradeIds(id, seen.highest) > 0) seen.highest = id;
    const window = (seen.window ??= []);
    if (window.length < RECENT_INCREASING_IDS_PER_SYMBOL) {
      window.push(id);
      return;
    }
    const oldest = window[seen.oldestAt]!;
    window[seen.oldestAt] = id;
    seen.oldestAt = (seen.oldestAt + 1) % window.length;
    // An odd id far ahead leaves the window without raising the floor past the ids that followed it.
    if (compareTradeIds(oldest, id) < 0 && (seen.floor === undefined || compareTradeIds(oldest, seen.floor) > 0)) seen.floor = oldest;
    // The highest left: the next highest is in the window (once per odd id, not per trade).
    if (compareTradeIds(oldest, seen.highest) === 0) {
      let next = window[0]!;
      for (let i = 1; i < window.length; i++) if (compareTradeIds(window[i]!, next) > 0) next = window[i]!;
      seen.highest = next;
    }
  }

  private acceptUnordered({ symbol, id }: Pick<Trade, 'symbol' | 'id'>): boolean {
    const seen = this.symbols.of(symbol);
    const ids = (seen.recent ??= new Set());
    const text = String(id);
    if (ids.has(text)) return false;
    ids.add(text);
    // A Set iterates in insertion order, so the first entry is the oldest.
    if (ids.size > RECENT_IDS_PER_SYMBOL) ids.delete(ids.values().next().value!);
    return true;
  }
}
