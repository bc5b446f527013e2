import { z } from 'zod';
import { positiveDurationMs } from '../common/schema.js';
import type { DataCollectionStorage } from '../storage/types.js';
import { BaseFeed, readField } from './base-feed.js';
import type { FeedConfig, FeedKind, PricePoint, RequirementResolver } from './types.js';

// A pool may go long without a swap: its price stays current longer than a book's mid.
const maxAge = positiveDurationMs.prefault('1h').describe('The pool price may be at most this old to be the price');
const priceParams = z.object({ maxAge });
type PriceParams = z.output<typeof priceParams>;

/**
 * A DEX pool's price (quote per `base`) after each block that changed it. A pool may go long
 * without a swap, so a price is taken as current for `maxAge` (default 1 h).
 */
export class DexPriceFeed extends BaseFeed {
  constructor(config: FeedConfig, private readonly params: PriceParams, resolver: RequirementResolver) {
    super('dex-price', config, resolver, ['pool']);
  }

  protected lookbackMs(): number {
    return this.params.maxAge;
  }

  read(storage: DataCollectionStorage, start: number, end: number): Promise<PricePoint[]> {
    return readField(storage, this.keyOf('pool'), 'price', start, end);
  }
}

const twapParams = z.object({ window: positiveDurationMs.prefault('30m').describe('The trailing window the price is averaged over'), maxAge });
type TwapParams = z.output<typeof twapParams>;

/**
 * The pool's price averaged over the trailing `window`, weighted by how long each price held (a
 * price holds from its block until the next sample). Where the window starts before the first
 * sample, the average covers only the time since it.
 */
export class DexTwapFeed extends BaseFeed {
  constructor(config: FeedConfig, private readonly params: TwapParams, resolver: RequirementResolver) {
    super('dex-twap', config, resolver, ['pool']);
  }

  protected lookbackMs(): number {
    return this.params.window;
  }

  /** The TWAP at each stored sample time in `[start, end]`. */
  async read(storage: DataCollectionStorage, start: number, end: number): Promise<PricePoint[]> {
    const prices = await this.prices(storage, start, end);
    return prices.filter(([t]) => t >= start && t <= end).flatMap(([t]) => {
      const v = timeWeighted(prices, t - this.params.window, t);
      return v === undefined ? [] : [[t, v] as PricePoint];
    });
  }

  override async value(storage: DataCollectionStorage, at: number): Promise<number | undefined> {
    return timeWeighted(await this.prices(storage, at, at), at - this.params.window, at);
  }

  /** Prices from `maxAge` before the earliest window that `[start, end]` needs. */
  private prices(storage: DataCollectionStorage, start: number, end: number): Promise<PricePoint[]> {
    return readField(storage, this.keyOf('pool'), 'price', Math.max(0, start - this.params.window - this.params.maxAge), end);
  }
}

/**
 * Average of the step function `prices` (ascending) over `[from, to]`: each price holds until the
 * next. The price before `from` counts from `from`; an empty span gives the last price.
 */
export function timeWeighted(prices: readonly PricePoint[], from: number, to: number): number | undefined {
  let sum = 0;
  let span = 0;
  let last: number | undefined;
  // Start at the last price at or before `from` (it holds into the window): a read of many windows
  // over one long series then costs each window only its own samples.
  let lo = 0;
  let hi = prices.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (prices[mid]![0] <= from) lo = mid;
    else hi = mid - 1;
  }
  for (let i = lo; i < prices.length; i++) {
    const [t, p] = prices[i]!;
    if (t > to) break;
    last = p;
    const begin = Math.max(t, from);
    const finish = Math.min(prices[i + 1]?.[0] ?? to, to);
    if (finish > begin) {
      sum += p * (finish - begin);
      span += finish - begin;
    }
  }
  return span > 0 ? sum / span : last;
}

export const dexPriceFeedKind: FeedKind<PriceParams> = {
  name: 'dex-price',
  params: priceParams,
  create: (config, p, resolver) => new DexPriceFeed(config, p, resolver),
};

export const dexTwapFeedKind: FeedKind<TwapParams> = {
  name: 'dex-twap',
  params: twapParams,
  create: (config, p, resolver) => new DexTwapFeed(config, p, resolver),
};
