/**
 * What a disconnect or a restart costs, for every exchange with trades and a simulator: with
 * `tradeHistory` (by id over REST) nothing — no gaps, no doubles across forced disconnects and a
 * restart from the checkpoint, even through 429s; without it, exactly the missed trades, recorded
 * as gaps; and its REST client waiting out the 429s of a tight budget. Exchange-specific backfill
 * (page shapes, limits) stays in test/<exchange>-backfill.test.ts.
 */
import { describe, expect, it, vi } from 'vitest';
import { PoliteRestClient } from '../../collectors/rest/rest-client.js';
import type { ExchangeSimulator, RestMarketControls, SimulatorStartOptions } from '../../collectors/simulator/controls.js';
import { silentLogger } from '../../common/logger.js';
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

/**
 * Per exchange with history, how its simulator holds the REST budget to one history page a second,
 * for the REST client to meet its 429s; or why it is not checked here.
 */
const ONE_PAGE_A_SECOND: Readonly<Record<string, Record<string, unknown> | string>> = {
  // historicalTrades weighs 25; Binance's 429 carries Retry-After.
  binance: { restWeightLimit: { weight: 25, windowMs: 1000 } },
  // Their 429s carry no Retry-After: the client backs off until the window resets.
  okx: { restRequestLimit: { requests: 1, windowMs: 1000 } },
  coinbase: { restRequestLimit: { requests: 1, windowMs: 1000 } },
  gateio: { restRequestLimit: { requests: 1, windowMs: 1000 } },
  kraken: 'Kraken refuses with a 200 error list, not a 429: its REST limits read it as a throttle (test/kraken-klines.test.ts)',
};

// Kraken pages two quotes, so both REST altname spellings (XBTUSDT, ...USD) are paged.
const SYMBOLS: Readonly<Record<string, [string, string]>> = { kraken: ['BTC-USDT', 'ETH-USD'] };

const withTrades = simulatedExchanges('trades');
const cases = (withHistory: boolean) =>
  withTrades.filter((e) => (e.exchange.capabilities.tradeHistory !== undefined) === withHistory).map((e) => ({ ...e, symbols: SYMBOLS[e.name] ?? [e.btc, e.eth] }));
const generating = (start: SimulatedExchange['start']) => (options: SimulatorStartOptions) => start<GeneratingSimulator & ExchangeSimulator>(options);

it('has budget rows for every exchange with trade history and a simulator, and for no other', () => {
  for (const rows of [TIGHT_BUDGETS, ONE_PAGE_A_SECOND]) expect(Object.keys(rows).sort()).toEqual(cases(true).map((e) => e.name).sort());
});

describe.each(cases(true))('$name trades with history: no gaps, no doubles (conformance)', ({ name, symbols, start }) => {
  noGapsNoDoubles(name, generating(start), symbols, TIGHT_BUDGETS[name]);
});

describe.each(cases(true).filter((e) => typeof ONE_PAGE_A_SECOND[e.name] !== 'string'))('$name trade history over REST (conformance)', ({ name, exchange, btc, start }) => {
  const harness = useSimulator((options: SimulatorStartOptions) => start<GeneratingSimulator & ExchangeSimulator & Pick<RestMarketControls, 'rateLimited'>>(options));

  it('the REST client waits out the 429s of a budget of one page a second instead of failing: three pages asked at once all arrive', async () => {
    const sim = await harness.start({ symbols: [btc], tradesPerSecond: 100, ...(ONE_PAGE_A_SECOND[name] as Record<string, unknown>) });
    await vi.waitFor(() => expect(sim.generatedTrades(btc).length).toBeGreaterThan(0));
    const http = new PoliteRestClient({ label: name, logger: silentLogger, backoffMs: 200 });
    const history = exchange.capabilities.tradeHistory!;
    const afterId = sim.generatedTrades(btc)[0]!.id - 1;
    const page = () => history.fetchAfter({ symbol: btc, exchangeSymbol: exchange.symbols.toExchange(btc), afterId, restUrl: sim.restUrl, http, signal: new AbortController().signal });
    const started = Date.now();
    const pages = await Promise.all([page(), page(), page()]);
    for (const trades of pages) expect(trades.length).toBeGreaterThan(0);
    expect(sim.rateLimited()).toBeGreaterThan(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000); // at most one request per 1 s window got through
  });
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
