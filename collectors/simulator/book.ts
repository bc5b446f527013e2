/**
 * The exchange-neutral order book behind every exchange simulator's book channel: one book per
 * symbol around the simulated trade price, moved deterministically by a seed, producing numbered
 * changes that each exchange frames as snapshots or deltas. Prices are whole ticks (cents) and
 * sizes whole lots (0.00001), printed with the exchange's decimals by `levelText`.
 */
import { seededRandom } from './market.js';

/** One price level: price in ticks, size in lots (0 in a change: the level is deleted). */
export interface SimLevel {
  ticks: number;
  lots: number;
}

/** The levels one step changed on each side, with their new sizes. */
export interface BookChange {
  bids: SimLevel[];
  asks: SimLevel[];
}

// BTCUSDT-like filters, as in market.ts.
const TICK = 0.01;
const LOT = 0.00001;
// Enough that a depth-100 channel never runs out of levels after a few deletions.
const DEFAULT_LEVELS_PER_SIDE = 150;
// Levels changed at random per step, besides those the moving mid forces.
const RANDOM_CHANGES_PER_STEP = 4;
const NEAR_LEVELS = 30;


/** A price as decimal text with `decimals` places. */
export function priceText(ticks: number, decimals = 2): string {
  return (ticks * TICK).toFixed(decimals);
}

/** A size as decimal text with `decimals` places. */
export function sizeText(lots: number, decimals = 8): string {
  return (lots * LOT).toFixed(decimals);
}

/** The trade price (decimal text) as ticks. */
export function ticksOf(price: string): number {
  return Math.round(Number(price) / TICK);
}

/** One side's levels, best first. */
type Side = Map<number, number>;

/** One symbol's simulated book. */
export class SimulatedBook {
  private readonly random: () => number;
  private readonly bids: Side = new Map();
  private readonly asks: Side = new Map();
  private midTicks: number | undefined;
  /** Bumped by every step; exchanges print it as their update id / sequence. */
  sequence: number;

  constructor(
    seed: number,
    private readonly levelsPerSide = DEFAULT_LEVELS_PER_SIDE,
  ) {
    this.random = seededRandom(seed ^ 0x5bd1e995);
    this.sequence = 1_000_000 + Math.floor(this.random() * 1_000_000);
  }

  /** Moves the book toward `midTicks` (the last trade price) and returns what changed. */
  step(midTicks: number | undefined): BookChange {
    const mid = (this.midTicks = midTicks ?? this.midTicks ?? 1_000_000);
    const changed = { bids: new Map<number, number>(), asks: new Map<number, number>() };
    const set = (side: 'bids' | 'asks', ticks: number, lots: number): void => {
      const levels = this[side];
      if (lots > 0) levels.set(ticks, lots);
      else if (!levels.delete(ticks)) return;
      changed[side].set(ticks, lots);
    };
    // Levels the mid moved through would cross the book.
    for (const ticks of [...this.bids.keys()]) if (ticks >= mid) set('bids', ticks, 0);
    for (const ticks of [...this.asks.keys()]) if (ticks <= mid) set('asks', ticks, 0);
    const bidTop = this.sorted('bids');
    const askTop = this.sorted('asks');
    // The best levels stay within 3 ticks of the mid.
    if ((bidTop[0] ?? -Infinity) < mid - 3) set('bids', mid - 1 - Math.floor(this.random() * 3), this.lots());
    if ((askTop[0] ?? Infinity) > mid + 3) set('asks', mid + 1 + Math.floor(this.random() * 3), this.lots());
    for (let i = 0; i < RANDOM_CHANGES_PER_STEP; i++) {
      const side = this.random() < 0.5 ? 'bids' : 'asks';
      const direction = side === 'bids' ? -1 : 1;
      const ticks = mid + direction * (1 + Math.floor(this.random() * NEAR_LEVELS * 3));
      // A quarter of the changes cancel a level (when there is one), the rest place or resize one.
      set(side, ticks, this[side].has(ticks) && this.random() < 0.25 ? 0 : this.lots());
    }
    this.fill('bids', -1, set);
    this.fill('asks', 1, set);
    this.sequence += 1;
    const asList = (m: Map<number, number>): SimLevel[] => [...m].map(([ticks, lots]) => ({ ticks, lots }));
    return { bids: asList(changed.bids), asks: asList(changed.asks) };
  }

  /** The best `n` levels of a side, best first. */
  top(side: 'bids' | 'asks', n: number): SimLevel[] {
    return this.sorted(side)
      .slice(0, n)
      .map((ticks) => ({ ticks, lots: this[side].get(ticks)! }));
  }

  /** Adds levels past the deepest until the side is full, and drops those beyond it. */
  private fill(side: 'bids' | 'asks', direction: -1 | 1, set: (side: 'bids' | 'asks', ticks: number, lots: number) => void): void {
    const ordered = this.sorted(side);
    let deepest = ordered.at(-1) ?? this.midTicks! + direction;
    for (let count = ordered.length; count < this.levelsPerSide; count++) {
      deepest += direction * (1 + Math.floor(this.random() * 4));
      if (deepest <= 0) break;
      set(side, deepest, this.lots());
    }
    for (const ticks of ordered.slice(this.levelsPerSide)) set(side, ticks, 0);
  }

  private sorted(side: 'bids' | 'asks'): number[] {
    const ticks = [...this[side].keys()];
    return side === 'bids' ? ticks.sort((a, b) => b - a) : ticks.sort((a, b) => a - b);
  }

  private lots(): number {
    return 1 + Math.floor(this.random() * 200_000);
  }
}

/**
 * The update a depth-limited channel (Kraken `depth`, Bybit 50) sends when its top levels go
 * from `before` to `after`: new and resized levels, and levels gone from the top as size 0.
 */
export function topDiff(before: readonly SimLevel[], after: readonly SimLevel[]): SimLevel[] {
  const old = new Map(before.map((l) => [l.ticks, l.lots]));
  const now = new Map(after.map((l) => [l.ticks, l.lots]));
  const changes = after.filter((l) => old.get(l.ticks) !== l.lots);
  for (const l of before) if (!now.has(l.ticks)) changes.push({ ticks: l.ticks, lots: 0 });
  return changes;
}

/** A one-shot fault switch: armed by a test, consumed by the next book update sent. */
export class BookFault {
  private armed = false;
  /** Updates sent inconsistent on purpose since the start. */
  corrupted = 0;

  /** Makes the next book update inconsistent (bad checksum or sequence gap, as the exchange has). */
  arm(): void {
    this.armed = true;
  }

  /** True once after `arm`: the caller corrupts the update it is about to send. */
  take(): boolean {
    if (!this.armed) return false;
    this.armed = false;
    this.corrupted += 1;
    return true;
  }
}
