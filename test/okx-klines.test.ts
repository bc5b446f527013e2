import { describe, expect, it } from 'vitest';
import { okxKlines } from '../collectors/exchanges/okx/klines.js';
import { startOkxSimulator, type OkxSimulatorOptions } from '../collectors/exchanges/okx/simulator/index.js';
import { KlineHistory } from '../collectors/klines/kline-history.js';
import { alignDown, pages } from '../collectors/klines/open-times.js';
import type { KlinePageQuery } from '../collectors/klines/protocol.js';
import { PoliteRestClient } from '../collectors/rest/rest-client.js';
import { silentLogger } from '../common/logger.js';
import { MemoryStorage } from '../storage/memory.js';
import { docsExample, fixture, NO_FIXTURES } from './support/fixtures.js';
import { useSimulator } from './support/simulator-harness.js';

const MINUTE = 60_000;
const DAY = 86_400_000;
const T0 = 1747093980000; // 2025-05-12T23:53:00Z, the fixture's older candle

interface Envelope {
  code: string;
  msg: string;
  data: string[][];
}

/** A page query for BTC-USDT candles. */
function query(from: number, to: number, now = to + MINUTE, interval = '1m', intervalMs = MINUTE): KlinePageQuery {
  return { exchangeSymbol: 'BTC-USDT', interval, intervalMs, from, to, now };
}

describe('OKX klines protocol', () => {
  it.skipIf(NO_FIXTURES)('parses the recorded page (rest_candles_BTC-USDT_full_2025-05-13.json), newest first, into ascending candles', () => {
    const body: unknown = JSON.parse(fixture('okx', 'rest_candles_BTC-USDT_full_2025-05-13.json'));
    // vol is read as base volume and volCcyQuote as quote volume, as the docs define them for SPOT.
    // (This recording's vol/volCcy = 100 looks like a swap's contracts; the mapping is the docs'.)
    expect(okxKlines.parsePage(body, query(T0, T0 + MINUTE))).toEqual([
      { openTime: 1747093980000, open: 102806, high: 102820.5, low: 102783.1, close: 102806.1, volume: 7164.04, quoteVolume: 7364701.57952 },
      { openTime: 1747094040000, open: 102806.1, high: 102820.4, low: 102806.1, close: 102820.4, volume: 1040.37, quoteVolume: 1069603.34883 },
    ]);
  });

  it.skipIf(NO_FIXTURES)('parses the docs example (rest_candles_response) and rows from before volCcyQuote existed', () => {
    const klines = okxKlines.parsePage(JSON.parse(docsExample('okx', 'rest_candles_response')), query(0, 0));
    expect(klines).toEqual([
      { openTime: 1597026383085, open: 3.721, high: 3.743, low: 3.677, close: 3.708, volume: 8422410, quoteVolume: 12698348.04828491 },
      { openTime: 1597026383085, open: 3.731, high: 3.799, low: 3.494, close: 3.72, volume: 24912403, quoteVolume: 37632347.24399722 },
    ]);
    const old = { code: '0', msg: '', data: [['1597026383085', '1', '2', '0.5', '1.5', '10', '15']] };
    expect(okxKlines.parsePage(old, query(0, 0))[0]!.quoteVolume).toBe(15);
  });

  it('asks candles for recent pages and history-candles for older ones, bounded by exclusive after/before, 100 a page', () => {
    const now = T0 + 30 * MINUTE + 12_345;
    expect(okxKlines.pageRequest(query(T0, T0 + 29 * MINUTE, now))).toEqual({
      path: '/api/v5/market/candles',
      params: { instId: 'BTC-USDT', bar: '1m', after: String(T0 + 29 * MINUTE + 1), before: String(T0 - 1), limit: '30' },
      weight: 0.5,
    });
    // Older than the recent window (1440 candles, less a margin of 40): history-candles, weight 1.
    const edge = now - 1400 * MINUTE;
    expect(okxKlines.pageRequest(query(edge + 1, edge + 1, now))).toMatchObject({ path: '/api/v5/market/candles' });
    expect(okxKlines.pageRequest(query(edge, edge + 99 * MINUTE, now))).toEqual({
      path: '/api/v5/market/history-candles',
      params: { instId: 'BTC-USDT', bar: '1m', after: String(edge + 99 * MINUTE + 1), before: String(edge - 1), limit: '100' },
      weight: 1,
    });
    // A range longer than a page is cut to 100 candles.
    expect(okxKlines.pageRequest(query(T0, T0 + 500 * MINUTE, now)).params).toMatchObject({ after: String(T0 + 99 * MINUTE + 1), limit: '100' });
    const day = alignDown(T0, DAY);
    expect(okxKlines.pageRequest(query(day - 9 * DAY, day, day + 3_600_000, '1d', DAY))).toMatchObject({
      path: '/api/v5/market/candles',
      params: { bar: '1Dutc', after: String(day + 1), before: String(day - 9 * DAY - 1), limit: '10' },
    });
    expect(okxKlines.intervals).toMatchObject({ '1h': '1H', '4h': '4H', '6h': '6Hutc', '12h': '12Hutc', '1d': '1Dutc', '1w': '1Wutc' });
    expect(okxKlines.toExchangeSymbol('BTC-USDT')).toBe('BTC-USDT');
    expect(() => okxKlines.toExchangeSymbol('BTCUSDT')).toThrow(/okx: bad symbol/);
  });

  it('reads /api/v5/system/status: an ongoing WebSocket or Trading service maintenance is unhealthy, others are not', () => {
    const event = (serviceType: string, state: string) => ({
      begin: '1672823400000', end: '1672823520000', href: '', preOpenBegin: '', scheDesc: '', serviceType, state, maintType: '1', env: '1', system: 'unified', title: 'Trading account system upgrade',
    });
    expect(okxKlines.health.request).toEqual({ path: '/api/v5/system/status', params: {} });
    expect(okxKlines.health.parse({ code: '0', data: [], msg: '' })).toEqual({ ok: true });
    // The docs' example: a completed upgrade in batches of accounts.
    expect(okxKlines.health.parse({ code: '0', data: [event('8', 'completed')], msg: '' })).toEqual({ ok: true });
    expect(okxKlines.health.parse({ code: '0', data: [event('5', 'scheduled'), event('7', 'ongoing')], msg: '' })).toEqual({ ok: true });
    expect(okxKlines.health.parse({ code: '0', data: [event('5', 'ongoing')], msg: '' })).toEqual({
      ok: false, reason: 'maintenance: Trading account system upgrade (serviceType 5) until 2023-01-04T09:12:00.000Z',
    });
    expect(okxKlines.health.parse({ code: '0', data: [event('0', 'ongoing')], msg: '' }).ok).toBe(false);
    expect(() => okxKlines.health.parse({ code: '50011', msg: 'Too Many Requests', data: [] })).toThrow('okx: system status refused: code 50011: Too Many Requests');
  });
});

describe('OKX klines simulator', () => {
  const harness = useSimulator((options: OkxSimulatorOptions) => startOkxSimulator(options));

  it('pages a range across history-candles and candles through the protocol: every open time once, ascending', async () => {
    const sim = await harness.start({ symbols: ['BTC-USDT'], tradesPerSecond: 20 });
    const http = new PoliteRestClient({ label: 'okx', logger: silentLogger, limits: okxKlines.limits, maxAttempts: 1 });
    const now = Date.now();
    const current = alignDown(now, MINUTE);
    const from = current - 1599 * MINUTE;
    const got: number[] = [];
    for (const page of pages([{ from, to: current }], MINUTE, okxKlines.maxPerRequest)) {
      const q = query(page.from, page.to, now);
      const request = okxKlines.pageRequest(q);
      got.push(...okxKlines.parsePage(await http.getJson(`${sim.restUrl}${request.path}`, request.params, new AbortController().signal), q).map((k) => k.openTime));
    }
    expect(got).toEqual(Array.from({ length: 1600 }, (_, i) => from + i * MINUTE));
    // Pages starting 1400 candles back or more go to history-candles: the first two of sixteen.
    expect(sim.restRequests('/api/v5/market/history-candles')).toBe(2);
    expect(sim.restRequests('/api/v5/market/candles')).toBe(14);
  });

  it('serves candles newest first: the recent 1440 only on candles, limits capped at 300 and 100, confirm 0 on the open one', async () => {
    await harness.start({ symbols: ['BTC-USDT'], tradesPerSecond: 20 });
    const current = alignDown(Date.now(), MINUTE);
    const latest = (await harness.getJson<Envelope>('/api/v5/market/candles?instId=BTC-USDT&bar=1m&limit=3')).body;
    expect(latest.code).toBe('0');
    expect(Number(latest.data[0]![0])).toBeGreaterThanOrEqual(current);
    expect(latest.data[0]![8]).toBe('0');
    expect(latest.data[1]![8]).toBe('1');
    expect(Number(latest.data[0]![0]) - Number(latest.data[1]![0])).toBe(MINUTE);
    expect(latest.data[1]![6]).toBe(latest.data[1]![7]);
    const old = `after=${current - 1500 * MINUTE}`;
    expect((await harness.getJson<Envelope>(`/api/v5/market/candles?instId=BTC-USDT&${old}`)).body.data).toEqual([]);
    const history = (await harness.getJson<Envelope>(`/api/v5/market/history-candles?instId=BTC-USDT&${old}&limit=300`)).body.data;
    expect(history).toHaveLength(100);
    expect(Number(history[0]![0])).toBe(current - 1501 * MINUTE);
    expect((await harness.getJson<Envelope>('/api/v5/market/candles?instId=BTC-USDT&limit=500')).body.data).toHaveLength(300);
    // before alone: the latest ones newer than it.
    const newer = (await harness.getJson<Envelope>(`/api/v5/market/candles?instId=BTC-USDT&before=${current - 3 * MINUTE}`)).body.data;
    const newest = Number(newer[0]![0]);
    expect(newer.map((row) => Number(row[0]))).toEqual(Array.from({ length: (newest - current) / MINUTE + 3 }, (_, i) => newest - i * MINUTE));
    expect(newer.at(-1)![0]).toBe(String(current - 2 * MINUTE));
    // Weekly candles open on Monday 00:00 UTC.
    const weekly = (await harness.getJson<Envelope>('/api/v5/market/history-candles?instId=BTC-USDT&bar=1Wutc&limit=2')).body.data;
    expect(weekly.map((row) => new Date(Number(row[0])).toISOString().slice(10))).toEqual(['T00:00:00.000Z', 'T00:00:00.000Z']);
    expect(weekly.map((row) => new Date(Number(row[0])).getUTCDay())).toEqual([1, 1]);
    expect(Number(weekly[0]![0]) - Number(weekly[1]![0])).toBe(7 * DAY);
  });

  it('refuses bad parameters with OKX error codes and statuses', async () => {
    await harness.start({ symbols: ['BTC-USDT'], tradesPerSecond: 1 });
    const cases: Array<[string, number, string, string]> = [
      ['bar=1m', 400, '50014', 'Parameter instId can not be empty.'],
      ['instId=FOO-USDT', 200, '51001', "Instrument ID, Instrument ID code or Spread ID doesn't exist."],
      ['instId=BTC-USDT&bar=1h', 400, '51000', 'Parameter bar error'],
      ['instId=BTC-USDT&bar=1D', 400, '51000', 'Parameter bar error'],
      ['instId=BTC-USDT&limit=0', 400, '51000', 'Parameter limit error'],
      ['instId=BTC-USDT&after=yesterday', 400, '51000', 'Parameter after error'],
      ['instId=BTC-USDT&before=-1', 400, '51000', 'Parameter before error'],
    ];
    for (const [params, status, code, msg] of cases) {
      const answer = await harness.getJson(`/api/v5/market/history-candles?${params}`);
      expect({ params, status: answer.status, body: answer.body }).toEqual({ params, status, body: { code, msg, data: [] } });
    }
  });

  it('a KlineHistory fill across both endpoints stores what is served and records the permanent holes as missing', async () => {
    const sim = await harness.start({ symbols: ['BTC-USDT'], tradesPerSecond: 1, klineHoles: { permanentEvery: 10, transientEvery: 3 } });
    const http = new PoliteRestClient({ label: 'okx', logger: silentLogger, limits: okxKlines.limits });
    const history = new KlineHistory({ protocol: okxKlines, symbol: 'BTC-USDT', interval: '1m', restUrl: sim.restUrl, http, logger: silentLogger });
    const storage = new MemoryStorage();
    await history.declare(storage);
    const to = alignDown(Date.now(), MINUTE) - 30 * MINUTE;
    const from = to - 1499 * MINUTE;
    const result = await history.fill(storage, { from, to }, new AbortController().signal);
    const holes = Array.from({ length: 1500 }, (_, i) => from + i * MINUTE).filter((t) => (t / MINUTE) % 10 === 0);
    expect(result.recordedMissing).toBe(holes.length);
    expect((await storage.fetch(history.key, from, to)).length).toBe(1500 - holes.length);
    expect(sim.restRequests('/api/v5/market/history-candles')).toBeGreaterThan(0);
    expect(sim.restRequests('/api/v5/market/candles')).toBeGreaterThan(0);
    expect(sim.rateLimited()).toBe(0);
  });

  it('answers HTTP 429 code 50011 over each endpoint\'s budget, counted by rateLimited()', async () => {
    const sim = await harness.start({ symbols: ['BTC-USDT'], tradesPerSecond: 1, restRequestLimit: { requests: 2, windowMs: 60_000 } });
    for (const path of ['/api/v5/market/candles', '/api/v5/market/history-candles']) {
      for (let i = 0; i < 2; i++) expect((await harness.getJson(`${path}?instId=BTC-USDT&limit=1`)).status).toBe(200);
      expect(await harness.getJson(`${path}?instId=BTC-USDT&limit=1`)).toEqual({ status: 429, body: { code: '50011', msg: 'Too Many Requests', data: [] } });
    }
    expect(sim.rateLimited()).toBe(2);
    expect(sim.restRequests('/api/v5/market/candles')).toBe(3);
    expect(sim.restRequests()).toBe(6);
  });

  it('during maintenance the status lists it and market data is refused with 503 code 50001', async () => {
    const sim = await harness.start({ symbols: ['BTC-USDT'], tradesPerSecond: 1 });
    const status = async (query = '') => (await harness.getJson<{ code: string; data: Array<Record<string, string>> }>(`/api/v5/system/status${query}`)).body;
    expect(await status()).toEqual({ code: '0', data: [], msg: '' });
    expect(okxKlines.health.parse(await status())).toEqual({ ok: true });
    sim.setMaintenance(true);
    const during = await status();
    expect(during.data).toHaveLength(1);
    expect(during.data[0]).toMatchObject({ serviceType: '5', state: 'ongoing', env: '1' });
    expect(okxKlines.health.parse(during).ok).toBe(false);
    const refused = { status: 503, body: { code: '50001', msg: 'Service temporarily unavailable. Please try again later.', data: [] } };
    expect(await harness.getJson('/api/v5/market/candles?instId=BTC-USDT')).toEqual(refused);
    expect(await harness.getJson('/api/v5/market/history-candles?instId=BTC-USDT')).toEqual(refused);
    expect(await harness.getJson('/api/v5/market/history-trades?instId=BTC-USDT')).toEqual(refused);
    sim.setMaintenance(false);
    expect(await status()).toEqual({ code: '0', data: [], msg: '' });
    expect((await status('?state=completed')).data).toEqual([expect.objectContaining({ state: 'completed' })]);
    expect((await harness.getJson('/api/v5/system/status?state=done')).body).toEqual({ code: '51000', msg: 'Parameter state error', data: [] });
    expect((await harness.getJson<Envelope>('/api/v5/market/candles?instId=BTC-USDT&limit=1')).body.code).toBe('0');
  });
});
