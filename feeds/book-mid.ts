import { z } from 'zod';
import { positiveDurationMs } from '../common/schema.js';
import type { DataCollectionStorage } from '../storage/types.js';
import { BaseFeed, readField } from './base-feed.js';
import type { FeedConfig, FeedKind, PricePoint, RequirementResolver } from './types.js';

const params = z.object({ maxAge: positiveDurationMs.prefault('60s').describe('The mid may be at most this old to be the price') });
type Params = z.output<typeof params>;

/** The mid of the pair's order book, from the liquidity snapshots. */
export class BookMidFeed extends BaseFeed {
  constructor(config: FeedConfig, private readonly params: Params, resolver: RequirementResolver) {
    super('book-mid', config, resolver, ['liquidity']);
  }

  protected lookbackMs(): number {
    return this.params.maxAge;
  }

  read(storage: DataCollectionStorage, start: number, end: number): Promise<PricePoint[]> {
    return readField(storage, this.keyOf('liquidity'), 'mid', start, end);
  }
}

export const bookMidFeedKind: FeedKind<Params> = {
  name: 'book-mid',
  params,
  create: (config, p, resolver) => new BookMidFeed(config, p, resolver),
};
