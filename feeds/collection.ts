import { z } from 'zod';
import type { DataCollectionStorage } from '../storage/types.js';
import { BaseFeed } from './base-feed.js';
import type { FeedConfig, FeedKind, PricePoint, RequirementResolver } from './types.js';

/** The kind of a feed with no pricing kind: it only collects its `collect` list. */
export const COLLECTION_KIND = 'collect';

/** A pure collection feed: data is stored, no price is computed from it. */
export class CollectionFeed extends BaseFeed {
  constructor(config: FeedConfig, resolver: RequirementResolver) {
    super(COLLECTION_KIND, config, resolver, []);
  }

  protected lookbackMs(): number {
    return 0;
  }

  async read(_storage: DataCollectionStorage, _start: number, _end: number): Promise<PricePoint[]> {
    throw new Error(
      `feed ${this.name} is a collection feed (no pricing kind); fetch its series directly: ${this.requiredData().flatMap((r) => r.keys).join(', ')}`,
    );
  }
}

export const collectionFeedKind: FeedKind<Record<string, never>> = {
  name: COLLECTION_KIND,
  params: z.object({}),
  create: (config, _p, resolver) => new CollectionFeed(config, resolver),
};
