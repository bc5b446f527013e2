/**
 * What a disconnect or a restart costs, for every exchange with trades and a simulator: with
 * `tradeHistory` (by id over REST) nothing — no gaps, no doubles across forced disconnects and a
 * restart from the checkpoint, even through 429s; without it, exactly the missed trades, recorded
 * as gaps. Exchange-specific backfill (page shapes, limits) stays in test/<exchange>-backfill.test.ts.
 */
import { describe, expect, it, vi } from 'vitest';
import type { ExchangeSimulator, SimulatorStartOptions } from '../../collectors/simulator/controls.js';
import { MemoryStorage } from '../../storage/memory.js';
import {
  collectorFor,
  dropAndReconnect,
  expectStoredEventually,
  generatedSinceFirstStored,
  noGapsNoDoubles,
  runRestarting,
  untilStored,
  type GeneratingSimulator,
} from '../support/backfill.js';
import { simulatedExchanges, type SimulatedExchange } from '../support/simulated-exchanges.js';
import { useSimulator } from '../support/simulator-harness.js';

/**
 * Per exchange with history: the simulator options that hold its REST budget tight enough for
 * the backfill to meet 429s (Kraken's own ~1 call per second already does).
 */
const TIGHT_BUDGETS: Readonly<Record<string, Record<string, unknown> | undefined>> = {
  binance: { restWeightLimit: { weight: 25, windowMs: 500 } },
  okx: { restRequestLimit: { requests: 2, windowMs: 500 } },
  coinbase: { restRequestLimit: { requests: 2, windowMs: 500 } },
  kraken: undefined,
  gateio: { restRequestLimit: { requests: 3, windowMs: 1000 } },
};

// Kraken pages two quotes, so both REST altname spellings (XBTUSDT, ...USD) are paged.
const SYMBOLS: Readonly<Record<string, [string, string]>> = { kraken: ['BTC-USDT', 'ETH-USD'] };

const withTrades = simulatedExchanges('trades');
const cases = (withHistory: boolean) =>
  withTrades.filter((e) => (e.exchange.capabilities.tradeHistory !== undefined) === withHistory).map((e) => ({ ...e, symbols: SYMBOLS[e.name] ?? [e.btc, e.eth] }));
const generating = (start: SimulatedExchange['start']) => (options: SimulatorStartOptions) => start<GeneratingSimulator & ExchangeSimulator>(options);

it('has a budget row for every exchange with trade history and a simulator, and for no other', () => {
  expect(Object.keys(TIGHT_BUDGETS).sort()).toEqual(cases(true).map((e) => e.name).sort());
});

describe.each(cases(true))('$name trades with history: no gaps, no doubles (conformance)', ({ name, symbols, start }) => {
  noGapsNoDoubles(name, generating(start), symbols, TIGHT_BUDGETS[name]);
});

/** The gap records of `key`'s series, as [from_time, to_time] pairs. */
async function gapsOf(storage: MemoryStorage, key: string): Promise<Array<[number, number]>> {
  const samples = await storage.fetch(key, 0, Number.MAX_SAFE_INTEGER);
  return samples.map(([, v]) => [(v as Record<string, number>).from_time!, (v as Record<string, number>).to_time!]);
}

describe.each(cases(false))('$name trades without history: what it missed is recorded as gaps (conformance)', ({ name, symbols, start }) => {
  const harness = useSimulator(generating(start));
  const [symbol] = symbols;
  const key = `trades:${name}:${symbol}`;
  const gapsKey = `gaps:${name}:${symbol}`;

  it('after a forced disconnect and after a restart from the checkpoint, stores gaps:<exchange>:<SYMBOL> spanning exactly the trades it missed', async () => {
    const sim = await harness.start({ symbols: [symbol], tradesPerSecond: 300 });
    const storage = new MemoryStorage();

    // A disconnect: with no trade history by id, the missed trades stay missing.
    const first = new AbortController();
    const one = collectorFor(name, [symbol], sim);
    const running = runRestarting(one, storage, first.signal);
    await untilStored(storage, key, 50);
    await dropAndReconnect(sim);
    await untilStored(storage, key, 50);
    first.abort();
    await running;
    expect(one.progress.gaps).toBe(1);

    // A daemon restart: a new collector resumes from the saved checkpoint's time.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const second = new AbortController();
    const two = collectorFor(name, [symbol], sim);
    const rerunning = runRestarting(two, storage, second.signal);
    try {
      await untilStored(storage, key, 50);
      sim.pause();
      await vi.waitFor(async () => expect(await gapsOf(storage, gapsKey)).toHaveLength(2));
      const gaps = await gapsOf(storage, gapsKey);
      const missed = (time: number) => gaps.some(([from, to]) => time > from && time < to);
      // Everything generated from the first stored trade on, except what fell inside a gap: no more, no less.
      await expectStoredEventually(storage, key, () => generatedSinceFirstStored(storage, key, sim, symbol, (t) => !missed(t.time)));
      const stored = (await storage.fetch(key, 0, Number.MAX_SAFE_INTEGER)).map(([t]) => t);
      for (const [from, to] of gaps) {
        // The bounds are the last trade stored before the loss and the first after it.
        expect(stored).toContain(from);
        expect(stored).toContain(to);
        expect(stored.filter((t) => t > from && t < to)).toEqual([]);
        expect(sim.generatedTrades(symbol).some((t) => t.time > from && t.time < to)).toBe(true);
      }
    } finally {
      second.abort();
    }
    await rerunning;
    expect(two.progress.gaps).toBe(1);
  }, 60_000);
});
