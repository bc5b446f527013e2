import { describe, expect, it, vi } from 'vitest';
import { startBybitSimulator, type BybitSimulatorOptions } from '../collectors/exchanges/bybit/simulator.js';
import { MemoryStorage } from '../storage/memory.js';
import { collectorFor, dropAndReconnect, expectStoredEventually, generatedSinceFirstStored, runRestarting, untilStored } from './support/backfill.js';
import { useSimulator } from './support/simulator-harness.js';

const SYMBOL = 'BTC-USDT';
const KEY = 'trades:bybit:BTC-USDT';
const GAPS = 'gaps:bybit:BTC-USDT';

/** The gap records stored, as [from_time, to_time] pairs. */
async function gapsOf(storage: MemoryStorage): Promise<Array<[number, number]>> {
  const samples = await storage.fetch(GAPS, 0, Number.MAX_SAFE_INTEGER);
  return samples.map(([, v]) => [(v as Record<string, number>).from_time!, (v as Record<string, number>).to_time!]);
}

describe('Bybit trades: gaps it cannot fill are recorded exactly', () => {
  const harness = useSimulator((options: BybitSimulatorOptions) => startBybitSimulator(options));

  it('after a forced disconnect and after a restart from the checkpoint, stores gaps:bybit:<SYMBOL> spanning exactly the trades it missed', async () => {
    const sim = await harness.start({ symbols: [SYMBOL], tradesPerSecond: 300 });
    const storage = new MemoryStorage();

    // A disconnect: Bybit has no trade history by id, so the missed trades stay missing.
    const first = new AbortController();
    const one = collectorFor('bybit', [SYMBOL], sim);
    const running = runRestarting(one, storage, first.signal);
    await untilStored(storage, KEY, 50);
    await dropAndReconnect(sim);
    await untilStored(storage, KEY, 50);
    first.abort();
    await running;
    expect(one.progress.gaps).toBe(1);

    // A daemon restart: a new collector resumes from the saved checkpoint's time.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const second = new AbortController();
    const two = collectorFor('bybit', [SYMBOL], sim);
    const rerunning = runRestarting(two, storage, second.signal);
    try {
      await untilStored(storage, KEY, 50);
      sim.pause();
      await vi.waitFor(async () => expect(await gapsOf(storage)).toHaveLength(2));
      const gaps = await gapsOf(storage);
      const missed = (time: number) => gaps.some(([from, to]) => time > from && time < to);
      // Everything generated from the first stored trade on, except what fell inside a gap: no more, no less.
      await expectStoredEventually(storage, KEY, () => generatedSinceFirstStored(storage, KEY, sim, SYMBOL, (t) => !missed(t.time)));
      const stored = [...(await storage.fetch(KEY, 0, Number.MAX_SAFE_INTEGER)).map(([t]) => t)];
      for (const [from, to] of gaps) {
        // The bounds are the last trade stored before the loss and the first after it.
        expect(stored).toContain(from);
        expect(stored).toContain(to);
        expect(stored.filter((t) => t > from && t < to)).toEqual([]);
        expect(sim.generatedTrades(SYMBOL).some((t) => t.time > from && t.time < to)).toBe(true);
      }
    } finally {
      second.abort();
    }
    await rerunning;
    expect(two.progress.gaps).toBe(1);
  });
});
