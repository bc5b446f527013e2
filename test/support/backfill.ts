/**
 * Scenarios for gap handling against an exchange simulator: a collector that loses its
 * connection (or its process) while the simulator keeps generating, restarted the way
 * DataCollector restarts it, and what it should then have stored: every trade generated
 * from the first one it stored on.
 */
import { expect, it, vi } from 'vitest';
import type { SimulatedTrade } from '../../collectors/simulator/market.js';
import { tradesCollectorKind } from '../../collectors/kinds.js';
import type { DataSourceCollector } from '../../collectors/types.js';
import { silentLogger } from '../../common/logger.js';
import { MemoryStorage } from '../../storage/memory.js';
import type { ExchangeSimulator } from '../../collectors/simulator/controls.js';
import type { SimulatorStartOptions } from '../../collectors/simulator/controls.js';
import { useSimulator } from './simulator-harness.js';
import { toLots } from './trade-samples.js';
import { expectedSamples, storedCount, storedSamples, type TradeSample } from './trade-samples.js';

// Long enough for a loaded machine; a healthy run takes well under a second.
const WAIT = { timeout: 15_000, interval: 20 };

/** What these scenarios use of a simulator. */
export interface GeneratingSimulator {
  wsUrl: string;
  restUrl: string;
  generatedTrades(symbol: string): readonly SimulatedTrade[];
  connections(): number;
  pause(): void;
  dropConnections(): void;
}

/** The trades collector tradesCollectorKind builds for `symbols`, with both simulator URLs as overrides. */
export function collectorFor(exchange: string, symbols: readonly string[], simulator: GeneratingSimulator): DataSourceCollector {
  const [collector] = tradesCollectorKind.create(
    symbols.map((symbol) => ({ id: `trades:${exchange}:${symbol}`, collector: 'trades', exchange, symbol, keys: [] })),
    { exchanges: { [exchange]: { wsUrl: simulator.wsUrl, restUrl: simulator.restUrl } }, logger: silentLogger },
  );
  if (!collector) throw new Error(`tradesCollectorKind built no collector for ${exchange}`);
  return collector;
}

/**
 * Runs `collector` like DataCollector does (run again `restartDelayMs` after a run rejects,
 * its restart back-off) until `abort`; resolves with the number of runs once the last one ends.
 */
export function runRestarting(collector: DataSourceCollector, storage: MemoryStorage, abort: AbortSignal, restartDelayMs = 300): Promise<number> {
  return (async () => {
    let runs = 0;
    while (!abort.aborted) {
      runs += 1;
      await collector.run(storage, abort).catch(() => new Promise((resolve) => setTimeout(resolve, restartDelayMs)));
    }
    return runs;
  })();
}

/** Waits until something of `key` is stored. */
export async function untilStored(storage: MemoryStorage, key: string, more = 0): Promise<void> {
  const before = await storedCount(storage, key);
  await vi.waitFor(async () => expect(await storedCount(storage, key)).toBeGreaterThan(before + more - 1), WAIT);
}

/** Cuts the connection while trades keep being generated, and waits for the reconnect. */
export async function dropAndReconnect(simulator: GeneratingSimulator): Promise<void> {
  await vi.waitFor(() => expect(simulator.connections()).toBe(1), WAIT);
  simulator.dropConnections();
  await vi.waitFor(() => expect(simulator.connections()).toBe(0), WAIT);
  await vi.waitFor(() => expect(simulator.connections()).toBe(1), WAIT);
}

/** The generated trades of `symbol` from the first stored millisecond on, kept by `keep`. */
export async function generatedSinceFirstStored(
  storage: MemoryStorage,
  key: string,
  simulator: GeneratingSimulator,
  symbol: string,
  keep: (trade: SimulatedTrade) => boolean = () => true,
): Promise<SimulatedTrade[]> {
  const stored = await storedSamples(storage, key);
  const first = Math.min(...stored.keys());
  return simulator.generatedTrades(symbol).filter((trade) => trade.time >= first && keep(trade));
}

/** Per-millisecond samples of simulated trades. */
export function samplesOf(trades: readonly SimulatedTrade[]): Map<number, TradeSample> {
  return expectedSamples(trades, (t) => ({ time: t.time, price: Number(t.price), amount: t.amount, takerSide: t.takerSide }));
}

/** Pauses the simulator and waits until `key` holds exactly `expected`'s samples (count first, then every sample). */
export async function expectStoredEventually(storage: MemoryStorage, key: string, expected: () => Promise<SimulatedTrade[]>): Promise<void> {
  await vi.waitFor(async () => expect(await storedCount(storage, key)).toBe((await expected()).length), WAIT);
  expect(await storedSamples(storage, key)).toEqual(samplesOf(await expected()));
}

/**
 * The two "no gaps, no doubles" scenarios every exchange that can backfill must pass (call inside
 * a describe): forced disconnects while the market runs, and a new collector resuming from the
 * saved checkpoint. `tightBudget` is added to the simulator's options in the disconnect scenario,
 * so the backfill also meets 429s and must wait them out.
 */
export function noGapsNoDoubles<O extends SimulatorStartOptions>(
  exchange: string,
  start: (options: O) => Promise<GeneratingSimulator & ExchangeSimulator>,
  symbols: readonly string[],
  tightBudget: Partial<O> = {},
): void {
  const key = (symbol: string) => `trades:${exchange}:${symbol}`;
  const harness = useSimulator(start);

  it('backfills over REST what forced disconnects missed: stored = generated from the first stored trade on, per symbol', async () => {
    const sim = await harness.start({ ...tightBudget, symbols, tradesPerSecond: 300 } as unknown as O);
    const storage = new MemoryStorage();
    const collector = collectorFor(exchange, symbols, sim);
    const abort = new AbortController();
    const running = runRestarting(collector, storage, abort.signal);
    try {
      for (let drop = 0; drop < 3; drop++) {
        for (const symbol of symbols) await untilStored(storage, key(symbol), 50);
        await dropAndReconnect(sim); // down ≥ the 300 ms restart delay: ~90 trades per symbol generated and never sent
      }
      for (const symbol of symbols) await untilStored(storage, key(symbol), 50);
      sim.pause();
      for (const symbol of symbols) {
        const expected = () => generatedSinceFirstStored(storage, key(symbol), sim, symbol);
        await expectStoredEventually(storage, key(symbol), expected);
        const trades = await expected();
        // Every id once, none missing: the ids from the first stored one on are consecutive.
        expect(trades.at(-1)!.id - trades[0]!.id + 1).toBe(trades.length);
        const lots = (await storage.fetch(key(symbol), 0, Number.MAX_SAFE_INTEGER)).reduce((sum, [, v]) => sum + toLots((v as Record<string, number>).amount!), 0);
        expect(lots).toBe(trades.reduce((sum, t) => sum + toLots(t.amount), 0));
      }
    } finally {
      abort.abort();
    }
    expect(await running).toBeGreaterThanOrEqual(4);
    expect(collector.progress.tradesBackfilled).toBeGreaterThanOrEqual(3 * 2 * 60);
    expect(collector.progress.gaps).toBe(0);
    expect((await storage.keys()).map((k) => k.key).sort()).toEqual(symbols.map(key).sort());
  }, 60_000);

  it('a new collector on the same storage backfills from the saved checkpoint what was generated while none ran', async () => {
    const sim = await harness.start({ symbols, tradesPerSecond: 300 } as unknown as O);
    const storage = new MemoryStorage();
    const first = new AbortController();
    const one = runRestarting(collectorFor(exchange, symbols, sim), storage, first.signal);
    for (const symbol of symbols) await untilStored(storage, key(symbol), 50);
    first.abort();
    await one;
    const down = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 500)); // the daemon is down; the market is not
    const second = new AbortController();
    const two = collectorFor(exchange, symbols, sim);
    const running = runRestarting(two, storage, second.signal);
    try {
      for (const symbol of symbols) await untilStored(storage, key(symbol), 50);
      sim.pause();
      for (const symbol of symbols) {
        await expectStoredEventually(storage, key(symbol), () => generatedSinceFirstStored(storage, key(symbol), sim, symbol));
        expect(sim.generatedTrades(symbol).filter((t) => t.time > down + 100).length).toBeGreaterThan(0);
      }
    } finally {
      second.abort();
    }
    await running;
    expect(two.progress.tradesBackfilled).toBeGreaterThan(2 * 100);
    expect(two.progress.gaps).toBe(0);
  }, 60_000);
}
