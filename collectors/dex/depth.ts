/**
 * Depth of a pool as the CEX liquidity series has it (collectors/liquidity/depth.ts): per side, the
 * quote-currency value that trades within 10, 50 and 100 bps of the pool price, fee included. A
 * buyer of the base pays the pool's marginal price plus the fee, so the ask side counts the quote paid
 * (with the fee) while the marginal price paid stays within the band; the bid side counts the quote
 * received while the marginal price received (after the fee) stays within it. Within a band narrower
 * than the fee nothing trades: 0.
 */
import { DEPTH_BANDS_BPS } from '../liquidity/depth.js';
import type { PoolInfo, PriceFlow } from './protocol.js';

/** `dex-depth:<chain>:<pool alias or address>`. */
export function dexDepthKey(chain: string, pool: string): string {
  return `dex-depth:${chain}:${pool}`;
}

/** The depth fields of a pool whose raw price (token1 per token0) is `price`, fee `fee` (3000 = 0.3 %). */
export function depthFields(pool: PoolInfo, price: number, flow: PriceFlow): Record<string, number> {
  const f = pool.fee / 1_000_000;
  const base0 = pool.baseIsToken0;
  const quoteDecimals = base0 ? pool.token1.decimals : pool.token0.decimals;
  const quoteOf = (target: number) => {
    const { amount0, amount1 } = flow(target);
    return (base0 ? amount1 : amount0) / 10 ** quoteDecimals;
  };
  const out: Record<string, number> = {};
  for (const bps of DEPTH_BANDS_BPS) {
    const x = bps / 10_000;
    // In quote per base, the marginal price paid is p/(1-f) and received p·(1-f); the raw price p is
    // quote per base when the base is token0, else its inverse.
    const ask = base0 ? price * (1 + x) * (1 - f) : price / ((1 + x) * (1 - f));
    const bid = base0 ? (price * (1 - x)) / (1 - f) : (price * (1 - f)) / (1 - x);
    const askMoves = base0 ? ask > price : ask < price;
    const bidMoves = base0 ? bid < price : bid > price;
    out[`ask_depth_${bps}bps`] = askMoves ? quoteOf(ask) / (1 - f) : 0;
    out[`bid_depth_${bps}bps`] = bidMoves ? quoteOf(bid) : 0;
  }
  return out;
}
