import { describe, expect, it, vi } from 'vitest';
import { startBitstampSimulator, type BitstampSimulatorOptions } from '../collectors/exchanges/bitstamp/simulator/index.js';
import { MemoryStorage } from '../storage/memory.js';
import { collectorFor, expectStoredEventually, generatedSinceFirstStored, runRestarting, untilStored } from './support/backfill.js';
import { useSimulator } from './support/simulator-harness.js';

const SYMBOL = 'BTC-USD';
const KEY = 'trades:bitstamp:BTC-USD';
const GAPS = 'gaps:bitstamp:BTC-USD';

/** The gap records stored, as [from_time, to_time] pairs. */
async function gapsOf(storage: MemoryStorage): Promise<Array<[number, number]>> {
  const samples = await storage.fetch(GAPS, 0, Number.MAX_SAFE_INTEGER);
  return samples.map(([, v]) => [(v as Record<string, number>).from_time!, (v as Record<string, number>).to_time!]);
}

describe('Bitstamp trades: with no history by id, what a disconnect loses is recorded as a gap', () => {
  const harness = useSimulator((options: BitstampSimulatorOptions) => startBitstampSimulator(options));

  // The engine reopens on a server's goodbye (it overlaps connections only for a known maximum
  // age): without history, what passed in between is a gap, recorded like any other.
  it('reconnects on bts:request_reconnect at once, without waiting to be cut, and records what it missed', async () => {
    const sim = await harness.start({ symbols: [SYMBOL], tradesPerSecond: 300, reconnectGraceMs: 60_000 });
    const storage = new MemoryStorage();
    const abort = new AbortController();
    const collector = collectorFor('bitstamp', [SYMBOL], sim);
    const running = runRestarting(collector, storage, abort.signal);
    try {
      await untilStored(storage, KEY, 50);
      sim.requestReconnect();
      // The told connection is closed by the client, not cut by the server after the grace.
      await vi.waitFor(() => expect(sim.connections()).toBe(1));
      await untilStored(storage, KEY, 50);
      sim.pause();
      await vi.waitFor(async () => expect(await gapsOf(storage)).toHaveLength(1));
      const [[from, to]] = (await gapsOf(storage)) as [[number, number]];
      await expectStoredEventually(storage, KEY, () => generatedSinceFirstStored(storage, KEY, sim, SYMBOL, (t) => t.time <= from || t.time >= to));
    } finally {
      abort.abort();
    }
    await running;
  });
});
