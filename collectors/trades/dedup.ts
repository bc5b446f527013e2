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

/**
 * Drops trades already seen, so `sum` fields never count one twice. With increasing ids it keeps
 * the last id per symbol; otherwise a bounded set of recent ids per symbol.
 */
export class TradeDeduplicator {
  private readonly lastId = new Map<string, string | number>();
  private readonly recent = new Map<string, Set<string | number>>();

  constructor(private readonly idsIncrease: boolean) {}

  /** True the first time a trade is seen. */
  accept(trade: Trade): boolean {
    return this.idsIncrease ? this.acceptIncreasing(trade) : this.acceptUnordered(trade);
  }

  private acceptIncreasing({ symbol, id }: Trade): boolean {
    const last = this.lastId.get(symbol);
    if (last !== undefined && compareTradeIds(id, last) <= 0) return false;
    this.lastId.set(symbol, id);
    return true;
  }

  private acceptUnordered({ symbol, id }: Trade): boolean {
    let ids = this.recent.get(symbol);
    if (!ids) this.recent.set(symbol, (ids = new Set()));
    if (ids.has(id)) return false;
    ids.add(id);
    // A Set iterates in insertion order, so the first entry is the oldest.
    if (ids.size > RECENT_IDS_PER_SYMBOL) ids.delete(ids.values().next().value!);
    return true;
  }
}
