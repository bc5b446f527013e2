import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startBinanceSimulator } from '../collectors/exchanges/binance/simulator.js';
import { startBybitSimulator } from '../collectors/exchanges/bybit/simulator.js';
import { startCoinbaseSimulator } from '../collectors/exchanges/coinbase/simulator.js';
import { startKrakenSimulator } from '../collectors/exchanges/kraken/simulator.js';
import { startOkxSimulator } from '../collectors/exchanges/okx/simulator.js';
import { KLINE_GAP_REASON } from '../collectors/klines/kline.js';
import { KlinePoller, type KlinePollerOptions } from '../collectors/klines/kline-poller.js';
import { alignDown } from '../collectors/klines/open-times.js';
import { capabilityOf } from '../collectors/exchange.js';
import { builtInExchanges } from '../collectors/exchanges/index.js';
import { PoliteRestClient } from '../collectors/rest/rest-client.js';
import type { RestMarketControls, SimulatorStartOptions } from '../collectors/simulator/controls.js';
import { silentLogger } from '../common/logger.js';
import { MemoryStorage } from '../storage/memory.js';
import { SqliteStorage } from '../storage/sqlite.js';
import type { DataCollectionStorage } from '../storage/types.js';

const klinesOf = (exchange: string) => capabilityOf(builtInExchanges.get(exchange), 'klines');

interface Simulated extends RestMarketControls {
  restUrl: string;
  close(): Promise<void>;
}

/** Each exchange's simulator, the symbol it lists and the path its klines are served at. */
const exchanges: Array<{ exchange: string; symbol: string; path: string; start: (o: SimulatorStartOptions) => Promise<Simulated> }> = [
  { exchange: 'binance', symbol: 'BTC-USDT', path: '/api/v3/klines', start: startBinanceSimulator },
  { exchange: 'okx', symbol: 'BTC-USDT', path: '/api/v5/market/candles', start: startOkxSimulator },
  { exchange: 'bybit', symbol: 'BTC-USDT', path: '/v5/market/kline', start: startBybitSimulator },
  { exchange: 'coinbase', symbol: 'BTC-USD', path: '/products/BTC-USD/candles', start: startCoinbaseSimulator },
  { exchange: 'kraken', symbol: 'BTC-USD', path: '/0/public/OHLC', start: startKrakenSimulator },
];

const MINUTE = 60_000;
const running: Array<{ stop: () => Promise<void> }> = [];
afterEach(async () => {
  for (const r of running.splice(0)) await r.stop();
});

/** Starts a poller on `storage`; stopped after the test. */
function runPoller(storage: DataCollectionStorage, options: KlinePollerOptions): { poller: KlinePoller; done: Promise<void>; stop: () => Promise<void> } {
  const poller = new KlinePoller({ logger: silentLogger, closeDelayMs: 200, healthRetryMs: 200, ...options });
  const abort = new AbortController();
  const done = poller.run(storage, abort.signal);
  const handle = {
    poller,
    done,
    stop: async () => {
      abort.abort();
      await done.catch(() => undefined);
    },
  };
  running.push(handle);
  return handle;
}

/** Waits until `check` holds, or fails after `ms`. */
async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Open times in [from, to] neither stored nor recorded missing. */
async function holes(storage: DataCollectionStorage, key: string, gapsKey: string, from: number, to: number, interval: number): Promise<number[]> {
  const known = new Set((await storage.fetch(key, from, to)).map(([t]) => t));
  for (const [, v] of await storage.fetch(gapsKey, 0, to)) {
    const { first_open_time: first, last_open_time: last } = v as Record<string, number>;
    for (let t = first!; t <= last!; t += interval) known.add(t);
  }
  const out: number[] = [];
  for (let t = from; t <= to; t += interval) if (!known.has(t)) out.push(t);
  return out;
}

/** A client on its own (not the process's shared one), so each test starts with a full bucket. */
function freshClient(exchange: string): PoliteRestClient {
  return new PoliteRestClient({ label: exchange, logger: silentLogger, limits: klinesOf(exchange).limits, backoffMs: 100 });
}

describe.each(exchanges)('$exchange klines through the simulator', ({ exchange, symbol, path, start }) => {
  it('fills 6 hours of 1m history with no missing closed candle: left-out candles asked again, the ones the exchange lacks recorded, within its rate limit', async () => {
    const sim = await start({ symbols: [symbol], tradesPerSecond: 20, klineHoles: { permanentEvery: 97, transientEvery: 13 } });
    running.push({ stop: () => sim.close() });
    const storage = new MemoryStorage();
    const began = Date.now();
    const { poller } = runPoller(storage, { protocol: klinesOf(exchange), symbol, interval: '1m', restUrl: sim.restUrl, historyMs: 6 * 60 * MINUTE, http: freshClient(exchange) });
    const lastClosed = alignDown(began, MINUTE) - MINUTE;
    await until(() => poller.verifiedThrough !== undefined && poller.verifiedThrough >= lastClosed - 2 * MINUTE, 60_000, 'the history fill');

    const from = alignDown(began - 6 * 60 * MINUTE, MINUTE);
    const settled = lastClosed - 2 * MINUTE;
    expect(await holes(storage, poller.history.key, poller.history.gapsKey, from, settled, MINUTE)).toEqual([]);
    const stored = new Set((await storage.fetch(poller.history.key, from, settled)).map(([t]) => t));
    const recorded = (await storage.fetch(poller.history.gapsKey, 0, settled)).map(([t, v]) => [t, (v as Record<string, number>).reason]);
    for (let t = from; t <= settled; t += MINUTE) {
      const index = t / MINUTE;
      // Permanent holes are recorded once each; transient ones were asked again and stored.
      if (index % 97 === 0) expect(recorded).toContainEqual([t, KLINE_GAP_REASON.notServed]);
      else if (index % 13 === 1) expect(stored.has(t)).toBe(true);
    }
    const [, candle] = (await storage.fetch(poller.history.key, from, settled))[0]!;
    expect(candle).toMatchObject({ open: expect.any(Number), high: expect.any(Number), low: expect.any(Number), close: expect.any(Number), volume: expect.any(Number) });
    const c = candle as Record<string, number>;
    expect(c.high).toBeGreaterThanOrEqual(Math.max(c.open!, c.close!));
    expect(c.low).toBeLessThanOrEqual(Math.min(c.open!, c.close!));
    expect(sim.rateLimited()).toBe(0);
    expect(sim.restRequests(path)).toBeGreaterThan(0);
  });

  it('waits out a maintenance window without polling, reports itself degraded, then fills', async () => {
    const sim = await start({ symbols: [symbol], tradesPerSecond: 20 });
    running.push({ stop: () => sim.close() });
    sim.setMaintenance(true);
    const storage = new MemoryStorage();
    const { poller } = runPoller(storage, { protocol: klinesOf(exchange), symbol, interval: '1m', restUrl: sim.restUrl, historyMs: 30 * MINUTE, http: freshClient(exchange) });
    await until(() => poller.progress.degraded !== undefined, 10_000, 'the degraded report');
    expect(poller.progress.degraded).toMatch(new RegExp(exchange));
    await sleep(600);
    expect(sim.restRequests(path)).toBe(0);
    sim.setMaintenance(false);
    await until(() => poller.verifiedThrough !== undefined, 20_000, 'the fill after maintenance');
    expect(poller.progress.degraded).toBeUndefined();
    expect((await storage.fetch(poller.history.key, 0, Date.now())).length).toBeGreaterThan(20);
  });
});

describe('klines after an outage', () => {
  it('a poller restarted on the same SQLite file resumes from its checkpoint and leaves no closed candle missing', async () => {
    const sim = await startBinanceSimulator({ symbols: ['ETH-USDT'], tradesPerSecond: 20 });
    running.push({ stop: () => sim.close() });
    const file = join(mkdtempSync(join(tmpdir(), 'qc-klines-')), 'k.db');
    const options = { protocol: klinesOf('binance'), symbol: 'ETH-USDT', interval: '1m', restUrl: sim.restUrl, historyMs: 2 * 24 * 60 * MINUTE };
    let storage = new SqliteStorage({ path: file });
    const first = runPoller(storage, { ...options, http: freshClient('binance') });
    await until(() => first.poller.verifiedThrough !== undefined, 30_000, 'the first fill');
    await first.stop();
    await storage.close();
    const requestsBefore = sim.restRequests('/api/v3/klines');

    // A new process: no `history` this time, so only the checkpoint says where to resume.
    storage = new SqliteStorage({ path: file });
    const second = runPoller(storage, { ...options, historyMs: undefined, http: freshClient('binance') });
    await until(() => second.poller.verifiedThrough !== undefined && sim.restRequests('/api/v3/klines') > requestsBefore, 30_000, 'the resumed poll');
    const from = alignDown(Date.now() - 2 * 24 * 60 * MINUTE, MINUTE) + MINUTE;
    const lastClosed = alignDown(Date.now(), MINUTE) - 2 * MINUTE;
    expect(await holes(storage, second.poller.history.key, second.poller.history.gapsKey, from, lastClosed, MINUTE)).toEqual([]);
    // Resuming asked only for what came after the checkpoint: two days took 3 pages, the resume 1.
    expect(sim.restRequests('/api/v3/klines') - requestsBefore).toBe(1);
    await second.stop();
    await storage.close();
  });

  it('honours 429 with Retry-After when the exchange is stricter than its published limit, and still fills everything', async () => {
    const sim = await startBinanceSimulator({ symbols: ['BTC-USDT'], tradesPerSecond: 5, restWeightLimit: { weight: 6, windowMs: 1000 } });
    running.push({ stop: () => sim.close() });
    const storage = new MemoryStorage();
    const { poller } = runPoller(storage, { protocol: klinesOf('binance'), symbol: 'BTC-USDT', interval: '1m', restUrl: sim.restUrl, historyMs: 8 * 1000 * MINUTE, http: freshClient('binance') });
    await until(() => poller.verifiedThrough !== undefined, 60_000, 'the fill');
    expect(sim.rateLimited()).toBeGreaterThan(0);
    const from = alignDown(Date.now() - 8 * 1000 * MINUTE, MINUTE) + MINUTE;
    expect(await holes(storage, poller.history.key, poller.history.gapsKey, from, alignDown(Date.now(), MINUTE) - 2 * MINUTE, MINUTE)).toEqual([]);
  });
});
