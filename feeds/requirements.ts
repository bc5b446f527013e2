import type { DataRequirement } from '../collectors/types.js';
import type { FeedConfig, KindLookup, RequirementResolver } from './types.js';

const SPEC = /^([a-z][a-z0-9-]*)(?::(.+))?$/;

/** Turns `collect` specs (`trades`, `klines:1m`) into requirements, via the registered collector kinds. */
export class CollectSpecResolver implements RequirementResolver {
  constructor(private readonly registry: KindLookup) {}

  require(spec: string, feed: Pick<FeedConfig, 'exchange' | 'symbol' | 'staleAfterMs' | 'historyMs' | 'name' | 'dex'>): DataRequirement {
    const m = SPEC.exec(spec);
    if (!m) throw new Error(`bad collect entry ${JSON.stringify(spec)}: expected a collector kind and an optional argument, e.g. trades or klines:1m`);
    const [, collector, arg] = m as unknown as [string, string, string | undefined];
    let keys: string[];
    try {
      keys = this.registry.collectorKind(collector).keysFor(feed.exchange, feed.symbol, arg, feed.dex);
    } catch (err) {
      throw new Error(`collect ${JSON.stringify(spec)}: ${(err as Error).message}`);
    }
    return {
      id: [collector, feed.exchange, feed.symbol, ...(arg ? [arg] : [])].join(':'),
      collector,
      exchange: feed.exchange,
      symbol: feed.symbol,
      arg,
      keys,
      staleAfterMs: feed.staleAfterMs,
      historyMs: feed.historyMs,
      ...(feed.dex ? { dex: feed.dex } : {}),
    };
  }
}
