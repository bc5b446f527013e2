import type { Logger } from '../../common/logger.js';
import type { DataCollectionStorage, Point } from '../../storage/types.js';
import type { RestClient } from '../rest/rest-client.js';
import type { CollectorProgress } from '../types.js';
import { KLINE_GAP_FIELDS, KLINE_GAP_REASON, klineFields, klineGapsKey, klineRecord, klinesKey, type Kline } from './kline.js';
import { alignDown, candlesIn, intervalMs, missingRanges, pages, type OpenTimeRange } from './open-times.js';
import type { KlineProtocol, KlinePageQuery } from './protocol.js';
import { klineProblem, withoutRefused } from '../validation.js';

/** One klines series at one exchange, and how to reach it. */
export interface KlineSeriesOptions {
  protocol: KlineProtocol;
  /** Unified `BASE-QUOTE`. */
  symbol: string;
  /** `1m`, `1h`, ... (must be in protocol.intervals). */
  interval: string;
  /** REST base URL: the config's override or the protocol's default. */
  restUrl: string;
  http: RestClient;
  logger: Logger;
  progress?: CollectorProgress;
  /**
   * How long after its close a candle the exchange left out may still appear (ms); younger ones
   * are asked for again at the next poll instead of being recorded as missing. Default 1 minute.
   */
  settleMs?: number;
}

/** What one fill did. */
export interface FillResult {
  /** Candles stored (new or rewritten). */
  stored: number;
  /** Candles recorded as missing at the exchange. */
  recordedMissing: number;
  /** Page requests sent. */
  requests: number;
  /**
   * Every candle with an open time up to this one is stored for good or recorded as missing;
   * newer ones (still open, or not settled) must be asked for again. Undefined when none is.
   */
  verifiedThrough: number | undefined;
}

/** Done and total candles of a fill, for progress bars. */
export interface FillProgress {
  done: number;
  total: number;
}

/** How far before a range a missing-candle record may start and still be read as covering part of it. */
const GAP_LOOKBACK_MS = 7 * 86_400_000;

/** Scan storage this many candles at a time, so a year of 1m candles is never one read. */
const SCAN_CHUNK = 10_000;

/**
 * Makes a klines series whole over a range of open times: finds what storage lacks (skipping
 * candles already recorded as missing), asks the exchange for it page by page, asks once more
 * for candles an answer left out, and records those still absent as missing at the exchange.
 */
export class KlineHistory {
  readonly key: string;
  readonly gapsKey: string;
  readonly intervalMs: number;
  private readonly exchangeSymbol: string;
  private readonly settleMs: number;

  constructor(private readonly options: KlineSeriesOptions) {
    const { protocol, symbol, interval } = options;
    if (protocol.intervals[interval] === undefined) {
      throw new Error(`${protocol.exchange} has no ${interval} klines; it serves ${Object.keys(protocol.intervals).join(', ')}`);
    }
    this.key = klinesKey(protocol.exchange, symbol, interval);
    this.gapsKey = klineGapsKey(protocol.exchange, symbol, interval);
    this.intervalMs = intervalMs(interval);
    this.exchangeSymbol = protocol.toExchangeSymbol(symbol);
    this.settleMs = options.settleMs ?? 60_000;
  }

  /** Declares the klines series and its missing-candle records. */
  async declare(storage: DataCollectionStorage): Promise<void> {
    const { protocol, symbol, interval } = this.options;
    const labels = { exchange: protocol.exchange, symbol, interval };
    await storage.declare({ key: this.key, fields: klineFields(protocol.optionalFields), labels: { ...labels, kind: 'klines' } });
    await storage.declare({ key: this.gapsKey, fields: KLINE_GAP_FIELDS, labels: { ...labels, kind: 'kline-gaps' } });
  }

  /**
   * Fills open times [from, to] (aligned down; `to` is capped at the candle open now). Candles
   * with open time ≥ `refetchFrom` are asked for even when stored (they may have been stored while
   * still open). `onProgress` hears done/total candles after each page.
   */
  async fill(
    storage: DataCollectionStorage,
    range: { from: number; to: number; refetchFrom?: number },
    signal: AbortSignal,
    onProgress?: (progress: FillProgress) => void,
    now = Date.now(),
  ): Promise<FillResult> {
    const interval = this.intervalMs;
    const current = alignDown(now, interval);
    const from = alignDown(range.from, interval);
    const to = Math.min(alignDown(range.to, interval), current);
    const result: FillResult = { stored: 0, recordedMissing: 0, requests: 0, verifiedThrough: undefined };
    if (to < from) return result;

    const known = await this.knownOpenTimes(storage, from, to, range.refetchFrom ?? Number.POSITIVE_INFINITY);
    let missing = missingRanges(from, to, interval, known);
    const total = missing.reduce((n, r) => n + candlesIn(r, interval), 0);
    let done = 0;
    onProgress?.({ done, total });

    // Beyond the exchange's history: recorded at once, never asked for.
    const { maxHistoryCandles } = this.options.protocol;
    if (maxHistoryCandles !== undefined) {
      const oldest = current - (maxHistoryCandles - 1) * interval;
      const tooOld = clip(missing, Number.NEGATIVE_INFINITY, oldest - interval, interval);
      for (const run of tooOld) {
        await this.recordMissing(storage, run, KLINE_GAP_REASON.beyondHistory);
        result.recordedMissing += candlesIn(run, interval);
        done += candlesIn(run, interval);
      }
      missing = clip(missing, oldest, Number.POSITIVE_INFINITY, interval);
      if (tooOld.length > 0) onProgress?.({ done, total });
    }

    const leftOut: OpenTimeRange[] = [];
    for (const page of pages(missing, interval, this.options.protocol.maxPerRequest)) {
      const got = await this.fetchPage(storage, page, now, signal, result);
      leftOut.push(...missingRanges(page.from, page.to, interval, got));
      done += candlesIn(page, interval);
      onProgress?.({ done, total });
    }

    // Asked once more, alone: an exchange may leave a candle out of a long answer and have it after all.
    let unsettledFrom = Number.POSITIVE_INFINITY;
    const maxSpan = (this.options.protocol.maxPerRequest - 1) * interval;
    for (const span of spans(leftOut, maxSpan)) {
      const wanted = new Set(span.flatMap((r) => openTimes(r, interval)));
      const got = await this.fetchPage(storage, { from: span[0]!.from, to: span.at(-1)!.to }, now, signal, result, wanted);
      for (const run of span.flatMap((r) => missingRanges(r.from, r.to, interval, got))) {
        // Too young to call missing: the exchange may still be closing it.
        const settledUpTo = now - this.settleMs - interval;
        for (const part of clip([run], Number.NEGATIVE_INFINITY, settledUpTo, interval)) {
          await this.recordMissing(storage, part, KLINE_GAP_REASON.notServed);
          result.recordedMissing += candlesIn(part, interval);
        }
        const young = clip([run], settledUpTo + 1, Number.POSITIVE_INFINITY, interval)[0];
        if (young) unsettledFrom = Math.min(unsettledFrom, young.from);
      }
    }
    // The candle open now is never final; neither is one the exchange has not settled yet.
    const lastFinal = Math.min(current, unsettledFrom) - interval;
    result.verifiedThrough = lastFinal >= from ? lastFinal : undefined;
    return result;
  }

  /** Open times in [from, to] stored before `refetchFrom` or recorded as missing. */
  private async knownOpenTimes(storage: DataCollectionStorage, from: number, to: number, refetchFrom: number): Promise<Set<number>> {
    const known = new Set<number>();
    const chunk = SCAN_CHUNK * this.intervalMs;
    for (let start = from; start <= to; start += chunk) {
      for (const [t] of await storage.fetch(this.key, start, Math.min(to, start + chunk - 1))) if (t < refetchFrom) known.add(t);
    }
    // A record stands for a run that may have started before `from`; runs are rarely long, and
    // a polled range must not read every record ever made (an illiquid pair makes one a minute).
    for (const [, value] of await storage.fetch(this.gapsKey, Math.max(0, from - GAP_LOOKBACK_MS), to)) {
      if (typeof value === 'number') continue;
      const first = value.first_open_time;
      const last = value.last_open_time;
      if (first === undefined || last === undefined) continue;
      for (let t = Math.max(first, from); t <= Math.min(last, to); t += this.intervalMs) known.add(t);
    }
    return known;
  }

  /** Requests one page, stores what it holds within the page (only the `wanted` open times, when given), and returns the open times stored. */
  private async fetchPage(storage: DataCollectionStorage, page: OpenTimeRange, now: number, signal: AbortSignal, result: FillResult, wanted?: ReadonlySet<number>): Promise<Set<number>> {
    const { protocol, restUrl, http, interval } = this.options;
    const query: KlinePageQuery = { exchangeSymbol: this.exchangeSymbol, interval, intervalMs: this.intervalMs, from: page.from, to: page.to, now };
    const request = protocol.pageRequest(query);
    const body = await http.getJson(`${restUrl.replace(/\/+$/, '')}${request.path}`, request.params, signal, { weight: request.weight ?? 1 });
    result.requests += 1;
    const inPage = protocol
      .parsePage(body, query)
      .filter((k) => k.openTime >= page.from && k.openTime <= page.to && (k.openTime - page.from) % this.intervalMs === 0 && (!wanted || wanted.has(k.openTime)));
    // A refused candle counts as left out: asked for once more, then recorded missing if it is still wrong.
    const klines = withoutRefused(inPage, klineProblem, this.refuse);
    await this.store(storage, klines);
    result.stored += klines.length;
    return new Set(klines.map((k) => k.openTime));
  }

  /** A candle with impossible values (high below low, a negative volume, an overflowed number): counted, logged (sampled), never stored. */
  private readonly refuse = (kline: Kline, reason: string): void => {
    const { progress, logger, protocol, symbol } = this.options;
    if (progress && !progress.drop('invalid')) return;
    const { openTime, open, high, low, close, volume } = kline;
    const values = [open, high, low, close, volume].map(String);
    logger.warn({ invalidRecords: progress?.dropped.invalid, exchange: protocol.exchange, symbol, key: this.key, openTime: new Date(openTime).toISOString(), ohlcv: values, reason }, 'refused a candle with impossible values');
  };

  private async store(storage: DataCollectionStorage, klines: readonly Kline[]): Promise<void> {
    if (klines.length === 0) return;
    const fields = this.options.protocol.optionalFields;
    const points: Point[] = klines.map((k) => ({ key: this.key, timestamp: k.openTime, value: klineRecord(k, fields) }));
    const { rejected } = await storage.storeMany(points);
    if (rejected.length > 0) {
      // A row the exchange sent that storage refuses (NaN price): logged with the reason, the rest kept.
      this.options.logger.warn({ key: this.key, rejected: rejected.length, first: rejected[0] }, 'storage refused klines');
    }
    this.options.progress?.recordStored(points.length - rejected.length, klines.at(-1)!.openTime);
  }

  private async recordMissing(storage: DataCollectionStorage, run: OpenTimeRange, reason: number): Promise<void> {
    const candles = candlesIn(run, this.intervalMs);
    await storage.store(this.gapsKey, { first_open_time: run.from, last_open_time: run.to, candles, reason }, run.from);
    if (this.options.progress) this.options.progress.gaps += 1;
    this.options.logger.info(
      { key: this.key, from: new Date(run.from).toISOString(), to: new Date(run.to).toISOString(), candles, reason: reason === KLINE_GAP_REASON.beyondHistory ? 'beyond-history' : 'not-served' },
      'candles missing at the exchange; recorded',
    );
  }
}

/** Every open time of a run. */
function openTimes(run: OpenTimeRange, interval: number): number[] {
  const out: number[] = [];
  for (let t = run.from; t <= run.to; t += interval) out.push(t);
  return out;
}

/** Groups runs (ascending) so each group spans at most `maxSpan` ms: one request asks for all its runs again. */
function spans(runs: readonly OpenTimeRange[], maxSpan: number): OpenTimeRange[][] {
  const groups: OpenTimeRange[][] = [];
  for (const run of runs) {
    const group = groups.at(-1);
    if (group && run.to - group[0]!.from <= maxSpan) group.push(run);
    else groups.push([run]);
  }
  // A run longer than one page stays alone; pages() already cut runs to page size.
  return groups;
}

/** The parts of `runs` with open times within [from, to], on each run's grid of `interval`. */
function clip(runs: readonly OpenTimeRange[], from: number, to: number, interval: number): OpenTimeRange[] {
  const out: OpenTimeRange[] = [];
  for (const run of runs) {
    const start = from <= run.from ? run.from : run.from + Math.ceil((from - run.from) / interval) * interval;
    const end = to >= run.to ? run.to : run.from + Math.floor((to - run.from) / interval) * interval;
    if (start <= end) out.push({ from: start, to: end });
  }
  return out;
}
