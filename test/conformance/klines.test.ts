/**
 * Klines, the same checks for every exchange with the `klines` capability, against its own
 * simulator: paging within its per-request limit, a KlineHistory fill through holes, 6 hours of
 * history made whole within its rate limit, a maintenance window waited out, and a restart after
 * an outage resuming from the checkpoint. Page shapes, error codes and endpoint quirks stay in
 * test/<exchange>-klines.test.ts.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { KLINE_GAP_REASON } from '../../collectors/klines/kline.js';
import { KlineHistory } from '../../collectors/klines/kline-history.js';
import { alignDown, pages } from '../../collectors/klines/open-times.js';
import type { KlinePageQuery } from '../../collectors/klines/protocol.js';
import type { ExchangeSimulator, RestMarketControls, SimulatorStartOptions } from '../../collectors/simulator/controls.js';
import { silentLogger } from '../../common/logger.js';
import { MemoryStorage } from '../../storage/memory.js';
import { SqliteStorage } from '../../storage/sqlite.js';
import { freshClient, holes, MINUTE, runPoller, stopAfterEach, until } from '../support/kline-polling.js';
import { simulatedExchanges } from '../support/simulated-exchanges.js';
import { useSimulator } from '../support/simulator-harness.js';

type KlinesSimulator = ExchangeSimulator & RestMarketControls;
const running = stopAfterEach();

describe.each(simulatedExchanges('klines'))('$name klines (conformance)', ({ exchange, btc: symbol, start }) => {
  const protocol = exchange.capabilities.klines!;
  const harness = useSimulator((options: SimulatorStartOptions) => start<KlinesSimulator>(options));
  const exchangeSymbol = protocol.toExchangeSymbol(symbol);
  /** The oldest candle the exchange serves, counted back from now (Kraken keeps only the 720 most recent). */
  const served = (wanted: number): number => Math.min(wanted, (protocol.maxHistoryCandles ?? Infinity) - 24);
  /** The paths the page requests for [from, to] go to (OKX: history-candles for older pages, candles for recent ones). */
  const pathsOf = (queries: KlinePageQuery[]): string[] => [...new Set(queries.map((q) => protocol.pageRequest(q).path))];

  it(`pages a range through the protocol, ${protocol.maxPerRequest} candles a request at most: every wanted open time once, ascending`, async () => {
    const sim = await harness.start({ symbols: [symbol], tradesPerSecond: 20 });
    const http = freshClient(protocol, { maxAttempts: 1 });
    const now = Date.now();
    const to = alignDown(now, MINUTE) - MINUTE;
    const count = served(Math.floor(protocol.maxPerRequest * 1.5));
    const from = to - (count - 1) * MINUTE;
    const queries = pages([{ from, to }], MINUTE, protocol.maxPerRequest).map((page) => ({ exchangeSymbol, interval: '1m', intervalMs: MINUTE, ...page, now }));
    const got: number[] = [];
    for (const query of queries) {
      const request = protocol.pageRequest(query);
      const klines = protocol.parsePage(await http.getJson(`${sim.restUrl}${request.path}`, request.params, new AbortController().signal, { weight: request.weight }), query);
      expect(klines.length).toBeLessThanOrEqual(protocol.maxPerRequest);
      expect(klines.every((k) => k.high >= Math.max(k.open, k.close) && k.low <= Math.min(k.open, k.close) && k.volume >= 0)).toBe(true);
      got.push(...klines.map((k) => k.openTime));
    }
    // Kraken's OHLC has no end bound: its page runs on to the open candle, never past it.
    expect(got.filter((t) => t <= to)).toEqual(Array.from({ length: count }, (_, i) => from + i * MINUTE));
    expect(got.filter((t) => t > to).every((t) => t <= alignDown(Date.now(), MINUTE))).toBe(true);
    expect(pathsOf(queries).reduce((sum, path) => sum + sim.restRequests(path), 0)).toBe(Math.ceil(count / protocol.maxPerRequest));
  });

  it('leaves permanent holes out of every answer and transient ones out of the first only', async () => {
    const sim = await harness.start({ symbols: [symbol], tradesPerSecond: 10, klineHoles: { permanentEvery: 7, transientEvery: 5 } });
    const http = freshClient(protocol, { maxAttempts: 1 });
    const now = Date.now();
    const to = alignDown(now, MINUTE) - 61 * MINUTE;
    const from = to - 59 * MINUTE;
    const query = { exchangeSymbol, interval: '1m', intervalMs: MINUTE, from, to, now };
    const request = protocol.pageRequest(query);
    const openTimes = async () =>
      protocol.parsePage(await http.getJson(`${sim.restUrl}${request.path}`, request.params, new AbortController().signal, { weight: request.weight }), query).map((k) => k.openTime).filter((t) => t >= from && t <= to);
    const all = Array.from({ length: 60 }, (_, i) => from + i * MINUTE);
    const permanent = (t: number) => (t / MINUTE) % 7 === 0;
    const transient = (t: number) => (t / MINUTE) % 5 === 1;
    expect(await openTimes()).toEqual(all.filter((t) => !permanent(t) && !transient(t)));
    expect(await openTimes()).toEqual(all.filter((t) => !permanent(t)));
  });

  it('a KlineHistory fill stores what is served, asks again for what an answer left out, and records the permanent holes as missing', async () => {
    const sim = await harness.start({ symbols: [symbol], tradesPerSecond: 1, klineHoles: { permanentEvery: 9, transientEvery: 5 } });
    const history = new KlineHistory({ protocol, symbol, interval: '5m', restUrl: sim.restUrl, http: freshClient(protocol), logger: silentLogger });
    const storage = new MemoryStorage();
    await history.declare(storage);
    const step = 5 * MINUTE;
    const count = served(1200);
    const to = alignDown(Date.now(), step) - 12 * step;
    const from = to - (count - 1) * step;
    const result = await history.fill(storage, { from, to }, new AbortController().signal);
    const permanent = Array.from({ length: count }, (_, i) => from + i * step).filter((t) => (t / step) % 9 === 0);
    expect(result.recordedMissing).toBe(permanent.length);
    expect((await storage.fetch(history.key, from, to)).length).toBe(count - permanent.length);
    expect(sim.rateLimited()).toBe(0);
  });

  it('fills 6 hours of 1m history with no missing closed candle: left-out candles asked again, the ones the exchange lacks recorded, within its rate limit', async () => {
    const sim = await harness.start({ symbols: [symbol], tradesPerSecond: 20, klineHoles: { permanentEvery: 97, transientEvery: 13 } });
    const storage = new MemoryStorage();
    const began = Date.now();
    const { poller } = runPoller(running, storage, { protocol, symbol, interval: '1m', restUrl: sim.restUrl, historyMs: 6 * 60 * MINUTE, http: freshClient(protocol) });
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
    expect(sim.restRequests()).toBeGreaterThan(0);
  });

  it('waits out a maintenance window without polling, reports itself degraded, then fills', async () => {
    const sim = await harness.start({ symbols: [symbol], tradesPerSecond: 20 });
    sim.setMaintenance(true);
    const storage = new MemoryStorage();
    const { poller } = runPoller(running, storage, { protocol, symbol, interval: '1m', restUrl: sim.restUrl, historyMs: 30 * MINUTE, http: freshClient(protocol) });
    await until(() => poller.progress.degraded !== undefined, 10_000, 'the degraded report');
    expect(poller.progress.degraded).toMatch(new RegExp(exchange.name));
    await sleep(600);
    const now = Date.now();
    const recent = { exchangeSymbol, interval: '1m', intervalMs: MINUTE, from: alignDown(now, MINUTE) - 30 * MINUTE, to: alignDown(now, MINUTE), now };
    expect(sim.restRequests(protocol.pageRequest(recent).path)).toBe(0);
    sim.setMaintenance(false);
    await until(() => poller.verifiedThrough !== undefined, 20_000, 'the fill after maintenance');
    expect(poller.progress.degraded).toBeUndefined();
    expect((await storage.fetch(poller.history.key, 0, Date.now())).length).toBeGreaterThan(20);
  });

  it('a poller restarted on the same SQLite file after an outage resumes from its checkpoint with one page request and leaves no closed candle missing', async () => {
    const sim = await harness.start({ symbols: [symbol], tradesPerSecond: 20 });
    const file = join(mkdtempSync(join(tmpdir(), 'qc-klines-')), 'k.db');
    // More than one page of history, within what the exchange serves.
    const historyMs = served(Math.floor(protocol.maxPerRequest * 2.5)) * MINUTE;
    const options = { protocol, symbol, interval: '1m', restUrl: sim.restUrl, historyMs };
    let storage = new SqliteStorage({ path: file });
    const first = runPoller(running, storage, { ...options, http: freshClient(protocol) });
    await until(() => first.poller.verifiedThrough !== undefined, 30_000, 'the first fill');
    await first.stop();
    await storage.close();
    // The page requests of a recent range: what resuming asks for.
    const now = Date.now();
    const pagePath = protocol.pageRequest({ exchangeSymbol, interval: '1m', intervalMs: MINUTE, from: alignDown(now, MINUTE) - 10 * MINUTE, to: alignDown(now, MINUTE), now }).path;
    const requestsBefore = sim.restRequests(pagePath);

    // A new process: no `history` this time, so only the checkpoint says where to resume.
    storage = new SqliteStorage({ path: file });
    const second = runPoller(running, storage, { ...options, historyMs: undefined, http: freshClient(protocol) });
    try {
      await until(() => second.poller.verifiedThrough !== undefined && sim.restRequests(pagePath) > requestsBefore, 30_000, 'the resumed poll');
      const from = alignDown(Date.now() - historyMs, MINUTE) + MINUTE;
      const lastClosed = alignDown(Date.now(), MINUTE) - 2 * MINUTE;
      expect(await holes(storage, second.poller.history.key, second.poller.history.gapsKey, from, lastClosed, MINUTE)).toEqual([]);
      // Resuming asked only for what came after the checkpoint: one page.
      expect(sim.restRequests(pagePath) - requestsBefore).toBe(1);
    } finally {
      await second.stop();
      await storage.close();
    }
  }, 60_000);
});
