/**
 * Order books, the same checks for every exchange with the `book` capability (WebSocket) or
 * `depthRest` (REST polling), against its own simulator: sane liquidity snapshots stored, and a
 * corrupted update (`corruptNextBookUpdate`: a bad checksum, a sequence gone back or skipped, a
 * crossed book, whatever the exchange's sync check is) counted as one resync after which the book
 * recovers. Channel shapes and checksum tables stay in test/<exchange>-book.test.ts and
 * test/liquidity-simulator.test.ts.
 */
import { describe, expect, it, vi } from 'vitest';
import { BookStreamCollector } from '../../collectors/liquidity/book-stream.js';
import { DepthPollCollector } from '../../collectors/liquidity/depth-poller.js';
import type { ExchangeSimulator, RestMarketControls, SimulatorStartOptions } from '../../collectors/simulator/controls.js';
import { expectSaneSnapshots, liquidityCollectorsFor, runCollector } from '../support/book-snapshots.js';
import { simulatedExchanges } from '../support/simulated-exchanges.js';
import { useSimulator } from '../support/simulator-harness.js';

/** The REST polling interval each exchange's depth limit allows. */
const REST_INTERVALS: Readonly<Record<string, string>> = {
  binance: '100ms',
  okx: '100ms',
  bybit: '100ms',
  coinbase: '200ms',
  // Kraken's public REST allows about one call a second.
  kraken: '1s',
  gateio: '100ms',
  bitstamp: '100ms',
};

type BookSimulator = ExchangeSimulator & RestMarketControls;

it('has a REST polling interval for every exchange with a REST book and a simulator, and for no other', () => {
  expect(Object.keys(REST_INTERVALS).sort()).toEqual(simulatedExchanges('depthRest').map((e) => e.name).sort());
});

describe.each(simulatedExchanges('book'))('$name order book over WebSocket (conformance)', ({ name, btc, eth, start }) => {
  const harness = useSimulator((options: SimulatorStartOptions) => start<BookSimulator>(options));
  // The fault hits the first.
  const symbols = [btc, eth];
  const keys = symbols.map((symbol) => `liquidity:${name}:${symbol}`) as [string, string];

  it('stores liquidity snapshots for each symbol; a corrupted update is one counted resync, after which the book recovers', async () => {
    const sim = await harness.start({ symbols, tradesPerSecond: 50 });
    const [collector] = liquidityCollectorsFor(name, symbols, 'ws:100ms', { wsUrl: sim.wsUrl });
    expect(collector).toBeInstanceOf(BookStreamCollector);
    expect(collector!.id).toBe(`liquidity:${name}@100ms`);
    const run = runCollector(collector!);
    try {
      await run.moreThan(keys[0], 4);
      expect(collector!.progress.resyncs).toBe(0);
      sim.corruptNextBookUpdate!();
      await vi.waitFor(() => expect(collector!.progress.resyncs).toBe(1), { timeout: 3000 });
      // Resynchronized (a fresh snapshot, or the next full frame): snapshots go on.
      await run.moreThan(keys[0], (await run.fetch(keys[0])).length + 3, 3000);
      for (const key of keys) expectSaneSnapshots(await run.fetch(key));
      expect(collector!.progress.resyncs).toBe(1);
      expect(collector!.progress.itemsStored).toBeGreaterThan(10);
      expect((collector as BookStreamCollector).unparsedFrames).toBe(0);
    } finally {
      await run.stop();
    }
  });
});

describe.each(simulatedExchanges('depthRest'))('$name order book over REST (conformance)', ({ name, btc, eth, start }) => {
  const harness = useSimulator((options: SimulatorStartOptions) => start<BookSimulator>(options));
  const symbols = [btc, eth];
  const restInterval = REST_INTERVALS[name]!;

  it(`polls the REST depth every ${restInterval} in rest mode, within its rate limit: sane snapshots on the grid`, async () => {
    const sim = await harness.start({ symbols, tradesPerSecond: 20 });
    const [collector] = liquidityCollectorsFor(name, symbols, `rest:${restInterval}`, { restUrl: sim.restUrl });
    expect(collector).toBeInstanceOf(DepthPollCollector);
    expect(collector!.id).toMatch(new RegExp(`^liquidity:${name}:rest`));
    const intervalMs = Number.parseInt(restInterval, 10) * (restInterval.endsWith('ms') ? 1 : 1000);
    const run = runCollector(collector!);
    try {
      for (const symbol of symbols) await run.moreThan(`liquidity:${name}:${symbol}`, 2, 8000);
      for (const symbol of symbols) expectSaneSnapshots(await run.fetch(`liquidity:${name}:${symbol}`), intervalMs);
      expect((collector as DepthPollCollector).failedPolls).toBe(0);
      expect(sim.rateLimited()).toBe(0);
    } finally {
      await run.stop();
    }
  });
});
