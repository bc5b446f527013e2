/** How the Gate simulator numbers and frames the simulated market's trades. */
import type { SimulatedTrade } from '../../../simulator/market.js';

// Where the simulated global sequence starts: ids of the size Gate used in 2021.
const FIRST_GLOBAL_ID = 800_000_000;

/**
 * Gate's trade ids: one sequence over all markets (ws_trades_2021-04-22.jsonl), so a pair's ids
 * increase but skip the other pairs' trades. The simulated market numbers each pair's trades 1, 2,
 * 3...; the i-th of n pairs gets FIRST + id·(n+1) + i: increasing per pair, never consecutive.
 */
export class GateIds {
  private readonly index: Map<string, number>;

  constructor(pairs: readonly string[]) {
    this.index = new Map(pairs.map((pair, i) => [pair, i]));
  }

  /** The id Gate shows for the `id`-th trade of `pair`. */
  global(pair: string, id: number): number {
    return FIRST_GLOBAL_ID + id * (this.index.size + 1) + (this.index.get(pair) ?? 0);
  }
}

/** "65000.12000000" → "65000.12", "30236.00000000" → "30236", as Gate prints decimals since 2023. */
export function gateDecimal(value: string): string {
  return value.includes('.') ? value.replace(/\.?0+$/, '') : value;
}

/** The `result` of one spot.trades update, in the 2023 recording's key order, as Gate sends it. */
export interface GateTradePayload {
  id: number;
  create_time: number;
  create_time_ms: string;
  side: 'buy' | 'sell';
  currency_pair: string;
  amount: string;
  price: string;
}

/** One fill as a spot.trades result: Gate pushes each trade in its own update (every recording). */
export function gateTradePayload(pair: string, fill: SimulatedTrade, ids: GateIds): GateTradePayload {
  return {
    id: ids.global(pair, fill.id),
    create_time: Math.floor(fill.time / 1000),
    // "1682689046123.0" in the 2023 recording: ms with a fraction.
    create_time_ms: `${fill.time}.0`,
    side: fill.takerSide > 0 ? 'buy' : 'sell',
    currency_pair: pair,
    amount: gateDecimal(fill.amount),
    price: gateDecimal(fill.price),
  };
}

/** A whole spot.trades update frame (ws_v4_trades_book_ticker_order_book_update_2023-04-28_tardis.jsonl). */
export function gateUpdateFrame(channel: string, result: unknown, now: number): string {
  return JSON.stringify({ time: Math.floor(now / 1000), time_ms: now, channel, event: 'update', result });
}
