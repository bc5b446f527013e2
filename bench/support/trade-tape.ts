/**
 * The ingest benchmark's trades: one symbol's tape generated ahead of time with the project's
 * own simulated market (collectors/simulator/market.ts: sequential ids, a random-walk price,
 * taker orders of 1–3 fills sharing one trade time), one taker order per millisecond. The
 * blaster sends it and every client checks what it got against it, so the server and each
 * client process build the same tape from the same seed.
 */
import { SimulatedMarket } from '../../collectors/simulator/market.js';

/** Binance's spelling of the tape's symbol, and its unified one. */
export const TAPE_SYMBOL = 'BTCUSDT';
export const TAPE_UNIFIED_SYMBOL = 'BTC-USDT';
/** The first trade's time (T): the tape's own clock, unrelated to when it is sent. */
export const TAPE_T0 = Date.UTC(2026, 0, 1);

export interface TradeTape {
  n: number;
  /** Trade ids: `firstId + i`. */
  firstId: number;
  /** Trade time (T) of trade i, ms. */
  times: Float64Array;
  /** Decimals with 8 places, as the simulator prints them. */
  prices: string[];
  amounts: string[];
  /** 1 when the taker sold (Binance `m`: the buyer was the maker). */
  takerSold: Uint8Array;
  /** Distinct trade times: the samples a per-millisecond writer stores. */
  distinct: number;
  /** Sum of the amounts in whole 1e-5 lots (exact). */
  lots: number;
}

/** The first `n` trades of the seeded market, one taker order (1–3 fills) per millisecond. */
export function makeTape(n: number, seed = 1): TradeTape {
  const market = new SimulatedMarket(seed);
  const times = new Float64Array(n);
  const prices = new Array<string>(n);
  const amounts = new Array<string>(n);
  const takerSold = new Uint8Array(n);
  let firstId = -1;
  let distinct = 0;
  let lots = 0;
  let t = TAPE_T0;
  for (let i = 0; i < n; t += 1) {
    const fills = market.nextFills(t, n - i);
    distinct += 1;
    for (const fill of fills) {
      if (firstId < 0) firstId = fill.id;
      if (fill.id !== firstId + i) throw new Error(`tape: trade ${i} has id ${fill.id}, expected ${firstId + i}`);
      times[i] = fill.time;
      prices[i] = fill.price;
      amounts[i] = fill.amount;
      takerSold[i] = fill.takerSide < 0 ? 1 : 0;
      lots += Math.round(Number(fill.amount) * 100_000);
      i += 1;
    }
  }
  return { n, firstId, times, prices, amounts, takerSold, distinct, lots };
}

/** Distinct trade times among the first `n` trades. */
export function distinctTimes(tape: TradeTape, n: number): number {
  let distinct = 0;
  for (let i = 0; i < n; i++) if (i === 0 || tape.times[i] !== tape.times[i - 1]) distinct += 1;
  return distinct;
}

/** Sum of the first `n` amounts in whole lots. */
export function lotsOf(tape: TradeTape, n: number): number {
  let lots = 0;
  for (let i = 0; i < n; i++) lots += Math.round(Number(tape.amounts[i]) * 100_000);
  return lots;
}

/** Wall-clock ms with sub-millisecond resolution, comparable between processes of this machine. */
export const wallNow = (): number => performance.timeOrigin + performance.now();
