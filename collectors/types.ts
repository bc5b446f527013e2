import type { Logger } from '../common/logger.js';
import type { DataCollectionStorage } from '../storage/types.js';
import type { ChainSettings } from './dex/chain-rpc.js';
import type { TradeTap } from './trades/trade-tap.js';
import { SymbolFailures } from './symbol-failures.js';

/**
 * Why a collector dropped something it received: a frame it could not read (`unparsed`), a record
 * whose values no market can print (`invalid`, see validation.ts), a frame over the exchange's size
 * limit (`oversized`: the connection is reopened), a binary frame where the exchange sends text
 * (`binary`), a trade id already stored (`duplicate`).
 */
export type DropReason = 'unparsed' | 'invalid' | 'oversized' | 'binary' | 'duplicate';

/** Drops counted by reason: frames for `unparsed`, `oversized`, `binary`; records (trades, candles, book levels) for `invalid`, `duplicate`. */
export type DropCounts = Record<DropReason, number>;

// Sampled logs: the first drop of a reason, then every Nth, so a flood stays readable. Each
// oversized frame costs a reconnect, so each one is told.
const LOG_EVERY: Readonly<DropCounts> = { unparsed: 100, invalid: 100, oversized: 1, binary: 100, duplicate: 1000 };

/**
 * What a collector has done so far. The collector updates it as it works; the orchestrator
 * reads it for status and for the silence watchdog (heartbeats do not count as data).
 */
export class CollectorProgress {
  /** Samples stored since the process started (across restarts). */
  itemsStored = 0;
  /** Wall-clock ms when data last arrived (not a heartbeat); undefined before any. */
  lastDataAt: number | undefined;
  /** Exchange time (ms) of the newest data stored. */
  lastDataTime: number | undefined;
  /** Wall-clock ms of the last keepalive/heartbeat frame: proves the link, not the data. */
  lastHeartbeatAt: number | undefined;
  /** Trades fetched over REST to fill gaps since the process started. */
  tradesBackfilled = 0;
  /** Gaps that could not be filled (each stored as a gap record) since the process started. */
  gaps = 0;
  /**
   * Times a collector threw its local copy away and resynchronized it (an order book failing its
   * checksum or sequence check); 0 for collectors that keep no such copy.
   */
  resyncs = 0;
  /** Chain reorganizations repaired (DEX pools: a block read was replaced; its samples were rewritten). */
  reorgs = 0;
  /**
   * Why the collector is running but not collecting (the exchange reports maintenance or is
   * unreachable, so it waits instead of hammering it); undefined while all is well.
   */
  degraded: string | undefined;
  /** What was dropped since the process started, by reason. */
  readonly dropped: DropCounts = { unparsed: 0, invalid: 0, oversized: 0, binary: 0, duplicate: 0 };

  /** Counts one drop; true when it is one to log (the first of its reason, then every Nth). */
  drop(reason: DropReason): boolean {
    const count = ++this.dropped[reason];
    return count === 1 || count % LOG_EVERY[reason] === 0;
  }
  /** Symbols that cannot be collected now (not listed, refused), each with its reason; the others go on. */
  readonly failures = new SymbolFailures();
  /** Trades whose id lay far outside their symbol's sequence and that REST or the next trades did not confirm: dropped. */
  tradeIdOutliers = 0;

  /** Records `count` stored samples whose newest exchange time is `dataTime`. */
  recordStored(count: number, dataTime?: number, now = Date.now()): void {
    this.itemsStored += count;
    this.lastDataAt = now;
    if (dataTime !== undefined && (this.lastDataTime === undefined || dataTime > this.lastDataTime)) {
      this.lastDataTime = dataTime;
    }
  }

  /** Records a keepalive; it does not reset the silence watchdog. */
  recordHeartbeat(now = Date.now()): void {
    this.lastHeartbeatAt = now;
  }

  private openConnections = 0;
  private readonly holders = new Set<() => number>();

  /** WebSocket connections open and HTTP requests in flight now (see openConnection). */
  get connections(): number {
    return this.openConnections;
  }

  /**
   * Counts one connection until the returned function is called (later calls do nothing): a
   * WebSocket from its handshake until its socket has closed, an HTTP request while it is sent
   * and answered (waiting for its turn in the exchange's queue does not count).
   */
  openConnection(): () => void {
    this.openConnections += 1;
    let open = true;
    return () => {
      if (open) this.openConnections -= 1;
      open = false;
    };
  }

  /**
   * Adds `count` to bufferedFrames until the returned function is called: how many records the
   * collector holds received and not yet handed to storage (a writer's queue, trades held behind a
   * backfill). Read only when the status is asked, so nothing is counted per frame.
   */
  holdsRecords(count: () => number): () => void {
    this.holders.add(count);
    return () => this.holders.delete(count);
  }

  /** Records received and held, not yet handed to storage, now. */
  get bufferedFrames(): number {
    let held = 0;
    for (const count of this.holders) held += count();
    return held;
  }
}

/**
 * A source of data: a WebSocket loop, a polling loop. `run` works until `signal` aborts
 * (then resolves) and throws on failure; the orchestrator restarts it either way.
 */
export interface DataSourceCollector {
  /** Unique and stable, e.g. `trades:binance` or `klines:binance:BTC-USDT:1m`. */
  readonly id: string;
  /** The collector kind it was made by, e.g. `trades`. */
  readonly kind: string;
  /** Series keys it writes. */
  readonly keys: readonly string[];
  /**
   * Series it derives its data from inside this process (candles: their trades), where another
   * collector writes them: both must then run in the same daemon (one unit of work, src/cluster/).
   */
  readonly inputs?: readonly string[];
  /** Restart when no data arrived for this long (ms); undefined disables the watchdog. */
  readonly staleAfterMs?: number;
  readonly progress: CollectorProgress;
  /**
   * Called before a run when another process may have collected its series since its last run
   * (cluster: the unit ran on another daemon): what it knows of them in memory (last ids, open
   * candles) must be read again from storage. Optional: a collector keeping nothing between runs needs none.
   */
  forgetProgress?(): void;
  /** Collects into `storage` until `signal` aborts; throws on failure. */
  run(storage: DataCollectionStorage, signal: AbortSignal): Promise<void>;
}

/** Endpoint overrides for one exchange (testnets, proxies, local simulators). */
export interface ExchangeEndpoints {
  wsUrl?: string;
  restUrl?: string;
}

/** A DEX pool a feed names (`chain`, `pool`, `protocol`, `base`): such a feed's exchange is the chain, its symbol the pool's alias or address. */
export interface DexPoolRef {
  chain: string;
  /** The pool contract's address. */
  address: string;
  /** `uniswap-v2`, `uniswap-v3`. */
  protocol: string;
  /** Symbol or address of the token prices are quoted per; default the pool's token0. */
  base?: string;
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
  /** The pool, for a DEX feed's requirements. */
  dex?: DexPoolRef;
}

/** What a collector kind gets to build collectors with. */
export interface CollectorContext {
  exchanges: Readonly<Record<string, ExchangeEndpoints>>;
  /** The chains DEX feeds read (`chains:` in the config). */
  chains?: Readonly<Record<string, ChainSettings>>;
  logger: Logger;
  /**
   * The process's new trades, published by the trade streams, for kinds that derive data from
   * them (candles). `loadDataSourceCollectors` creates one when absent.
   */
  trades?: TradeTap;
  /**
   * At most this many symbols per collector (cluster: a collector is one unit of work, and smaller
   * units spread over the daemons); default: as many as one connection carries.
   */
  maxSymbolsPerCollector?: number;
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
  /** The exchanges it collects from, when it knows them: an `exchanges:` override must name one (or a feed's). */
  readonly exchanges?: readonly string[];
  /** The series keys a requirement of this kind writes (also validates `arg`); `dex` for a DEX feed's. */
  keysFor(exchange: string, symbol: string, arg: string | undefined, dex?: DexPoolRef): string[];
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
  /**
   * What collecting a requirement will not do that its feed might expect (the exchange lacks a
   * capability with a fallback, e.g. no trade history: gaps are recorded instead); shown by
   * `collector validate` and logged at start. Something that cannot be collected at all is an
   * error of `keysFor` instead.
   */
  warnings?(requirement: DataRequirement): string[];
  /** Builds the collectors for all requirements of this kind, already deduplicated. */
  create(requirements: readonly DataRequirement[], context: CollectorContext): DataSourceCollector[];
}
