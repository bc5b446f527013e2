import { z } from 'zod';
import { parseDuration } from '../common/duration.js';
import { intervalName } from '../common/schema.js';
import type { DataCollectionStorage } from '../storage/types.js';
import { BaseFeed, readField } from './base-feed.js';
import type { FeedConfig, FeedKind, PricePoint, RequirementResolver } from './types.js';

const params = z.object({ interval: intervalName.default('1m').describe('The klines interval whose close is the price') });
type Params = z.output<typeof params>;

/** The close of the pair's klines at an interval; a candle is timestamped by its open time. */
export class KlineCloseFeed extends BaseFeed {
  constructor(config: FeedConfig, private readonly params: Params, resolver: RequirementResolver) {
    super('kline-close', config, resolver, [`klines:${params.interval}`]);
  }

  protected lookbackMs(): number {
    return 2 * parseDuration(this.params.interval);
  }

  read(storage: DataCollectionStorage, start: number, end: number): Promise<PricePoint[]> {
    return readField(storage, this.keyOf('klines'), 'close', start, end);
  }
}

export const klineCloseFeedKind: FeedKind<Params> = {
  name: 'kline-close',
  params,
  create: (config, p, resolver) => new KlineCloseFeed(config, p, resolver),
};
