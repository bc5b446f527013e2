import { TradeTap } from '../collectors/trades/trade-tap.js';
import type { CollectorContext, CollectorKind, DataRequirement, DataSourceCollector } from '../collectors/types.js';
import { COLLECTION_KIND } from './collection.js';
import { minDefined } from '../common/collections.js';
import { CollectSpecResolver } from './requirements.js';
import type { Feed, FeedConfig, KindLookup } from './types.js';

/** Config fields every feed has; anything else is a parameter of the feed's kind. */
const COMMON = new Set(['name', 'kind', 'exchange', 'symbol', 'dex', 'collect', 'historyMs', 'staleAfterMs']);

/** The kind parameters of a feed config (everything but the common fields). */
export function feedParams(config: FeedConfig): Record<string, unknown> {
  return Object.fromEntries(Object.entries(config).filter(([k, v]) => !COMMON.has(k) && v !== undefined));
}

/** Builds one feed object from its config; throws a message naming the feed on a bad kind or collect entry. */
export function buildFeed(config: FeedConfig, registry: KindLookup): Feed {
  const kind = registry.feedKind(config.kind ?? COLLECTION_KIND);
  const params = kind.params.parse(feedParams(config));
  return kind.create(config, params, new CollectSpecResolver(registry));
}

/** Builds the feed objects of a config, for the daemon (collecting) and the updater (reading). */
export function buildFeeds(configs: readonly FeedConfig[], registry: KindLookup): Feed[] {
  return configs.map((config) => buildFeed(config, registry));
}

/**
 * Asks every feed for the data it needs, adds what that data depends on (candles need the
 * pair's trades), merges requirements for the same data (two feeds needing Binance BTC-USDT
 * trades share one collector; the tighter `staleAfter` and the longer `history` win), and lets
 * each collector kind build collectors for its share. The kinds share one trade tap.
 */
export function loadDataSourceCollectors(
  feeds: readonly Feed[],
  registry: KindLookup,
  context: CollectorContext,
): DataSourceCollector[] {
  const requirements = dataRequirements(feeds, registry);
  for (const warning of requirementWarnings(requirements, registry)) context.logger.warn(warning);
  const withTap: CollectorContext = context.trades ? context : { ...context, trades: new TradeTap(context.logger) };
  const byKind = new Map<string, DataRequirement[]>();
  for (const req of requirements) byKind.set(req.collector, [...(byKind.get(req.collector) ?? []), req]);
  return [...byKind].flatMap(([kind, reqs]) => registry.collectorKind(kind).create(reqs, withTap));
}

/** What the feeds need, dependencies added and requirements for the same data merged (see loadDataSourceCollectors). */
export function dataRequirements(feeds: readonly Feed[], registry: KindLookup): DataRequirement[] {
  // Same collector writing the same series = same data, even when only one feed gave an arg.
  const merged = new Map<string, DataRequirement>();
  const add = (req: DataRequirement): boolean => {
    const identity = `${req.collector}|${[...req.keys].sort().join(',')}`;
    const seen = merged.get(identity);
    merged.set(identity, seen ? mergeRequirements(seen, req, registry.collectorKind(req.collector)) : req);
    return seen === undefined;
  };
  for (const feed of feeds) for (const req of feed.requiredData()) add(req);
  addDependencies(merged.values(), registry, add);
  return [...merged.values()];
}

/** What collecting `requirements` will not do (each kind's `warnings`), each said once. */
export function requirementWarnings(requirements: readonly DataRequirement[], registry: KindLookup): string[] {
  return [...new Set(requirements.flatMap((req) => registry.collectorKind(req.collector).warnings?.(req) ?? []))];
}

/**
 * Adds what each requirement `needs` (transitively), for the same exchange and symbol and with
 * its `staleAfter` and `history`; `add` merges and says whether the requirement was new.
 */
function addDependencies(requirements: Iterable<DataRequirement>, registry: KindLookup, add: (req: DataRequirement) => boolean): void {
  const resolver = new CollectSpecResolver(registry);
  const pending = [...requirements];
  for (let req = pending.pop(); req !== undefined; req = pending.pop()) {
    for (const spec of registry.collectorKind(req.collector).needs?.(req) ?? []) {
      const { exchange, symbol, staleAfterMs, historyMs, dex } = req;
      const needed = resolver.require(spec, { name: req.id, exchange, symbol, staleAfterMs, historyMs, dex });
      // Only a new requirement is expanded: a cycle of needs ends at the first repeat.
      if (add(needed)) pending.push(needed);
    }
  }
}

function mergeRequirements(a: DataRequirement, b: DataRequirement, kind: CollectorKind): DataRequirement {
  let arg: string | undefined;
  if (kind.mergeArgs) {
    arg = kind.mergeArgs(a.arg, b.arg);
  } else if (a.arg !== undefined && b.arg !== undefined && a.arg !== b.arg) {
    throw new Error(`feeds ask for ${a.keys.join(', ')} with different settings: ${a.collector}:${a.arg} and ${b.collector}:${b.arg}`);
  } else {
    arg = a.arg ?? b.arg;
  }
  return {
    ...a,
    arg,
    id: [a.collector, a.exchange, a.symbol, ...(arg !== undefined ? [arg] : [])].join(':'),
    staleAfterMs: minDefined(a.staleAfterMs, b.staleAfterMs),
    historyMs: a.historyMs === undefined ? b.historyMs : Math.max(a.historyMs, b.historyMs ?? 0),
  };
}
