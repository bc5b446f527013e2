import type { z } from 'zod';
import type { TradeTap } from '../collectors/trades/trade-tap.js';
import type { CollectorProgress, DataSourceCollector } from '../collectors/types.js';
import type { Logger } from '../common/logger.js';
import type { DataCollectionStorage } from '../storage/types.js';

/** Endpoint overrides for one exchange (testnets, proxies, local simulators). */
export interface ExchangeEndpoints {
  wsUrl?: string;
  restUrl?: string;
}

/**
 * One piece of data a feed needs, e.g. Binance BTC-USDT trades or 1m klines. Two feeds
 * needing the same data produce requirements with the same `id`, and share one collector.
 */
export interface DataRequirement {
  /** Stable identity: `<collector>:<exchange>:<SYMBOL>[:<arg>]`. */
  id: string;
  /** Collector kind that provides it: `trades`, `klines`, `liquidity`, or a user's kind. */
  collector: string;
  exchange: string;
  /** Unified `BASE-QUOTE`, upper case. */
  symbol: string;
  /** What followed the colon in `collect` (`1m` in `klines:1m`), if anything. */
  arg?: string;
  /** Series keys the collector writes for it. */
  keys: string[];
  /** Restart the collector when it has stored nothing for this long. */
  staleAfterMs?: number;
  /** How far back history should reach on start, for collectors that backfill. */
  historyMs?: number;
}

/** What a collector kind gets to build collectors with. */
export interface CollectorContext {
  exchanges: Readonly<Record<string, ExchangeEndpoints>>;
  logger: Logger;
  /**
   * The process's new trades, published by the trade streams, for kinds that derive data from
   * them (candles). `loadDataSourceCollectors` creates one when absent.
   */
  trades?: TradeTap;
}

/**
 * A kind of collector (`trades`, `klines`, ...): turns the requirements of every feed into
 * collectors, grouping them as it likes (e.g. one WebSocket for many symbols of an exchange).
 */
export interface CollectorKind {
  readonly name: string;
  /**
   * The kinds of series it writes: the first segment of their keys (`gaps` in
   * `gaps:binance:BTC-USDT`). Default: `[name]`. `collector fetch` refuses a kind nobody writes.
   */
  readonly seriesKinds?: readonly string[];
  /** The series keys a requirement of this kind writes (also validates `arg`). */
  keysFor(exchange: string, symbol: string, arg: string | undefined): string[];
  /**
   * Collect specs (`trades`) this requirement depends on, for the same exchange and symbol;
   * `loadDataSourceCollectors` collects them too, as if the feed had listed them.
   */
  needs?(requirement: DataRequirement): string[];
  /**
   * Combines the arguments of two requirements for the same series (two feeds asking for them
   * differently, e.g. `liquidity:rest` and `liquidity`); throws when they cannot share a collector.
   * Without it, differing arguments are refused.
   */
  mergeArgs?(a: string | undefined, b: string | undefined): string | undefined;
  /** Builds the collectors for all requirements of this kind, already deduplicated. */
  create(requirements: readonly DataRequirement[], context: CollectorContext): DataSourceCollector[];
}

/** The fields every feed config has; a feed kind adds its own parameters. */
export interface FeedConfig {
  name: string;
  /** Pricing kind (`trades-vwap`, `kline-close`, `book-mid`); absent for a pure collection feed. */
  kind?: string;
  exchange: string;
  symbol: string;
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
  require(spec: string, feed: Pick<FeedConfig, 'exchange' | 'symbol' | 'staleAfterMs' | 'historyMs' | 'name'>): DataRequirement;
}

/** A storage backend kind: validates its config block and opens it. */
export interface StorageKind<Config = unknown> {
  readonly name: string;
  readonly config: z.ZodType<Config>;
  open(config: Config, context: { logger: Logger; readOnly?: boolean; configDir: string }): Promise<DataCollectionStorage>;
}

export type { CollectorProgress, DataSourceCollector };
