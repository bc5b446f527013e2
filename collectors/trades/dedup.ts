import { LastUsedMap } from '../../src/last-used-map.js';
import type { Trade } from './trade.js';

// Enough to cover a reconnect's replay on exchanges whose ids carry no order.
const RECENT_IDS_PER_SYMBOL = 10_000;
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
  /** Increasing ids: the last id seen. */
  lastId?: string | number;
  /** Exchange time of a seeded last id, until the first live trade supersedes it. */
  seededTime?: number;
  /** Unordered ids: recent ids as text (a seeded id, text from a checkpoint, must match the same id sent as a number). */
  recent?: Set<string>;
}

/**
 * Drops trades already seen, so `sum` fields never count one twice. With increasing ids it keeps
 * the last id per symbol; otherwise a bounded set of recent ids per symbol.
 */
export class TradeDeduplicator {
  private readonly symbols = new LastUsedMap<SeenIds>(() => ({}));

  constructor(private readonly idsIncrease: boolean) {}

  /** True the first time a trade is seen. */
  accept(trade: Trade): boolean {
    return this.idsIncrease ? this.acceptIncreasing(trade) : this.acceptUnordered(trade);
  }

  /**
   * Marks `id` of `symbol` as seen: the last id a previous process stored, whose trade time was
   * `time`. A trade the exchange sends again after a daemon restart is then not counted twice.
   * Never moves a symbol's last id backwards.
   */
  seed(symbol: string, id: string | number, time?: number): void {
    if (!this.idsIncrease) {
      this.acceptUnordered({ symbol, id });
      return;
    }
    const seen = this.symbols.of(symbol);
    if (seen.lastId !== undefined && compareTradeIds(id, seen.lastId) <= 0) return;
    seen.lastId = id;
    seen.seededTime = time;
  }

  private acceptIncreasing({ symbol, id, exchangeTime }: Trade): boolean {
    const seen = this.symbols.of(symbol);
    const last = seen.lastId;
    if (last !== undefined && compareTradeIds(id, last) <= 0) {
      // A lower id that is newer than the seeded checkpoint is not a repeat: the exchange
      // restarted its ids (a testnet reset) while the daemon was down. Follow the new ids.
      const seeded = seen.seededTime;
      if (seeded === undefined || !(exchangeTime > seeded)) return false;
    }
    seen.lastId = id;
    seen.seededTime = undefined;
    return true;
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
