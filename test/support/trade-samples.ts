/**
 * Per-millisecond trade samples, as the trades collector stores them and as a simulator's sent
 * trades say they should be. Amounts are compared in whole lots: the simulators trade in lots
 * of 0.00001, and a float sum of such amounts only rounds back to the exact lot count.
 */
import type { MemoryStorage } from '../../storage/memory.js';

/** Lots per unit of the simulators' lot size, 0.00001. */
export const LOTS_PER_UNIT = 100_000;

/** An amount (a decimal string or number) in whole lots. */
export function toLots(amount: string | number): number {
  return Math.round(Number(amount) * LOTS_PER_UNIT);
}

/** One millisecond of a trades series: last price, trades counted, amount and taker-buy amount in lots. */
export interface TradeSample {
  price: number;
  count: number;
  lots: number;
  buyLots: number;
}

/** What the samples need to know of one sent trade, however the exchange frames it. */
export interface SentTradeFacts {
  /** Exchange trade time, ms. */
  time: number;
  price: number;
  amount: string | number;
  /** 1 when the taker bought, -1 when the taker sold. */
  takerSide: 1 | -1;
  /** Matches the trade stands for when the exchange aggregates them (OKX `count`); 1 when absent. */
  count?: number;
}

/** Per-millisecond samples the collector should have stored for `trades`, each read by `read`. */
export function expectedSamples<T>(trades: readonly T[], read: (trade: T) => SentTradeFacts): Map<number, TradeSample> {
  const byTime = new Map<number, TradeSample>();
  for (const trade of trades) {
    const { time, price, amount, takerSide, count = 1 } = read(trade);
    const lots = toLots(amount);
    const sample = byTime.get(time) ?? { price: 0, count: 0, lots: 0, buyLots: 0 };
    byTime.set(time, { price, count: sample.count + count, lots: sample.lots + lots, buyLots: sample.buyLots + (takerSide === 1 ? lots : 0) });
  }
  return byTime;
}

/** The samples stored under `key`, in the same shape. */
export async function storedSamples(storage: MemoryStorage, key: string): Promise<Map<number, TradeSample>> {
  const samples = await storage.fetch(key, 0, Number.MAX_SAFE_INTEGER);
  return new Map(
    samples.map(([t, value]) => {
      const v = value as Record<string, number>;
      return [t, { price: v.price!, count: v.count!, lots: toLots(v.amount!), buyLots: toLots(v.buy_amount!) }];
    }),
  );
}

/** Trades stored under `key`: the sum of the samples' counts. */
export async function storedCount(storage: MemoryStorage, key: string): Promise<number> {
  let count = 0;
  for (const sample of (await storedSamples(storage, key)).values()) count += sample.count;
  return count;
}
