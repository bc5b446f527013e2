import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger, type Logger } from '../../common/logger.js';
import type { CollectorCheckpoint, DataCollectionStorage, MergePolicy, Point } from '../../storage/types.js';
import { compareTradeIds } from '../trades/dedup.js';
import { tradesKey, type Trade } from '../trades/trade.js';
import type { TradeTap } from '../trades/trade-tap.js';
import { CollectorProgress, type DataSourceCollector } from '../types.js';
import { bucketStart, CandleBuilder, type Candle, type CandleUpdate, type Timeframe } from './candle-builder.js';

/** Fields of a candles series; an in-progress or late-corrected candle is rewritten in place. */
export const CANDLE_FIELDS: Readonly<Record<string, MergePolicy>> = {
  open: 'last',
  high: 'last',
  low: 'last',
  close: 'last',
  volume: 'last',
  quote_volume: 'last',
  trades: 'last',
};

/** The storage key of a symbol's candles: `candles:<exchange>:<SYMBOL>:<timeframe>`. */
export function candlesKey(exchange: string, symbol: string, timeframe: string): string {
  return `candles:${exchange}:${symbol}:${timeframe}`;
}

// Sampled, so a reconnect's worth of late trades logs a line, not thousands.
const LATE_LOG_EVERY = 1000;

export interface CandleCollectorOptions {
  /** e.g. `candles:binance`. */
  id: string;
  exchange: string;
  /** Unified symbol → its timeframes. */
  series: ReadonlyMap<string, readonly Timeframe[]>;
  /** Where the trades collector of the same process publishes its new trades. */
  tap: TradeTap;
  /**
   * The exchange's trade ids increase: each stored candle then carries the last trade id it holds
   * as its checkpoint, and a restarted collector leaves out of a candle the trades it already holds.
   */
  idsIncrease?: boolean;
  logger?: Logger;
  /** How long after a bucket's end it is closed, for trades still on their way (ms); default 2000. */
  closeGraceMs?: number;
  /** How often changed in-progress candles are stored (ms), also the longest the timer sleeps; default 1000. */
  openWriteIntervalMs?: number;
  /** How far back buckets are kept for late (backfilled) trades (ms); default 3 h. */
  retainMs?: number;
}

/**
 * Builds `candles:<exchange>:<SYMBOL>:<tf>` series from the trades its exchange's trades
 * collector publishes on the tap: closes every bucket just after its end (plus a grace for late
 * frames) even when no later trade comes, stores in-progress candles as they change, and
 * stores a closed candle again when a late (backfilled) trade changes it.
 */
export class CandleCollector implements DataSourceCollector {
  readonly kind = 'candles';
  readonly id: string;
  readonly keys: readonly string[];
  /** The trades series its candles are built from (through the process's trade tap). */
  readonly inputs: readonly string[];
  // None: its input is the trades collector's, which has its own watchdog; restarting this one would not help.
  readonly staleAfterMs = undefined;
  readonly progress = new CollectorProgress();

  private readonly exchange: string;
  private readonly tap: TradeTap;
  private readonly logger: Logger;
  private readonly closeGraceMs: number;
  private readonly openWriteIntervalMs: number;
  /** Every timeframe of any symbol: what the timer wakes up for. */
  private readonly timeframes: readonly Timeframe[];
  private readonly series: ReadonlyMap<string, readonly Timeframe[]>;
  private readonly builders: ReadonlyMap<string, CandleBuilder>;
  private readonly symbolOfKey: ReadonlyMap<string, string>;
  // Outlive a run, so a restart after a failed write neither loses trades nor candles.
  private unsubscribe: (() => void) | undefined;
  /** Trades received while the series are restored from storage, replayed after. */
  private waiting: Trade[] | undefined;
  private restored = false;
  /** Candles handed out and not yet stored: key → open time → record (the newest wins). */
  private unsent = new Map<string, Map<number, Record<string, number>>>();
  private lateLogged = 0;
  private readonly idsIncrease: boolean;
  /** Per symbol, the last trade added and its time: what the next stored candles hold (their checkpoint). */
  private readonly lastTrade = new Map<string, Trade>();
  /**
   * After a restart, per symbol and timeframe, the last trade id the stored candle holds: a trade
   * the trades collector fetches again up to it is not added to that candle twice.
   */
  private readonly holds = new Map<string, Map<string, string>>();

  constructor(options: CandleCollectorOptions) {
    if (options.series.size === 0) throw new Error(`${options.id}: no symbols to build candles for`);
    this.id = options.id;
    this.exchange = options.exchange;
    this.tap = options.tap;
    this.logger = (options.logger ?? silentLogger).child({ collector: this.id });
    this.closeGraceMs = options.closeGraceMs ?? 2_000;
    this.openWriteIntervalMs = options.openWriteIntervalMs ?? 1_000;
    this.idsIncrease = options.idsIncrease ?? false;
    const builders = new Map<string, CandleBuilder>();
    const timeframes = new Map<number, Timeframe>();
    for (const [symbol, tfs] of options.series) {
      builders.set(symbol, new CandleBuilder({ timeframes: tfs, retainMs: options.retainMs }));
      for (const tf of tfs) timeframes.set(tf.ms, tf);
    }
    this.builders = builders;
    this.series = new Map(options.series);
    this.timeframes = [...timeframes.values()];
    this.inputs = [...options.series.keys()].map((symbol) => tradesKey(this.exchange, symbol));
    this.keys = [...options.series].flatMap(([symbol, tfs]) => tfs.map((tf) => candlesKey(this.exchange, symbol, tf.name)));
    this.symbolOfKey = new Map([...options.series].flatMap(([symbol, tfs]) => tfs.map((tf): [string, string] => [candlesKey(this.exchange, symbol, tf.name), symbol])));
    this.progress.holdsRecords(() => this.heldRecords);
  }

  /** Trades waiting for the series to be restored, and candles not stored yet (being written, or left by a failed write). */
  private get heldRecords(): number {
    let held = this.waiting?.length ?? 0;
    for (const byTime of this.unsent.values()) held += byTime.size;
    return held;
  }

  /** Trades left out of some timeframe because they came after its buckets were forgotten. */
  get lateTrades(): number {
    let late = 0;
    for (const builder of this.builders.values()) late += builder.lateTrades;
    return late;
  }

  /** Another process built these candles meanwhile (cluster): continue from what it stored, not from what this one held. */
  forgetProgress(): void {
    for (const builder of this.builders.values()) builder.forget();
    this.unsent.clear();
    this.holds.clear();
    this.lastTrade.clear();
    this.restored = false;
  }

  /** Builds and stores candles until `signal` aborts; throws when storing fails. */
  async run(storage: DataCollectionStorage, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    for (const [symbol, timeframes] of this.series) {
      for (const tf of timeframes) {
        await storage.declare({
          key: candlesKey(this.exchange, symbol, tf.name),
          fields: CANDLE_FIELDS,
          labels: { kind: 'candles', exchange: this.exchange, symbol, timeframe: tf.name },
        });
      }
    }
    this.subscribe();
    try {
      if (!this.restored) await this.restore(storage, Date.now());
      while (!signal.aborted) {
        const now = Date.now();
        await this.store(storage, this.updates(now));
        await sleep(this.sleepAfter(now), undefined, { signal }).catch(() => undefined);
      }
      // Stopping: the in-progress candles as they are, so a restarted daemon continues them.
      await this.store(storage, this.updates(Date.now()));
    } catch (err) {
      // Still subscribed: trades go on into the builders until the orchestrator runs this again.
      if (!this.restored) this.stopListening();
      throw err;
    }
    this.stopListening();
  }

  /** Subscribes to each symbol's trades once; until the series are restored they wait. */
  private subscribe(): void {
    if (this.unsubscribe) return;
    if (!this.restored) this.waiting = [];
    const stops = [...this.builders].map(([symbol, builder]) =>
      this.tap.subscribe(this.exchange, symbol, (trade) => {
        if (this.waiting) this.waiting.push(trade);
        else this.addTrade(builder, trade);
      }),
    );
    this.unsubscribe = () => stops.forEach((stop) => stop());
  }

  private stopListening(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.waiting = undefined;
  }

  /**
   * Continues each series from its last stored candle when that is recent (within two
   * timeframes), so the candles across a restart are flat at the right close, and an
   * in-progress candle keeps the trades it had.
   */
  private async restore(storage: DataCollectionStorage, now: number): Promise<void> {
    const checkpoints = await this.loadCheckpoints(storage);
    for (const [symbol, builder] of this.builders) {
      for (const tf of this.series.get(symbol)!) {
        if (builder.started(tf.name)) continue;
        const key = candlesKey(this.exchange, symbol, tf.name);
        const last = (await storage.fetch(key, Math.max(0, now - 2 * tf.ms), now)).at(-1);
        if (!last || typeof last[1] === 'number') continue;
        const candle = candleOfRecord(last[0], last[1]);
        if (!candle) continue;
        builder.restore(tf.name, candle);
        const held = checkpoints.get(key)?.lastTradeId;
        if (held === undefined) continue;
        let ofSymbol = this.holds.get(symbol);
        if (!ofSymbol) this.holds.set(symbol, (ofSymbol = new Map()));
        ofSymbol.set(tf.name, held);
      }
    }
    this.restored = true;
    const waiting = this.waiting ?? [];
    this.waiting = undefined;
    for (const trade of waiting) this.addTrade(this.builders.get(trade.symbol)!, trade);
  }

  /** The checkpoints stored with the candles (increasing ids only), by series key. */
  private async loadCheckpoints(storage: DataCollectionStorage): Promise<Map<string, CollectorCheckpoint>> {
    if (!this.idsIncrease || !storage.collectorState) return new Map();
    try {
      const record = await storage.collectorState.load(this.id);
      return new Map((record?.checkpoints ?? []).map((c) => [c.key, c]));
    } catch (err) {
      this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'cannot load the candles checkpoints; a trade fetched again could count twice in a candle');
      return new Map();
    }
  }

  /** The timeframes whose restored candle already holds `trade`; undefined once none does (the usual case). */
  private heldBy(trade: Trade): Set<string> | undefined {
    const ofSymbol = this.holds.get(trade.symbol);
    if (!ofSymbol) return undefined;
    let held: Set<string> | undefined;
    for (const [timeframe, lastId] of ofSymbol) {
      if (compareTradeIds(trade.id, lastId) <= 0) (held ??= new Set()).add(timeframe);
      // Ids increase: once past a candle's last trade, every later one is new to it.
      else ofSymbol.delete(timeframe);
    }
    if (ofSymbol.size === 0) this.holds.delete(trade.symbol);
    return held;
  }

  private addTrade(builder: CandleBuilder, trade: Trade): void {
    // The trade itself (no copy per trade): only its id and time are read, when candles are stored.
    if (this.idsIncrease) this.lastTrade.set(trade.symbol, trade);
    if (builder.add(trade.exchangeTime, trade.price, trade.amount, trade.count ?? 1, this.heldBy(trade))) return;
    this.lateLogged += 1;
    if (this.lateLogged === 1 || this.lateLogged % LATE_LOG_EVERY === 0) {
      this.logger.warn({ symbol: trade.symbol, exchangeTime: trade.exchangeTime, lateTrades: this.lateLogged }, 'a trade came too late for the candles kept: left out of them');
    }
  }

  /** Closed candles due by `now` (minus the grace) and in-progress candles that changed. */
  private updates(now: number): Map<string, CandleUpdate[]> {
    const out = new Map<string, CandleUpdate[]>();
    for (const [symbol, builder] of this.builders) {
      const updates = [...builder.closeUpTo(now - this.closeGraceMs), ...builder.openUpdates()];
      if (updates.length > 0) out.set(symbol, updates);
    }
    return out;
  }

  /** Stores the updates and whatever a failed write left unsent; on failure keeps them for the next run. */
  private async store(storage: DataCollectionStorage, updates: ReadonlyMap<string, readonly CandleUpdate[]>): Promise<void> {
    for (const [symbol, ofSymbol] of updates) {
      for (const { timeframe, candle } of ofSymbol) {
        const key = candlesKey(this.exchange, symbol, timeframe.name);
        let byTime = this.unsent.get(key);
        if (!byTime) this.unsent.set(key, (byTime = new Map()));
        byTime.set(candle.openTime, recordOf(candle));
      }
    }
    if (this.unsent.size === 0) return;
    const points: Point[] = [];
    const checkpoints: CollectorCheckpoint[] = [];
    let newest = 0;
    for (const [key, byTime] of this.unsent) {
      for (const [timestamp, value] of byTime) {
        points.push({ key, value, timestamp });
        if (timestamp > newest) newest = timestamp;
      }
      // Committed with the candles: the last trade they hold, so a restart adds none of them again.
      const last = this.lastTrade.get(this.symbolOfKey.get(key)!);
      if (last) checkpoints.push({ key, lastTradeId: String(last.id), lastTimestamp: last.exchangeTime });
    }
    const result = await storage.storeMany(points, checkpoints.length > 0 ? { checkpoint: { collector: this.id, checkpoints } } : undefined);
    this.unsent = new Map();
    if (result.rejected.length > 0) {
      this.logger.error({ rejected: result.rejected.length, first: result.rejected.slice(0, 3) }, 'storage rejected candle samples');
    }
    if (result.accepted > 0) this.progress.recordStored(result.accepted, newest);
  }

  /** Until the next bucket end plus the grace, and no longer than the in-progress write interval. */
  private sleepAfter(now: number): number {
    const closeAt = Math.min(...this.timeframes.map((tf) => bucketStart(now - this.closeGraceMs, tf.ms) + tf.ms + this.closeGraceMs));
    return Math.max(1, Math.min(closeAt - now, this.openWriteIntervalMs));
  }
}

/** A candle as stored. */
function recordOf(candle: Candle): Record<string, number> {
  return {
    open: candle.open,
    high: candle.high,
    low: candle.low,
    close: candle.close,
    volume: candle.volume,
    quote_volume: candle.quoteVolume,
    trades: candle.trades,
  };
}

/** A stored candle back, or undefined when a field is missing. */
function candleOfRecord(openTime: number, record: Readonly<Record<string, number>>): Candle | undefined {
  const { open, high, low, close, volume, quote_volume: quoteVolume, trades } = record;
  if ([open, high, low, close, volume, quoteVolume, trades].some((x) => x === undefined)) return undefined;
  return { openTime, open: open!, high: high!, low: low!, close: close!, volume: volume!, quoteVolume: quoteVolume!, trades: trades! };
}
