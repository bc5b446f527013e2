/**
 * Candles from trades, for several timeframes at once, as a complete series: a bucket without
 * trades still gets a flat candle at the previous close. Pure: no clock, no I/O; the collector
 * says what time it is (`closeUpTo`) and stores what comes out.
 */
import { parseDuration } from '../../common/duration.js';
import { intervalName } from '../../common/schema.js';
import type { Candle } from '../klines/kline.js';
import { alignDown } from '../klines/open-times.js';

/** A candle length, named as in keys (`1m`, `4h`). */
export interface Timeframe {
  name: string;
  ms: number;
}

/** One candle: the trades with exchange time in [openTime, openTime + timeframe). */
export type { Candle };

/** A candle to store: new or changed since it was last handed out. */
export interface CandleUpdate {
  timeframe: Timeframe;
  candle: Candle;
  /** True once the bucket's time is over (it may still change when a late trade arrives). */
  closed: boolean;
}

/** A bucket as the builder keeps it: the candle plus what orders its trades and what was handed out. */
interface Bucket extends Candle {
  /** Exchange time of the trade that set `open`; -Infinity when unknown (restored from storage). */
  firstTime: number;
  /** Exchange time of the trade that set `close`; -Infinity when unknown. */
  lastTime: number;
  /** Handed out as closed at least once. */
  closed: boolean;
  /** Changed since last handed out. */
  dirty: boolean;
}

const SECOND = 1_000;
const DAY = 86_400_000;
const WEEK = 7 * DAY;
// Largest unit first: the canonical name of 60s is 1m, so both spell the same series.
const UNITS: ReadonlyArray<readonly [string, number]> = [['w', WEEK], ['d', DAY], ['h', 3_600_000], ['m', 60_000], ['s', SECOND]];

/** The canonical name of a timeframe in ms: the largest unit that divides it (90000 → `90s`, 3600000 → `1h`). */
export function timeframeName(ms: number): string {
  const [unit, size] = UNITS.find(([, size]) => ms % size === 0)!;
  return `${ms / size}${unit}`;
}

/** Parses `1m,5m,1h` into timeframes, shortest first; throws on an empty, unknown, zero, sub-second or repeated one. */
export function parseTimeframes(arg: string | undefined): Timeframe[] {
  if (arg === undefined || arg.trim() === '') throw new Error('candles needs timeframes, e.g. candles:1m,5m,1h');
  const out: Timeframe[] = [];
  for (const text of arg.split(',').map((part) => part.trim())) {
    if (!intervalName.safeParse(text).success) throw new Error(`bad timeframe ${JSON.stringify(text)}: expected whole units like 1m, 5m, 1h, 1d`);
    const ms = parseDuration(text);
    if (ms === 0) throw new Error(`bad timeframe ${JSON.stringify(text)}: must be longer than 0`);
    const name = timeframeName(ms);
    if (out.some((tf) => tf.ms === ms)) throw new Error(`timeframe ${text} is listed twice (as ${name})`);
    out.push({ name, ms });
  }
  return out.sort((a, b) => a.ms - b.ms);
}

/** The open time of the bucket holding `time`: aligned to the epoch like exchange klines (weeks to Mondays). */
export const bucketStart = alignDown;

/** A candle with no trades: flat at the previous close. */
function flatBucket(openTime: number, close: number): Bucket {
  return { openTime, open: close, high: close, low: close, close, volume: 0, quoteVolume: 0, trades: 0, firstTime: Infinity, lastTime: -Infinity, closed: false, dirty: true };
}

function candleOf(bucket: Bucket): Candle {
  const { openTime, open, high, low, close, volume, quoteVolume, trades } = bucket;
  return { openTime, open, high, low, close, volume, quoteVolume, trades };
}

/** One timeframe's consecutive buckets, the oldest kept first. */
class TimeframeSeries {
  /** Consecutive: buckets[i].openTime = buckets[0].openTime + i × timeframe. */
  private buckets: Bucket[] = [];
  /** Open time of the oldest closed bucket changed since it was handed out (a late trade); Infinity when none. */
  private changedFrom = Infinity;

  constructor(
    readonly timeframe: Timeframe,
    private readonly retainMs: number,
  ) {}

  /** Drops every bucket: the series begins again (from a stored candle, or the next trade). */
  forget(): void {
    this.buckets = [];
    this.changedFrom = Infinity;
  }

  get started(): boolean {
    return this.buckets.length > 0;
  }

  /** Starts the series at a stored candle, so a restart continues it (same bucket, or flat from its close). */
  restore(candle: Candle): void {
    if (this.started) return;
    this.buckets.push({ ...candle, firstTime: -Infinity, lastTime: -Infinity, closed: false, dirty: false });
  }

  /** Adds a trade; false when its bucket is older than the oldest kept (or than the series). */
  add(time: number, price: number, amount: number, count: number): boolean {
    const openTime = bucketStart(time, this.timeframe.ms);
    if (!this.started) {
      this.buckets.push(flatBucket(openTime, price));
    } else if (openTime < this.buckets[0]!.openTime) {
      return false;
    } else {
      this.extendTo(openTime);
    }
    const index = this.indexOf(openTime);
    const bucket = this.buckets[index]!;
    const closeBefore = bucket.close;
    if (bucket.trades === 0) {
      bucket.open = bucket.high = bucket.low = bucket.close = price;
      bucket.firstTime = bucket.lastTime = time;
    } else {
      // Same time as the first: the one that came first stays first (arrival order breaks ties).
      if (time < bucket.firstTime) {
        bucket.open = price;
        bucket.firstTime = time;
      }
      if (time >= bucket.lastTime) {
        bucket.close = price;
        bucket.lastTime = time;
      }
      if (price > bucket.high) bucket.high = price;
      if (price < bucket.low) bucket.low = price;
    }
    bucket.volume += amount;
    bucket.quoteVolume += price * amount;
    bucket.trades += count;
    this.markChanged(bucket);
    if (bucket.close !== closeBefore) this.refill(index);
    return true;
  }

  /** Hands out every bucket ending by `now` that is new or changed, oldest first, filling buckets without trades. */
  closeUpTo(now: number, out: CandleUpdate[]): void {
    if (!this.started) return;
    const lastToClose = bucketStart(now, this.timeframe.ms) - this.timeframe.ms;
    this.extendTo(lastToClose);
    const from = Math.max(0, Math.min(this.firstOpenIndex(), this.indexOf(Math.max(this.changedFrom, this.buckets[0]!.openTime))));
    for (let i = from; i < this.buckets.length; i++) {
      const bucket = this.buckets[i]!;
      if (bucket.openTime > lastToClose) break;
      if (bucket.closed && !bucket.dirty) continue;
      bucket.closed = true;
      bucket.dirty = false;
      out.push({ timeframe: this.timeframe, candle: candleOf(bucket), closed: true });
    }
    this.changedFrom = Infinity;
    this.trim();
  }

  /** Hands out the buckets still open that changed since last handed out. */
  openUpdates(out: CandleUpdate[]): void {
    for (let i = this.firstOpenIndex(); i < this.buckets.length; i++) {
      const bucket = this.buckets[i]!;
      if (!bucket.dirty) continue;
      bucket.dirty = false;
      out.push({ timeframe: this.timeframe, candle: candleOf(bucket), closed: false });
    }
  }

  private indexOf(openTime: number): number {
    return (openTime - this.buckets[0]!.openTime) / this.timeframe.ms;
  }

  /** Index of the first bucket not yet closed (the length when all are). */
  private firstOpenIndex(): number {
    let i = this.buckets.length;
    while (i > 0 && !this.buckets[i - 1]!.closed) i -= 1;
    return i;
  }

  /** Appends flat buckets up to the one opening at `openTime`. */
  private extendTo(openTime: number): void {
    for (let last = this.buckets.at(-1)!; last.openTime < openTime; ) {
      const next = flatBucket(last.openTime + this.timeframe.ms, last.close);
      this.buckets.push(next);
      last = next;
    }
  }

  /** The close of bucket `index` changed: the flat buckets after it follow it, up to the next with trades. */
  private refill(index: number): void {
    const close = this.buckets[index]!.close;
    for (let i = index + 1; i < this.buckets.length; i++) {
      const bucket = this.buckets[i]!;
      if (bucket.trades > 0) break;
      bucket.open = bucket.high = bucket.low = bucket.close = close;
      this.markChanged(bucket);
    }
  }

  private markChanged(bucket: Bucket): void {
    bucket.dirty = true;
    if (bucket.closed && bucket.openTime < this.changedFrom) this.changedFrom = bucket.openTime;
  }

  /** Forgets closed, handed-out buckets older than the retention, always keeping the newest (its close continues the series). */
  private trim(): void {
    const newest = this.buckets.at(-1)!.openTime;
    let drop = 0;
    while (drop < this.buckets.length - 1) {
      const bucket = this.buckets[drop]!;
      if (bucket.openTime >= newest - this.retainMs || !bucket.closed || bucket.dirty) break;
      drop += 1;
    }
    // Spliced in chunks: once per call at most, and rarely more than a few buckets.
    if (drop > 0) this.buckets.splice(0, drop);
  }
}

export interface CandleBuilderOptions {
  timeframes: readonly Timeframe[];
  /** How far back (ms) buckets are kept for late trades; at least two buckets of each timeframe. Default 3 h. */
  retainMs?: number;
}

const DEFAULT_RETAIN_MS = 3 * 3_600_000;

/** One symbol's candles in several timeframes, built from its trades in arrival order. */
export class CandleBuilder {
  private readonly series: TimeframeSeries[];
  private late = 0;

  constructor(options: CandleBuilderOptions) {
    if (options.timeframes.length === 0) throw new Error('a candle builder needs at least one timeframe');
    const retainMs = options.retainMs ?? DEFAULT_RETAIN_MS;
    this.series = options.timeframes.map((tf) => new TimeframeSeries(tf, Math.max(retainMs, 2 * tf.ms)));
  }

  /** Trades that came too late for at least one timeframe (older than its kept buckets) and were left out of it. */
  get lateTrades(): number {
    return this.late;
  }

  /** Drops every candle of every timeframe: what another process stored since is read again (restore). */
  forget(): void {
    for (const series of this.series) series.forget();
  }

  /** Whether the series of `timeframe` (a name) has begun. */
  started(timeframe: string): boolean {
    return this.seriesOf(timeframe).started;
  }

  /** Continues `timeframe`'s series from a stored candle (ignored once the series has begun). */
  restore(timeframe: string, candle: Candle): void {
    this.seriesOf(timeframe).restore(candle);
  }

  /**
   * Adds one trade (exchange time, price, base amount, matches), to every timeframe but those in
   * `except` (whose stored candles already hold it); false when it was too late for some timeframe.
   */
  add(time: number, price: number, amount: number, count = 1, except?: ReadonlySet<string>): boolean {
    let inTime = true;
    for (const series of this.series) {
      if (except?.has(series.timeframe.name)) continue;
      if (!series.add(time, price, amount, count)) inTime = false;
    }
    if (!inTime) this.late += 1;
    return inTime;
  }

  /**
   * Every candle whose bucket ended by `now` and that is new or changed since handed out
   * (a late trade re-opens a closed bucket: it comes out again), per timeframe, oldest first.
   */
  closeUpTo(now: number): CandleUpdate[] {
    const out: CandleUpdate[] = [];
    for (const series of this.series) series.closeUpTo(now, out);
    return out;
  }

  /** The candles still in progress that changed since last handed out. */
  openUpdates(): CandleUpdate[] {
    const out: CandleUpdate[] = [];
    for (const series of this.series) series.openUpdates(out);
    return out;
  }

  private seriesOf(timeframe: string): TimeframeSeries {
    const series = this.series.find((s) => s.timeframe.name === timeframe);
    if (!series) throw new Error(`no ${timeframe} candles here; timeframes: ${this.series.map((s) => s.timeframe.name).join(', ')}`);
    return series;
  }
}
