import type { z } from 'zod';
import type { CollectorKind, DataRequirement, DexPoolRef } from '../collectors/types.js';
import type { DataCollectionStorage } from '../storage/types.js';

/** The fields every feed config has; a feed kind adds its own parameters. */
export interface FeedConfig {
  name: string;
  /** Pricing kind (`trades-vwap`, `kline-close`, `book-mid`); absent for a pure collection feed. */
  kind?: string;
  /** The exchange; for a DEX feed, its chain. */
  exchange: string;
  /** `BASE-QUOTE`; for a DEX feed, the pool's alias or address. */
  symbol: string;
  /** The pool a DEX feed reads. */
  dex?: DexPoolRef;
  /** Extra data to collect: `trades`, `klines:1m`, `liquidity`, ... */
  collect?: string[];
  /** Restart a collector of this feed after this long without data (ms). */
  staleAfterMs?: number;
  /** How much history to backfill (ms). */
  historyMs?: number;
  /** Kind-specific parameters, validated by the kind's schema. */
  [param: string]: unknown;
}

/** One price point a feed computed: `[timestamp ms, price]`. */
export type PricePoint = [timestamp: number, price: number];

/**
 * What the quoting side prices. The same object derives the data to collect (for the
 * daemon) and computes its price from storage (for the updater).
 */
export interface Feed {
  readonly name: string;
  readonly kind: string;
  readonly exchange: string;
  readonly symbol: string;
  /** The data this feed needs collected: its pricing inputs plus its `collect` list. */
  requiredData(): DataRequirement[];
  /** The feed's price series over `[start, end]` from what was stored. */
  read(storage: DataCollectionStorage, start: number, end: number): Promise<PricePoint[]>;
  /** The feed's price as of `at` (ms), or undefined when there is no data. */
  value(storage: DataCollectionStorage, at: number): Promise<number | undefined>;
}

/** A pricing kind: validates its parameters and builds feeds of that kind. */
export interface FeedKind<Params = unknown> {
  readonly name: string;
  /** Schema of the kind's own parameters (the common feed fields are checked already). */
  readonly params: z.ZodType<Params>;
  create(config: FeedConfig, params: Params, requirements: RequirementResolver): Feed;
}

/** Builds requirements from `collect` specs, checking the collector kind exists. */
export interface RequirementResolver {
  /** e.g. `require('klines:1m', feed)` → the requirement for that feed's exchange and symbol. */
  require(spec: string, feed: Pick<FeedConfig, 'exchange' | 'symbol' | 'staleAfterMs' | 'historyMs' | 'name' | 'dex'>): DataRequirement;
}

/** The kinds feeds and their collectors are built from, looked up by name (the daemon's `Registry` is one). */
export interface KindLookup {
  feedKind(name: string): FeedKind;
  collectorKind(name: string): CollectorKind;
}
