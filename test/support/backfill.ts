/**
 * Scenarios for gap handling against an exchange simulator: a collector that loses its
 * connection (or its process) while the simulator keeps generating, restarted the way
 * DataCollector restarts it, and what it should then have stored: every trade generated
 * from the first one it stored on.
 */
import { expect, vi } from 'vitest';
import type { SimulatedTrade } from '../../collectors/simulator/market.js';
import { tradesCollectorKind } from '../../collectors/trades/kind.js';
import type { DataSourceCollector } from '../../collectors/types.js';
import { silentLogger } from '../../src/logger.js';
import type { MemoryStorage } from '../../storage/memory.js';
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
