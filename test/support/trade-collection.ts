/**
 * What every exchange's trades collector must do against that exchange's simulator: store
 * exactly the trades sent, survive a malformed frame, fail loudly on a dropped connection and
 * stop cleanly when aborted. The exchange's test file starts the simulator and says how to read
 * its trades; these run the scenario and make the checks every exchange shares.
 */
import { expect, vi } from 'vitest';
import { tradesCollectorKind } from '../../collectors/kinds.js';
import type { TradeStreamCollector } from '../../collectors/trades/trade-stream.js';
import type { DataSourceCollector } from '../../collectors/types.js';
import { silentLogger } from '../../common/logger.js';
import { MemoryStorage } from '../../storage/memory.js';
import { trackRun } from './run-tracking.js';
import { expectedSamples, storedCount, storedSamples, toLots, type SentTradeFacts, type TradeSample } from './trade-samples.js';

/** What was sent for one symbol, as every exchange simulator reports it. */
export interface SentTrades<T> {
  trades: readonly T[];
  count: number;
  /** Exact total amount. */
  amount: number;
}

/** What these scenarios use of an exchange simulator whose sent trades are `T`s. */
export interface TradeSimulator<T> {
  wsUrl: string;
  sent(symbol: string): SentTrades<T>;
  connections(): number;
  pause(): void;
  dropConnections(): void;
  sendMalformed(frame?: string | Buffer): void;
}

// Long enough for a loaded machine; a healthy run takes well under a second.
const WAIT = { timeout: 10_000 };

/**
 * Runs the trades collector that tradesCollectorKind builds for `symbols` of `exchange`, with
 * the simulator's URL as the configured wsUrl override (so that override is what gets tested).
 * Once each of `waitBeforePausing` holds (waited for in turn), pauses the simulator, waits until
 * everything it sent is stored, and stops the collector. Returns the collector for its progress.
 */
export async function collectEverythingSent<T>(options: {
  exchange: string;
  simulator: TradeSimulator<T>;
  symbols: readonly string[];
  storage: MemoryStorage;
  waitBeforePausing: ReadonlyArray<() => unknown>;
}): Promise<DataSourceCollector> {
  const { exchange, simulator, symbols, storage } = options;
  const [collector] = tradesCollectorKind.create(
    symbols.map((symbol) => ({ id: `trades:${exchange}:${symbol}`, collector: 'trades', exchange, symbol, keys: [] })),
    { exchanges: { [exchange]: { wsUrl: simulator.wsUrl } }, logger: silentLogger },
  );
  if (!collector) throw new Error(`tradesCollectorKind built no collector for ${exchange}`);
  const abort = new AbortController();
  const running = trackRun(collector.run(storage, abort.signal));
  try {
    for (const condition of options.waitBeforePausing) await vi.waitFor(condition, WAIT);
    simulator.pause();
    for (const symbol of symbols) {
      await vi.waitFor(async () => expect(await storedCount(storage, `trades:${exchange}:${symbol}`)).toBe(simulator.sent(symbol).count), WAIT);
    }
  } finally {
    // Also on a failed wait, so the collector does not keep running into the next test.
    abort.abort();
  }
  await running.run;
  return collector;
}

/** One symbol's sent trades and stored samples, for the checks only one exchange makes. */
export interface StoredAsSent<T> {
  symbol: string;
  sent: SentTrades<T>;
  stored: Map<number, TradeSample>;
}

/**
 * Checks that each symbol's stored samples are exactly the per-millisecond samples of the
 * trades the simulator sent (each read by `read`), and that the totals of lots and trades are
 * exactly the simulator's.
 */
export async function expectStoredExactlyAsSent<T>(
  storage: MemoryStorage,
  exchange: string,
  simulator: TradeSimulator<T>,
  symbols: readonly string[],
  read: (trade: T) => SentTradeFacts,
): Promise<Array<StoredAsSent<T>>> {
  const results: Array<StoredAsSent<T>> = [];
  for (const symbol of symbols) {
    const sent = simulator.sent(symbol);
    const stored = await storedSamples(storage, `trades:${exchange}:${symbol}`);
    expect(stored).toEqual(expectedSamples(sent.trades, read));
    expect([...stored.values()].reduce((sum, s) => sum + s.lots, 0)).toBe(toLots(sent.amount));
    expect([...stored.values()].reduce((sum, s) => sum + s.count, 0)).toBe(sent.count);
    results.push({ symbol, sent, stored });
  }
  return results;
}

/** Checks the collector skips one malformed frame, counts it, and keeps storing `symbol`'s trades. */
export async function expectSkipsMalformedFrame<T>(
  simulator: TradeSimulator<T>,
  collector: TradeStreamCollector,
  exchange: string,
  symbol: string,
  /** The broken frame; the simulator's usual one by default. */
  frame?: string | Buffer,
): Promise<void> {
  const key = `trades:${exchange}:${symbol}`;
  const storage = new MemoryStorage();
  const abort = new AbortController();
  const running = trackRun(collector.run(storage, abort.signal));
  await vi.waitFor(async () => expect(await storedCount(storage, key)).toBeGreaterThan(0), WAIT);
  simulator.sendMalformed(frame);
  const before = simulator.sent(symbol).count;
  await vi.waitFor(async () => expect(await storedCount(storage, key)).toBeGreaterThan(before), WAIT);
  expect(collector.unparsedFrames).toBe(1);
  expect(running.settled()).toBe(false);
  abort.abort();
  await running.run;
}

/** Checks that, once `symbol`'s trades are being stored, a dropped connection rejects the run with `error`. */
export async function expectRejectsWhenConnectionDrops<T>(
  simulator: TradeSimulator<T>,
  collector: DataSourceCollector,
  exchange: string,
  symbol: string,
  error: RegExp,
): Promise<void> {
  const storage = new MemoryStorage();
  const running = collector.run(storage, new AbortController().signal);
  await vi.waitFor(async () => expect(await storedCount(storage, `trades:${exchange}:${symbol}`)).toBeGreaterThan(0), WAIT);
  simulator.dropConnections();
  await expect(running).rejects.toThrow(error);
}

/**
 * Checks that aborting a connected run resolves it and closes its connection.
 * Returns the aborted signal, for checks of what a later run does with it.
 */
export async function expectResolvesWhenAborted<T>(simulator: TradeSimulator<T>, collector: DataSourceCollector): Promise<AbortSignal> {
  const abort = new AbortController();
  const running = collector.run(new MemoryStorage(), abort.signal);
  await vi.waitFor(() => expect(simulator.connections()).toBe(1), WAIT);
  abort.abort();
  await expect(running).resolves.toBeUndefined();
  await vi.waitFor(() => expect(simulator.connections()).toBe(0), WAIT);
  return abort.signal;
}

/**
 * Checks that a symbol the exchange cannot serve fails alone: `collector` keeps running and
 * storing under each of `collecting` (keys), while `failed` shows as a failed series whose reason
 * contains `reason`, nothing stored for it. Returns the storage and the run, still going, and its
 * stop (call it in a finally).
 */
export async function expectOnlySymbolFails(
  collector: DataSourceCollector,
  options: { collecting: readonly string[]; failed: string; reason: string | RegExp },
): Promise<{ storage: MemoryStorage; stop: () => Promise<void> }> {
  const storage = new MemoryStorage();
  const abort = new AbortController();
  const running = trackRun(collector.run(storage, abort.signal));
  const stop = async (): Promise<void> => {
    abort.abort();
    await running.run;
  };
  try {
    for (const key of options.collecting) await vi.waitFor(async () => expect(await storage.fetch(key, 0, Number.MAX_SAFE_INTEGER)).not.toHaveLength(0), WAIT);
    await vi.waitFor(() => expect(collector.progress.failures.list().map((f) => f.symbol)).toEqual([options.failed]), WAIT);
    const [failure] = collector.progress.failures.list();
    expect(failure!.reason).toMatch(options.reason);
    expect(failure!.key).toBe(collector.keys.find((key) => key.endsWith(`:${options.failed}`)));
    expect(await storage.fetch(failure!.key, 0, Number.MAX_SAFE_INTEGER)).toHaveLength(0);
    expect(running.settled()).toBe(false);
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  return { storage, stop };
}
