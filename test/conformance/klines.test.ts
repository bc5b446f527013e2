/**
 * Klines, the same checks for every exchange with the `klines` capability, against its own
 * simulator: paging within its per-request limit, a KlineHistory fill through holes, 6 hours of
 * history made whole within its rate limit, a maintenance window waited out, and a restart after
 * an outage resuming from the checkpoint; and the answers no klines parser may trust. Page shapes
 * and endpoint quirks stay in test/<exchange>-klines.test.ts.
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
import { docsExample, NO_FIXTURES } from '../support/fixtures.js';
import { freshClient, holes, MINUTE, runPoller, stopAfterEach, until } from '../support/kline-polling.js';
import { simulatedExchanges } from '../support/simulated-exchanges.js';
import { useSimulator } from '../support/simulator-harness.js';

type KlinesSimulator = ExchangeSimulator & RestMarketControls;
const running = stopAfterEach();

/** An answer its klines protocol must refuse: written out, or a documented example (read only where the fixtures are) made into one. */
type UntrustedAnswer = ({ body: unknown } | { docs: string; body?: (example: unknown) => unknown }) & { refused: string | RegExp };

/**
 * Per exchange with klines: the 1m page asked for (from, to; ms) and the answers its protocol must
 * refuse, each with what the error says (a string: a part of it). Every refusal names the exchange.
 */
const UNTRUSTED_ANSWERS: Readonly<Record<string, { from: number; to: number; answers: UntrustedAnswer[] }>> = {
  binance: {
    from: 1634943780000,
    to: 1634943780000,
    answers: [
      { docs: 'rest_error_payload', refused: 'binance: klines refused: code -1121: Invalid symbol.' },
      { body: { rows: [] }, refused: /^binance: klines answer is not an array/ },
      { body: [[1634943780000, 60685.22, '1', '1', '1', '1', 1634943839999, '1', 1, '0', '0', '0']], refused: 'binance: klines row 0: open is not a decimal string: 60685.22' },
      { body: [[1634943780000, '1']], refused: /^binance: klines row 0: not an array of at least 9 fields/ },
    ],
  },
  okx: {
    from: 0,
    to: 0,
    answers: [
      {
        docs: 'rest_rate_limit_errors',
        body: (example) => ({ ...(example as Array<{ code: string; msg: string }>)[0], data: [] }),
        refused: 'okx: candles refused: code 50011: Rate limit reached. Please refer to API documentation and throttle requests accordingly.',
      },
      { body: { code: '51001', msg: "Instrument ID doesn't exist.", data: [] }, refused: /^okx: candles refused: code 51001/ },
      { body: [], refused: /^okx: candles answer is not a \{code, msg, data\} envelope/ },
      { body: { code: '0', msg: '' }, refused: /^okx: candles answer has no data array/ },
      { body: { code: '0', data: [[1597026383085, '1', '1', '1', '1', '1', '1']] }, refused: 'okx: candles row 0: ts is not a millisecond timestamp string: 1597026383085' },
    ],
  },
  bybit: {
    from: 0,
    to: 0,
    answers: [
      { docs: 'rate_limit_error_body', refused: 'bybit: kline refused: retCode 10006: Too many visits!' },
      { body: { retCode: 10001, retMsg: 'Not supported symbols', result: {} }, refused: 'bybit: kline refused: retCode 10001: Not supported symbols' },
      { body: [], refused: /^bybit: kline answer is not a \{retCode, retMsg, result\} envelope/ },
      { body: { retCode: 0, retMsg: 'OK', result: {} }, refused: /^bybit: kline answer has no result.list array/ },
      { body: { retCode: 0, retMsg: 'OK', result: { list: [['1670601600000', '1', '1', '1', '1', '1']] } }, refused: /^bybit: kline row 0: not an array of 7 fields/ },
    ],
  },
  coinbase: {
    from: Date.UTC(2026, 5, 19),
    to: Date.UTC(2026, 5, 19, 1),
    answers: [
      { body: { message: 'NotFound' }, refused: 'coinbase: candles refused: NotFound' },
      { body: { candles: [] }, refused: /coinbase: candles answer is not an array/ },
      { body: [[1781887140, 1, 2, 3]], refused: /not a \[time, low, high, open, close, volume\] array/ },
      { body: [[1781887140.5, 1, 2, 1, 2, 3]], refused: /time is not whole seconds/ },
      { body: [[1781887140, '63234.99', 2, 1, 2, 3]], refused: /low is not a number/ },
      { body: [[1781887170, 1, 2, 1, 2, 3]], refused: /does not open on the 60 s grid/ },
    ],
  },
  kraken: {
    from: 0,
    to: 1e13,
    answers: [
      ...['EQuery:Unknown asset pair', 'EService:Unavailable', 'EService:Busy', 'EGeneral:Too many requests'].map((error) => ({ body: { error: [error] }, refused: `kraken: OHLC refused: ${error}` })),
      { body: [], refused: /kraken: OHLC answer is not \{error, result\}/ },
      { body: { error: [] }, refused: /no result object/ },
      { body: { error: [], result: { last: 1 } }, refused: /should hold one pair beside "last", has \[\]/ },
      { body: { error: [], result: { XBTUSD: [], XXBTZUSD: [], last: 1 } }, refused: /has \["XBTUSD","XXBTZUSD"\]/ },
      { body: { error: [], result: { XXBTZUSD: {}, last: 1 } }, refused: /XXBTZUSD is not an array/ },
      { body: { error: [], result: { XXBTZUSD: [[1762777020, '1', '1', '1', '1', '1', '1']], last: 1 } }, refused: /not a \[time, open, high, low, close, vwap, volume, count\] array/ },
      { body: { error: [], result: { XXBTZUSD: [[1762777020, 1, '1', '1', '1', '1', '1', 1]], last: 1 } }, refused: /open is not a decimal string/ },
      { body: { error: [], result: { XXBTZUSD: [[1762777020, '1', '1', '1', '1', '1', '1', -1]], last: 1 } }, refused: /count is not a whole number/ },
    ],
  },
  gateio: {
    from: 0,
    to: 0,
    answers: [
      { body: { label: 'INVALID_CURRENCY_PAIR', message: 'x' }, refused: /gateio: candlesticks answer is not an array/ },
      { body: [[60, '10', '2', '3', '1', '2', '5']], refused: /t is not a unix seconds string/ },
    ],
  },
  bitstamp: {
    from: 0,
    to: 0,
    answers: [
      { body: { status: 'error', reason: 'Invalid step.', code: 'API0001' }, refused: 'bitstamp: ohlc refused: API0001: "Invalid step."' },
      { body: { data: {} }, refused: /^bitstamp: ohlc answer has no data.ohlc array/ },
      { body: { data: { ohlc: [{ timestamp: 1 }] } }, refused: /^bitstamp: ohlc row 0: timestamp is not a seconds string/ },
    ],
  },
};

it('has the answers to refuse of every exchange with klines and a simulator, and of no other', () => {
  expect(Object.keys(UNTRUSTED_ANSWERS).sort()).toEqual(simulatedExchanges('klines').map((e) => e.name).sort());
});

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

  describe('answers it cannot trust, read through its klines protocol', () => {
    const { from, to, answers } = UNTRUSTED_ANSWERS[exchange.name]!;
    const query = { exchangeSymbol, interval: '1m', intervalMs: MINUTE, from, to, now: to + MINUTE };
    for (const answer of answers) {
      const shown = 'docs' in answer ? `the documented ${answer.docs}` : JSON.stringify(answer.body);
      it.skipIf('docs' in answer && NO_FIXTURES)(`refuses ${shown}, naming ${exchange.name}: ${answer.refused}`, () => {
        const body = 'docs' in answer ? (answer.body ?? ((example: unknown) => example))(JSON.parse(docsExample(exchange.name, answer.docs))) : answer.body;
        expect(() => protocol.parsePage(body, query)).toThrow(answer.refused);
        expect(() => protocol.parsePage(body, query)).toThrow(new RegExp(`^${exchange.name}\\b`));
      });
    }
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
