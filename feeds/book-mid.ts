import { z } from 'zod';
import { durationMs } from '../common/schema.js';
import type { DataCollectionStorage } from '../storage/types.js';
import { BaseFeed, readField } from './base-feed.js';
import type { FeedConfig, FeedKind, PricePoint, RequirementResolver } from './types.js';

const params = z.object({ maxAge: durationMs.default(60_000) });
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
