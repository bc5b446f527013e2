import { describe, expect, it } from 'vitest';
import { bybitKlines } from '../collectors/exchanges/bybit/klines.js';
import { startBybitSimulator, type BybitSimulatorOptions } from '../collectors/exchanges/bybit/simulator/index.js';
import { alignDown } from '../collectors/klines/open-times.js';
import type { KlinePageQuery } from '../collectors/klines/protocol.js';
import { docsExample, fixture, NO_FIXTURES } from './support/fixtures.js';
import { useSimulator } from './support/simulator-harness.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

interface Envelope {
  retCode: number;
  retMsg: string;
  result: { category?: string; symbol?: string; list?: string[][] };
  retExtInfo: Record<string, never>;
  time: number;
}

/** A page query for BTCUSDT candles. */
function query(from: number, to: number, now = to + MINUTE, interval = '1m', intervalMs = MINUTE): KlinePageQuery {
  return { exchangeSymbol: 'BTCUSDT', interval, intervalMs, from, to, now };
}

describe('Bybit klines protocol', () => {
  it.skipIf(NO_FIXTURES)('parses the recorded page (rest_kline_spot_BTCUSDT_D_2025-04-29.json) with exact values', () => {
    const body: unknown = JSON.parse(fixture('bybit', 'rest_kline_spot_BTCUSDT_D_2025-04-29.json'));
    // The turnover has more digits than a double holds: it is read as the nearest one.
    expect(bybitKlines.parsePage(body, query(1745884800000, 1745884800000, 1745919999317, '1d', DAY))).toEqual([
      { openTime: 1745884800000, open: 95009.9, high: 95461.5, low: 94206.9, close: 94851.4, volume: 3434.4692, quoteVolume: Number('325599405.76492207') },
    ]);
  });

  it.skipIf(NO_FIXTURES)('parses the docs example (rest_kline_response), newest first, into ascending candles', () => {
    const klines = bybitKlines.parsePage(JSON.parse(docsExample('bybit', 'rest_kline_response')), query(1670601600000, 1670608800000, 1672025956592, '1h', HOUR));
    expect(klines.map((k) => k.openTime)).toEqual([1670601600000, 1670605200000, 1670608800000]);
    expect(klines[0]).toEqual({ openTime: 1670601600000, open: 17086.5, high: 17088, low: 16978, close: 17071.5, volume: 6356, quoteVolume: 0.37288112 });
  });

  it('asks for [from, to] as inclusive start and end, limit = candles, at most 1000, category spot', () => {
    const T0 = 1745884800000;
    expect(bybitKlines.pageRequest(query(T0, T0 + 59 * MINUTE))).toEqual({
      path: '/v5/market/kline',
      params: { category: 'spot', symbol: 'BTCUSDT', interval: '1', start: T0, end: T0 + 59 * MINUTE, limit: 60 },
    });
    expect(bybitKlines.pageRequest(query(T0, T0 + 5000 * MINUTE)).params).toMatchObject({ end: T0 + 999 * MINUTE, limit: 1000 });
    expect(bybitKlines.pageRequest(query(T0 - 6 * DAY, T0, T0 + HOUR, '1d', DAY)).params).toMatchObject({ interval: 'D', start: T0 - 6 * DAY, end: T0, limit: 7 });
    expect(bybitKlines.intervals).toEqual({ '1m': '1', '3m': '3', '5m': '5', '15m': '15', '30m': '30', '1h': '60', '2h': '120', '4h': '240', '6h': '360', '12h': '720', '1d': 'D', '1w': 'W' });
    expect(bybitKlines.toExchangeSymbol('BTC-USDT')).toBe('BTCUSDT');
    expect(() => bybitKlines.toExchangeSymbol('BTC/USDT')).toThrow(/bybit: bad symbol/);
  });

  it('reads /v5/system/status: an ongoing spot trading or market-data maintenance is unhealthy, others are not', () => {
    const event = (state: string, serviceTypes: number[], product: number[]) => ({
      id: '4d95b2a0-587f-11f0-bcc9-56f28c94d6ea', title: 't06', state, begin: '1751596902000', end: '1751597011000', href: '', serviceTypes, product, uidSuffix: [], maintainType: 1, env: 1,
    });
    const body = (...list: unknown[]) => ({ retCode: 0, retMsg: '', result: { list }, retExtInfo: {}, time: 1751858399649 });
    expect(bybitKlines.health.request).toEqual({ path: '/v5/system/status', params: {} });
    // The docs' example: completed events only.
    expect(bybitKlines.health.parse(body(event('completed', [2, 3, 4, 5], [1, 2]), event('completed', [1, 4], [1])))).toEqual({ ok: true });
    expect(bybitKlines.health.parse(body(event('ongoing', [2, 3, 4], [2]), event('ongoing', [1, 5], [1]), event('scheduled', [5], [2])))).toEqual({ ok: true });
    expect(bybitKlines.health.parse(body(event('ongoing', [5], [2])))).toEqual({ ok: false, reason: 'maintenance: t06 until 2025-07-04T02:43:31.000Z' });
    expect(bybitKlines.health.parse(body(event('ongoing', [1], []))).ok).toBe(false);
    expect(() => bybitKlines.health.parse({ retCode: 10016, retMsg: 'Server error.', result: {} })).toThrow('bybit: system status refused: retCode 10016: Server error.');
  });
});

describe('Bybit klines simulator', () => {
  const harness = useSimulator((options: BybitSimulatorOptions) => startBybitSimulator(options));

  it('serves the latest candles newest first in the v5 envelope', async () => {
    await harness.start({ symbols: ['BTC-USDT'], tradesPerSecond: 20 });
    const now = Date.now();
    const current = alignDown(now, MINUTE);
    const latest = (await harness.getJson<Envelope>('/v5/market/kline?category=spot&symbol=BTCUSDT&interval=1&limit=3')).body;
    expect(latest).toMatchObject({ retCode: 0, retMsg: 'OK', result: { category: 'spot', symbol: 'BTCUSDT' }, retExtInfo: {} });
    const openTimes = latest.result.list!.map((row) => Number(row[0]));
    expect(openTimes[0]).toBeGreaterThanOrEqual(current);
    expect(openTimes).toEqual([openTimes[0], openTimes[0]! - MINUTE, openTimes[0]! - 2 * MINUTE]);
    // Bounds are inclusive and the newest `limit` of the range are served.
    const ranged = (await harness.getJson<Envelope>(`/v5/market/kline?category=spot&symbol=BTCUSDT&interval=60&start=${alignDown(now, HOUR) - 5 * HOUR}&end=${alignDown(now, HOUR) - HOUR}&limit=2`)).body;
    expect(ranged.result.list!.map((row) => Number(row[0]))).toEqual([alignDown(now, HOUR) - HOUR, alignDown(now, HOUR) - 2 * HOUR]);
    const weekly = (await harness.getJson<Envelope>('/v5/market/kline?category=spot&symbol=BTCUSDT&interval=W&limit=1')).body;
    expect(new Date(Number(weekly.result.list![0]![0])).getUTCDay()).toBe(1);
  });

  it('refuses bad parameters with retCode 10001 in a 200 body', async () => {
    await harness.start({ symbols: ['BTC-USDT'], tradesPerSecond: 1 });
    const cases: Array<[string, string]> = [
      ['symbol=BTCUSDT&interval=1', 'Not supported symbols'], // category defaults to linear
      ['category=spot&symbol=FOOUSDT&interval=1', 'Not supported symbols'],
      ['category=spot&symbol=BTCUSDT&interval=2', 'Invalid period!'],
      ['category=spot&symbol=BTCUSDT&interval=1&limit=1001', 'params error: limit must be in [1, 1000]'],
      ['category=futures&symbol=BTCUSDT&interval=1', 'params error: category is invalid'],
    ];
    for (const [params, retMsg] of cases) {
      const answer = await harness.getJson<Envelope>(`/v5/market/kline?${params}`);
      expect({ params, status: answer.status, retCode: answer.body.retCode, retMsg: answer.body.retMsg }).toEqual({ params, status: 200, retCode: 10001, retMsg });
    }
  });

  it('over the IP limit answers HTTP 403 "access too frequent" by default, or retCode 10006 when asked; both counted by rateLimited()', async () => {
    const sim = await harness.start({ symbols: ['BTC-USDT'], tradesPerSecond: 1, restRequestLimit: { requests: 2, windowMs: 60_000 } });
    const url = `${sim.restUrl}/v5/market/kline?category=spot&symbol=BTCUSDT&interval=1&limit=1`;
    for (let i = 0; i < 2; i++) expect((await fetch(url)).status).toBe(200);
    const refused = await fetch(url);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toBe('access too frequent');
    expect(sim.rateLimited()).toBe(1);
    await sim.close();

    const api = await harness.start({ symbols: ['BTC-USDT'], tradesPerSecond: 1, restRequestLimit: { requests: 1, windowMs: 60_000, refusal: 'retcode-10006' } });
    expect((await harness.getJson<Envelope>('/v5/market/kline?category=spot&symbol=BTCUSDT&interval=1')).body.retCode).toBe(0);
    const throttled = await harness.getJson<Envelope>('/v5/market/kline?category=spot&symbol=BTCUSDT&interval=1');
    expect(throttled.status).toBe(200);
    expect(throttled.body).toMatchObject({ retCode: 10006, retMsg: 'Too many visits!' });
    // The REST client reads it as a throttle (rest-limits.ts), not as data.
    expect(bybitKlines.limits.throttledBody?.(throttled.body)).toBeGreaterThan(0);
    expect(api.rateLimited()).toBe(1);
    expect(api.restRequests('/v5/market/kline')).toBe(2);
  });

  it('during maintenance the status lists it and kline requests get retCode 10016', async () => {
    const sim = await harness.start({ symbols: ['BTC-USDT'], tradesPerSecond: 1 });
    const status = async (query = '') => (await harness.getJson<Envelope>(`/v5/system/status${query}`)).body;
    expect(bybitKlines.health.parse(await status())).toEqual({ ok: true });
    sim.setMaintenance(true);
    const during = await status();
    expect(during.result.list).toEqual([expect.objectContaining({ state: 'ongoing', serviceTypes: [1, 5], product: [2], maintainType: 1, env: 1 })]);
    expect(bybitKlines.health.parse(during).ok).toBe(false);
    const refused = await harness.getJson<Envelope>('/v5/market/kline?category=spot&symbol=BTCUSDT&interval=1');
    expect(refused.status).toBe(200);
    expect(refused.body).toMatchObject({ retCode: 10016, retMsg: 'Server error.' });
    expect(() => bybitKlines.parsePage(refused.body, query(0, 0))).toThrow('bybit: kline refused: retCode 10016: Server error.');
    sim.setMaintenance(false);
    expect(bybitKlines.health.parse(await status())).toEqual({ ok: true });
    expect((await status('?state=completed')).result.list).toHaveLength(1);
    expect((await status('?state=ongoing')).result.list).toEqual([]);
    expect((await harness.getJson<Envelope>('/v5/market/kline?category=spot&symbol=BTCUSDT&interval=1&limit=1')).body.retCode).toBe(0);
    expect(sim.rateLimited()).toBe(0);
  });
});
