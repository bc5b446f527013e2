/**
 * A local copy of one pair's order book: price levels kept sorted (bids high to low, asks low to
 * high), replaced by snapshots and changed by deltas. Prices and sizes keep the exchange's text
 * too, because checksums (OKX, Kraken) are computed over the text as the exchange printed it.
 */

/** A price level as the exchange sent it: `[price, size]` as decimal text; size 0 deletes the level. */
export type LevelText = readonly [price: string, size: string];

/** One level of the book. */
export interface BookLevel {
  price: number;
  size: number;
  priceText: string;
  sizeText: string;
}

export type BookSide = 'bid' | 'ask';

/** Parses one level; throws naming the value for text that is not a non-negative decimal. */
function toLevel([priceText, sizeText]: LevelText): BookLevel {
  const price = Number(priceText);
  const size = Number(sizeText);
  if (priceText.trim() === '' || !Number.isFinite(price) || price <= 0) throw new Error(`bad book price ${JSON.stringify(priceText)}`);
  if (sizeText.trim() === '' || !Number.isFinite(size) || size < 0) throw new Error(`bad book size ${JSON.stringify(sizeText)} at price ${priceText}`);
  return { price, size, priceText, sizeText };
}

/** Index of `price` in `levels` sorted by `before`, or where it would be inserted (as `-index - 1`). */
function search(levels: readonly BookLevel[], price: number, descending: boolean): number {
  let low = 0;
  let high = levels.length - 1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    const other = levels[mid]!.price;
    if (other === price) return mid;
    const goesAfter = descending ? other > price : other < price;
    if (goesAfter) low = mid + 1;
    else high = mid - 1;
  }
  return -low - 1;
}

/** Sorted bids and asks of one pair. */
export class OrderBook {
  private bidLevels: BookLevel[] = [];
  private askLevels: BookLevel[] = [];

  /** `maxDepth` truncates each side after every change, as depth-limited channels expect (Kraken `depth`, Bybit 50). */
  constructor(private readonly maxDepth?: number) {}

  /** Bids, best (highest) first. */
  get bids(): readonly BookLevel[] {
    return this.bidLevels;
  }

  /** Asks, best (lowest) first. */
  get asks(): readonly BookLevel[] {
    return this.askLevels;
  }

  /** Replaces the whole book with a snapshot (levels in any order; size-0 levels are skipped). */
  replace(bids: readonly LevelText[], asks: readonly LevelText[]): void {
    this.bidLevels = [];
    this.askLevels = [];
    this.apply('bid', bids);
    this.apply('ask', asks);
  }

  /** Applies a delta to one side: each level's size replaces the old one, size 0 deletes it. */
  apply(side: BookSide, changes: readonly LevelText[]): void {
    const levels = side === 'bid' ? this.bidLevels : this.askLevels;
    const descending = side === 'bid';
    for (const change of changes) {
      const level = toLevel(change);
      const at = search(levels, level.price, descending);
      if (at >= 0) {
        if (level.size === 0) levels.splice(at, 1);
        else levels[at] = level;
      } else if (level.size > 0) {
        levels.splice(-at - 1, 0, level);
      }
    }
    if (this.maxDepth !== undefined && levels.length > this.maxDepth) levels.length = this.maxDepth;
  }

  /** True when the best bid is at or above the best ask: a book no exchange would show. */
  isCrossed(): boolean {
    const bid = this.bidLevels[0];
    const ask = this.askLevels[0];
    return bid !== undefined && ask !== undefined && bid.price >= ask.price;
  }

  /** Empties both sides (the copy is no longer trusted). */
  clear(): void {
    this.bidLevels = [];
    this.askLevels = [];
  }
}
