/**
 * The liquidity snapshot stored every interval: best bid and ask, mid, spread, and for each side
 * the quote-currency value (price × size) of the levels within 10, 50 and 100 bps of the mid.
 */
import type { MergePolicy } from '../../storage/types.js';

/** Distances from the mid, in basis points, within which depth is summed. */
export const DEPTH_BANDS_BPS = [10, 50, 100] as const;

export interface LiquiditySnapshot {
  bid: number;
  ask: number;
  mid: number;
  /** (ask − bid) / mid in basis points. */
  spread_bps: number;
  bid_depth_10bps: number;
  bid_depth_50bps: number;
  bid_depth_100bps: number;
  ask_depth_10bps: number;
  ask_depth_50bps: number;
  ask_depth_100bps: number;
}

/** The fields of a `liquidity:` series: each is a level at one instant, so a later write wins. */
export const LIQUIDITY_FIELDS: Readonly<Record<keyof LiquiditySnapshot, MergePolicy>> = {
  bid: 'last',
  ask: 'last',
  mid: 'last',
  spread_bps: 'last',
  bid_depth_10bps: 'last',
  bid_depth_50bps: 'last',
  bid_depth_100bps: 'last',
  ask_depth_10bps: 'last',
  ask_depth_50bps: 'last',
  ask_depth_100bps: 'last',
};

/** `liquidity:<exchange>:<BASE-QUOTE>`: the key feeds/book-mid.ts reads `mid` from. */
export function liquidityKey(exchange: string, symbol: string): string {
  return `liquidity:${exchange}:${symbol}`;
}

/** A level as the depth math needs it. */
export interface PriceSize {
  price: number;
  size: number;
}

// A level exactly on a band's edge counts: the edge is computed in floating point, so it is widened
// by a relative 1e-12 (far below any tick) rather than lost to a rounding error.
const EDGE_TOLERANCE = 1e-12;

/** Quote value of the levels (best first) priced no further than `limit` from the mid on their side. */
function depthWithin(levels: readonly PriceSize[], inBand: (price: number) => boolean): number {
  let total = 0;
  for (const { price, size } of levels) {
    if (!inBand(price)) break;
    total += price * size;
  }
  return total;
}

/**
 * The snapshot of a book given its bids (best first) and asks (best first); undefined when a side
 * is empty or the book is crossed, since then there is no meaningful mid.
 */
export function liquiditySnapshot(bids: readonly PriceSize[], asks: readonly PriceSize[]): LiquiditySnapshot | undefined {
  const bestBid = bids[0];
  const bestAsk = asks[0];
  if (!bestBid || !bestAsk || bestBid.price >= bestAsk.price) return undefined;
  const bid = bestBid.price;
  const ask = bestAsk.price;
  const mid = (bid + ask) / 2;
  const [b10, b50, b100] = DEPTH_BANDS_BPS.map((bps) => {
    const floor = mid * (1 - bps / 10_000) * (1 - EDGE_TOLERANCE);
    return depthWithin(bids, (price) => price >= floor);
  }) as [number, number, number];
  const [a10, a50, a100] = DEPTH_BANDS_BPS.map((bps) => {
    const ceiling = mid * (1 + bps / 10_000) * (1 + EDGE_TOLERANCE);
    return depthWithin(asks, (price) => price <= ceiling);
  }) as [number, number, number];
  return {
    bid,
    ask,
    mid,
    spread_bps: ((ask - bid) / mid) * 10_000,
    bid_depth_10bps: b10,
    bid_depth_50bps: b50,
    bid_depth_100bps: b100,
    ask_depth_10bps: a10,
    ask_depth_50bps: a50,
    ask_depth_100bps: a100,
  };
}
