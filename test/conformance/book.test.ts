/**
 * Order books, the same checks for every exchange with the `book` capability (WebSocket) or
 * `depthRest` (REST polling), against its own simulator: sane liquidity snapshots stored, and a
 * corrupted update (`corruptNextBookUpdate`: a bad checksum, a sequence gone back or skipped, a
 * crossed book, whatever the exchange's sync check is) counted as one resync after which the book
 * recovers. Channel shapes and checksum tables stay in test/<exchange>-book.test.ts and
 * test/liquidity-simulator.test.ts.
 */
import { describe, expect, it, vi } from 'vitest';
import type { Exchange } from '../../collectors/exchange.js';
import { exchanges } from '../../collectors/exchanges/index.js';
import { BookStreamCollector } from '../../collectors/liquidity/book-stream.js';
import { DepthPollCollector } from '../../collectors/liquidity/depth-poller.js';
import type { ExchangeSimulator, RestMarketControls, SimulatorStartOptions } from '../../collectors/simulator/controls.js';
import { expectSaneSnapshots, liquidityCollectorsFor, runCollector } from '../support/book-snapshots.js';
import { useSimulator } from '../support/simulator-harness.js';

/**
 * Per exchange: two symbols its simulator lists (the fault hits the first), and the REST polling
 * interval its depth limit allows.
 */
const ROWS: Readonly<Record<string, { symbols: [string, string]; restInterval: string }>> = {
  binance: { symbols: ['BTC-USDT', 'ETH-USDT'], restInterval: '100ms' },
  okx: { symbols: ['BTC-USDT', 'ETH-USDT'], restInterval: '100ms' },
  bybit: { symbols: ['BTC-USDT', 'ETH-USDT'], restInterval: '100ms' },
  coinbase: { symbols: ['BTC-USD', 'ETH-USD'], restInterval: '200ms' },
  // Kraken's public REST allows about one call a second.
  kraken: { symbols: ['BTC-USD', 'ETH-USD'], restInterval: '1s' },
  gateio: { symbols: ['BTC-USDT', 'ETH-USDT'], restInterval: '100ms' },
  bitstamp: { symbols: ['BTC-USD', 'ETH-USD'], restInterval: '100ms' },
};

type BookSimulator = ExchangeSimulator & RestMarketControls;
const simulated = (exchanges as readonly Exchange[]).filter((exchange) => exchange.simulator !== undefined);
const having = (capability: 'book' | 'depthRest') =>
  simulated.filter((e) => e.capabilities[capability] !== undefined).map((exchange) => ({ name: exchange.name, exchange, row: ROWS[exchange.name]! }));

it('has a row for every exchange with a book and a simulator', () => {
  expect(Object.keys(ROWS)).toEqual(expect.arrayContaining(simulated.filter((e) => e.capabilities.book ?? e.capabilities.depthRest).map((e) => e.name)));
});

describe.each(having('book'))('$name order book over WebSocket (conformance)', ({ name, exchange, row }) => {
  const harness = useSimulator(async (options: SimulatorStartOptions) => (await exchange.simulator!(options)) as BookSimulator);
  const keys = row.symbols.map((symbol) => `liquidity:${name}:${symbol}`) as [string, string];

  it('stores liquidity snapshots for each symbol; a corrupted update is one counted resync, after which the book recovers', async () => {
    const sim = await harness.start({ symbols: row.symbols, tradesPerSecond: 50 });
    const [collector] = liquidityCollectorsFor(name, row.symbols, 'ws:100ms', { wsUrl: sim.wsUrl });
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

describe.each(having('depthRest'))('$name order book over REST (conformance)', ({ name, exchange, row }) => {
  const harness = useSimulator(async (options: SimulatorStartOptions) => (await exchange.simulator!(options)) as BookSimulator);

  it(`polls the REST depth every ${row.restInterval} in rest mode, within its rate limit: sane snapshots on the grid`, async () => {
    const sim = await harness.start({ symbols: row.symbols, tradesPerSecond: 20 });
    const [collector] = liquidityCollectorsFor(name, row.symbols, `rest:${row.restInterval}`, { restUrl: sim.restUrl });
    expect(collector).toBeInstanceOf(DepthPollCollector);
    expect(collector!.id).toMatch(new RegExp(`^liquidity:${name}:rest`));
    const intervalMs = Number.parseInt(row.restInterval, 10) * (row.restInterval.endsWith('ms') ? 1 : 1000);
    const run = runCollector(collector!);
    try {
      for (const symbol of row.symbols) await run.moreThan(`liquidity:${name}:${symbol}`, 2, 8000);
      for (const symbol of row.symbols) expectSaneSnapshots(await run.fetch(`liquidity:${name}:${symbol}`), intervalMs);
      expect((collector as DepthPollCollector).failedPolls).toBe(0);
      expect(sim.rateLimited()).toBe(0);
    } finally {
      await run.stop();
    }
  });
});
