import { describe, expect, it, vi } from 'vitest';
import { startBinanceSimulator } from '../collectors/exchanges/binance/simulator.js';
import { startBybitSimulator } from '../collectors/exchanges/bybit/simulator.js';
import { startKrakenSimulator } from '../collectors/exchanges/kraken/simulator.js';
import { BookStreamCollector } from '../collectors/liquidity/book-stream.js';
import { DepthPollCollector } from '../collectors/liquidity/depth-poller.js';
import { liquidityCollectorKind } from '../collectors/liquidity/kind.js';
import type { DataSourceCollector } from '../collectors/types.js';
import type { DataRequirement, ExchangeEndpoints } from '../feeds/types.js';
import { silentLogger } from '../src/logger.js';
import { MemoryStorage } from '../storage/memory.js';
import type { Sample } from '../storage/types.js';
import { useSimulator } from './support/simulator-harness.js';

const INTERVAL_MS = 100;

/** The collectors the liquidity kind builds for `collect: ["liquidity:<arg>"]` on these pairs. */
function collectorsFor(exchange: string, symbols: string[], arg: string, endpoints: ExchangeEndpoints): DataSourceCollector[] {
  const requirements: DataRequirement[] = symbols.map((symbol) => ({
    id: `liquidity:${exchange}:${symbol}:${arg}`,
    collector: 'liquidity',
    exchange,
    symbol,
    arg,
    keys: liquidityCollectorKind.keysFor(exchange, symbol, arg),
  }));
  return liquidityCollectorKind.create(requirements, { exchanges: { [exchange]: endpoints }, logger: silentLogger });
}

/** Runs a collector into memory storage until `stop` is called. */
function runCollector(collector: DataSourceCollector) {
  const storage = new MemoryStorage();
  const abort = new AbortController();
  const done = collector.run(storage, abort.signal);
  return {
    storage,
    fetch: (key: string) => storage.fetch(key, 0, Date.now() + 60_000),
    stop: async () => {
      abort.abort();
      await done;
    },
  };
}

/** Each stored snapshot is a sane book: bid < mid < ask, spread from them, depth growing with the band. */
function expectSaneSnapshots(samples: Sample[]): void {
  for (const [timestamp, value] of samples) {
    const s = value as Record<string, number>;
    expect(timestamp % INTERVAL_MS).toBe(0);
    expect(s.bid).toBeLessThan(s.ask!);
    expect(s.mid).toBeCloseTo((s.bid! + s.ask!) / 2, 9);
    expect(s.spread_bps).toBeCloseTo(((s.ask! - s.bid!) / s.mid!) * 10_000, 9);
    expect(s.bid_depth_10bps).toBeGreaterThan(0);
    expect(s.bid_depth_50bps).toBeGreaterThanOrEqual(s.bid_depth_10bps!);
    expect(s.bid_depth_100bps).toBeGreaterThanOrEqual(s.bid_depth_50bps!);
    expect(s.ask_depth_100bps).toBeGreaterThanOrEqual(s.ask_depth_50bps!);
    expect(s.ask_depth_50bps).toBeGreaterThanOrEqual(s.ask_depth_10bps!);
  }
}

/** Ticks after both symbols' first sample where `other` was stored and `symbol` was not. */
function ticksMissing(samples: Sample[], others: Sample[]): number[] {
  const own = new Set(samples.map(([t]) => t));
  const start = Math.max(samples[0]![0], others[0]![0]);
  return others.map(([t]) => t).filter((t) => t >= start && !own.has(t));
}

describe('liquidity collector against the Binance simulator', () => {
  const simulator = useSimulator(startBinanceSimulator);

  it('stores snapshots from @depth20@100ms and resyncs after a regressed lastUpdateId', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USDT', 'ETH-USDT'], tradesPerSecond: 50 });
    const [collector] = collectorsFor('binance', ['BTC-USDT', 'ETH-USDT'], 'ws:100ms', { wsUrl: sim.wsUrl });
    expect(collector).toBeInstanceOf(BookStreamCollector);
    expect(collector!.id).toBe('liquidity:binance@100ms');
    const run = runCollector(collector!);
    try {
      await vi.waitFor(async () => expect((await run.fetch('liquidity:binance:BTC-USDT')).length).toBeGreaterThanOrEqual(5), { timeout: 5000 });
      expect(collector!.progress.resyncs).toBe(0);
      sim.corruptNextBookUpdate();
      await vi.waitFor(() => expect(collector!.progress.resyncs).toBe(1), { timeout: 3000 });
      const before = (await run.fetch('liquidity:binance:BTC-USDT')).length;
      // The next full frame resynchronizes the book: snapshots go on.
      await vi.waitFor(async () => expect((await run.fetch('liquidity:binance:BTC-USDT')).length).toBeGreaterThan(before + 3), { timeout: 3000 });
      expectSaneSnapshots(await run.fetch('liquidity:binance:BTC-USDT'));
      expectSaneSnapshots(await run.fetch('liquidity:binance:ETH-USDT'));
      expect(collector!.progress.itemsStored).toBeGreaterThan(10);
    } finally {
      await run.stop();
    }
  });

  it('polls REST /api/v3/depth in rest mode', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USDT'], tradesPerSecond: 20 });
    const [collector] = collectorsFor('binance', ['BTC-USDT'], 'rest:100ms', { restUrl: sim.restUrl });
    expect(collector).toBeInstanceOf(DepthPollCollector);
    expect(collector!.id).toBe('liquidity:binance:rest@100ms');
    const run = runCollector(collector!);
    try {
      await vi.waitFor(async () => expect((await run.fetch('liquidity:binance:BTC-USDT')).length).toBeGreaterThanOrEqual(5), { timeout: 5000 });
      expectSaneSnapshots(await run.fetch('liquidity:binance:BTC-USDT'));
      expect(sim.restRequests('/api/v3/depth')).toBeGreaterThanOrEqual(5);
      expect((collector as DepthPollCollector).failedPolls).toBe(0);
    } finally {
      await run.stop();
    }
    const { status, body } = await simulator.getJson<{ bids: [string, string][]; asks: unknown[] }>('/api/v3/depth?symbol=BTCUSDT&limit=5');
    expect(status).toBe(200);
    expect(body.bids).toHaveLength(5);
    expect(body.bids[0]![0]).toMatch(/^\d+\.\d{8}$/);
  });
});

describe('liquidity collector against the Kraken simulator', () => {
  const simulator = useSimulator(startKrakenSimulator);

  it('verifies checksums, resubscribes after a bad one and stores nothing for the book while it is inconsistent', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USD', 'ETH-USD'], tradesPerSecond: 50 });
    const [collector] = collectorsFor('kraken', ['BTC-USD', 'ETH-USD'], 'ws:100ms', { wsUrl: sim.wsUrl });
    const run = runCollector(collector!);
    try {
      await vi.waitFor(async () => expect((await run.fetch('liquidity:kraken:BTC-USD')).length).toBeGreaterThanOrEqual(5), { timeout: 5000 });
      expect(collector!.progress.resyncs).toBe(0);
      expect(ticksMissing(await run.fetch('liquidity:kraken:BTC-USD'), await run.fetch('liquidity:kraken:ETH-USD'))).toEqual([]);
      // The fault hits the next update of the first listed symbol, BTC/USD.
      sim.corruptNextBookUpdate();
      await vi.waitFor(() => expect(collector!.progress.resyncs).toBe(1), { timeout: 3000 });
      // Unsubscribe, then subscribe 250 ms later (the send spacing) for a fresh snapshot.
      await vi.waitFor(() => expect(sim.bookSubscriptions()).toBe(3), { timeout: 3000 });
      const before = (await run.fetch('liquidity:kraken:BTC-USD')).length;
      await vi.waitFor(async () => expect((await run.fetch('liquidity:kraken:BTC-USD')).length).toBeGreaterThan(before + 3), { timeout: 3000 });
      const btc = await run.fetch('liquidity:kraken:BTC-USD');
      const eth = await run.fetch('liquidity:kraken:ETH-USD');
      // ETH's book stayed consistent and was stored at ticks where BTC's, being resynchronized, was not.
      expect(ticksMissing(btc, eth).length).toBeGreaterThanOrEqual(1);
      expect(ticksMissing(eth, btc)).toEqual([]);
      expectSaneSnapshots(btc);
      expectSaneSnapshots(eth);
      expect(collector!.progress.resyncs).toBe(1);
    } finally {
      await run.stop();
    }
  });
});

describe('liquidity collector against the Bybit simulator', () => {
  const simulator = useSimulator(startBybitSimulator);

  it('follows orderbook.50 deltas by u and resubscribes after a skipped one', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USDT', 'ETH-USDT'], tradesPerSecond: 50 });
    const [collector] = collectorsFor('bybit', ['BTC-USDT', 'ETH-USDT'], 'ws:100ms', { wsUrl: sim.wsUrl });
    const run = runCollector(collector!);
    try {
      await vi.waitFor(async () => expect((await run.fetch('liquidity:bybit:BTC-USDT')).length).toBeGreaterThanOrEqual(5), { timeout: 5000 });
      expect(collector!.progress.resyncs).toBe(0);
      sim.corruptNextBookUpdate();
      await vi.waitFor(() => expect(collector!.progress.resyncs).toBe(1), { timeout: 3000 });
      const before = (await run.fetch('liquidity:bybit:BTC-USDT')).length;
      await vi.waitFor(async () => expect((await run.fetch('liquidity:bybit:BTC-USDT')).length).toBeGreaterThan(before + 3), { timeout: 3000 });
      expectSaneSnapshots(await run.fetch('liquidity:bybit:BTC-USDT'));
      expectSaneSnapshots(await run.fetch('liquidity:bybit:ETH-USDT'));
      expect(collector!.progress.resyncs).toBe(1);
    } finally {
      await run.stop();
    }
  });

  it('polls REST /v5/market/orderbook in rest mode', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USDT'], tradesPerSecond: 20 });
    const [collector] = collectorsFor('bybit', ['BTC-USDT'], 'rest:100ms', { restUrl: sim.restUrl });
    const run = runCollector(collector!);
    try {
      await vi.waitFor(async () => expect((await run.fetch('liquidity:bybit:BTC-USDT')).length).toBeGreaterThanOrEqual(3), { timeout: 5000 });
      expectSaneSnapshots(await run.fetch('liquidity:bybit:BTC-USDT'));
      expect((collector as DepthPollCollector).failedPolls).toBe(0);
    } finally {
      await run.stop();
    }
  });
});
