import { z } from 'zod';
import { positiveDurationMs } from '../common/schema.js';
import type { DataCollectionStorage } from '../storage/types.js';
import { BaseFeed } from './base-feed.js';
import type { FeedConfig, FeedKind, PricePoint, RequirementResolver } from './types.js';

const params = z.object({ window: positiveDurationMs.prefault('1m').describe('The trailing window the VWAP is taken over') });
type Params = z.output<typeof params>;

/** VWAP of an exchange pair's trades over a trailing window, at each stored trade time. */
export class TradesVwapFeed extends BaseFeed {
  constructor(config: FeedConfig, private readonly params: Params, resolver: RequirementResolver) {
    super('trades-vwap', config, resolver, ['trades']);
  }

  protected lookbackMs(): number {
    return this.params.window;
  }

  async read(storage: DataCollectionStorage, start: number, end: number): Promise<PricePoint[]> {
    const window = this.params.window;
    const samples = await storage.fetch(this.keyOf('trades'), Math.max(0, start - window), end);
    const out: PricePoint[] = [];
    let notional = 0;
    let amount = 0;
    let tail = 0;
    const parts = samples.map(([t, v]) => {
      const r = typeof v === 'number' ? { price: v, amount: 0 } : v;
      const a = r.amount ?? 0;
      // `notional` (sum of price × amount) is exact when trades share a millisecond; price × amount is not.
      return { t, amount: a, notional: r.notional ?? (r.price ?? 0) * a };
    });
    for (const p of parts) {
      notional += p.notional;
      amount += p.amount;
      while (parts[tail]!.t <= p.t - window) {
        notional -= parts[tail]!.notional;
        amount -= parts[tail]!.amount;
        tail += 1;
      }
      if (p.t >= start && amount > 0) out.push([p.t, notional / amount]);
    }
    return out;
  }
}

export const tradesVwapFeedKind: FeedKind<Params> = {
  name: 'trades-vwap',
  params,
  create: (config, p, resolver) => new TradesVwapFeed(config, p, resolver),
};
