import { parseDuration } from '../../common/duration.js';

const DAY = 86_400_000;
const WEEK = 7 * DAY;
// The epoch was a Thursday: exchanges open weekly candles on Mondays 00:00 UTC, four days later.
const WEEK_OFFSET = 4 * DAY;

/** An interval name (`1m`, `4h`, `1w`) in ms; throws a clear Error for anything else. */
export function intervalMs(interval: string): number {
  const ms = parseDuration(interval);
  if (ms < 1000 || ms % 1000 !== 0) throw new Error(`bad kline interval ${JSON.stringify(interval)}: expected whole seconds or more, e.g. 1m, 1h, 1d`);
  return ms;
}

/** The open time of the candle of `interval` that holds `time`. */
export function alignDown(time: number, interval: number): number {
  const offset = interval % WEEK === 0 ? WEEK_OFFSET : 0;
  return Math.floor((time - offset) / interval) * interval + offset;
}

/** The first open time of `interval` at or after `time`. */
export function alignUp(time: number, interval: number): number {
  return alignDown(time - 1, interval) + interval;
}

/** A run of consecutive candle open times, `from` to `to` inclusive. */
export interface OpenTimeRange {
  from: number;
  to: number;
}

/** Candles in a range of open times. */
export function candlesIn(range: OpenTimeRange, interval: number): number {
  return range.to < range.from ? 0 : (range.to - range.from) / interval + 1;
}

/**
 * The open times in [from, to] (aligned) that `present` lacks, as runs. `present` must hold
 * aligned open times; it may hold times outside the range.
 */
export function missingRanges(from: number, to: number, interval: number, present: ReadonlySet<number>): OpenTimeRange[] {
  const out: OpenTimeRange[] = [];
  let run: OpenTimeRange | undefined;
  for (let t = from; t <= to; t += interval) {
    if (present.has(t)) {
      run = undefined;
      continue;
    }
    if (run) run.to = t;
    else out.push((run = { from: t, to: t }));
  }
  return out;
}

/** Splits runs into pieces of at most `size` candles, oldest first. */
export function pages(ranges: readonly OpenTimeRange[], interval: number, size: number): OpenTimeRange[] {
  const out: OpenTimeRange[] = [];
  for (const range of ranges) {
    for (let from = range.from; from <= range.to; from += size * interval) {
      out.push({ from, to: Math.min(range.to, from + (size - 1) * interval) });
    }
  }
  return out;
}
