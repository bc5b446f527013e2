import { describe, expect, it } from 'vitest';
import { binanceKlines } from '../collectors/exchanges/binance/klines.js';
import { startBinanceSimulator, type BinanceSimulatorOptions } from '../collectors/exchanges/binance/simulator/index.js';
import { alignDown } from '../collectors/klines/open-times.js';
import type { KlinePageQuery } from '../collectors/klines/protocol.js';
import { docsExample, fixture, NO_FIXTURES } from './support/fixtures.js';
import { useSimulator } from './support/simulator-harness.js';

const MINUTE = 60_000;
const T0 = 1634943780000; // 2021-10-22T23:03:00Z, the fixture's first candle

/** A page query for BTCUSDT 1m candles. */
function query(from: number, to: number, now = to + MINUTE, interval = '1m', intervalMs = MINUTE): KlinePageQuery {
  return { exchangeSymbol: 'BTCUSDT', interval, intervalMs, from, to, now };
}

describe('Binance klines protocol', () => {
  it.skipIf(NO_FIXTURES)('parses the recorded page (rest_klines_BTCUSDT_1m_2021-10-22.json) with exact values, ascending', () => {
    const body: unknown = JSON.parse(fixture('binance', 'rest_klines_BTCUSDT_1m_2021-10-22.json'));
    const klines = binanceKlines.parsePage(body, query(T0, T0 + 9 * MINUTE));
    expect(klines).toHaveLength(10);
    expect(klines[0]).toEqual({ openTime: 1634943780000, open: 60685.22, high: 60729.84, low: 60670.9, close: 60719.27, volume: 21.63272, quoteVolume: 1313200.0134041, trades: 617 });
    expect(klines[9]).toEqual({ openTime: 1634944320000, open: 60739.85, high: 60739.85, low: 60739.85, close: 60739.85, volume: 0.04734, quoteVolume: 2875.424499, trades: 7 });
    expect(klines.map((k) => k.openTime)).toEqual(Array.from({ length: 10 }, (_, i) => T0 + i * MINUTE));
    // Whatever order the rows come in, the page is ascending.
    const shuffled = [...(body as unknown[])].reverse();
    expect(binanceKlines.parsePage(shuffled, query(T0, T0 + 9 * MINUTE)).map((k) => k.openTime)).toEqual(klines.map((k) => k.openTime));
  });

  it('asks for [from, to] as startTime, endTime = close of the last candle, limit = candles; at most 1000', () => {
    expect(binanceKlines.pageRequest(query(T0, T0 + 59 * MINUTE))).toEqual({
      path: '/api/v3/klines',
      params: { symbol: 'BTCUSDT', interval: '1m', startTime: T0, endTime: T0 + 60 * MINUTE - 1, limit: 60 },
      weight: 2,
    });
    expect(binanceKlines.pageRequest(query(T0, T0)).params).toMatchObject({ startTime: T0, endTime: T0 + MINUTE - 1, limit: 1 });
    // A longer range than one page is cut to 1000 candles.
    expect(binanceKlines.pageRequest(query(T0, T0 + 5000 * MINUTE)).params).toMatchObject({ endTime: T0 + 1000 * MINUTE - 1, limit: 1000 });
    const H = 3_600_000;
    expect(binanceKlines.pageRequest(query(T0 - 3 * MINUTE, T0 - 3 * MINUTE + 23 * 4 * H, 0, '4h', 4 * H)).params).toMatchObject({ interval: '4h', limit: 24 });
    expect(Object.keys(binanceKlines.intervals)).toEqual(['1s', '1m', '3m', '5m', '15m', '30m', '1h', '2h', '4h', '6h', '8h', '12h', '1d', '1w']);
    expect(binanceKlines.toExchangeSymbol('BTC-USDT')).toBe('BTCUSDT');
    expect(() => binanceKlines.toExchangeSymbol('btcusdt')).toThrow(/binance: bad symbol/);
    expect(binanceKlines.maxPerRequest).toBe(1000);
    expect(binanceKlines.optionalFields).toEqual(['quote_volume', 'trades']);
  });

  it.skipIf(NO_FIXTURES)('reads /sapi/v1/system/status: 0 normal is healthy, 1 system_maintenance is not', () => {
    expect(binanceKlines.health.request).toEqual({ path: '/sapi/v1/system/status', params: {}, weight: 1 });
    expect(binanceKlines.health.parse({ status: 0, msg: 'normal' })).toEqual({ ok: true });
    expect(binanceKlines.health.parse({ status: 1, msg: 'system_maintenance' })).toEqual({ ok: false, reason: 'system maintenance (status 1: system_maintenance)' });
    expect(() => binanceKlines.health.parse(JSON.parse(docsExample('binance', 'rest_ping_response')))).toThrow(/binance: system status answer is not/);
  });
});

describe('Binance klines simulator', () => {
  const harness = useSimulator((options: BinanceSimulatorOptions) => startBinanceSimulator(options));

  it('serves the most recent candles without startTime, the last one open, never one not yet started, and counts klines weight', async () => {
    const sim = await harness.start({ symbols: ['BTC-USDT'], tradesPerSecond: 50 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const now = Date.now();
    const current = alignDown(now, MINUTE);

    // Without startTime: the most recent candles, the last one still open; never one that has not started.
    const recent = await harness.getJson<unknown[][]>(`/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=3`);
    expect(recent.status).toBe(200);
    const last = recent.body.at(-1)!;
    expect(last[0]).toBe(alignDown(Date.now(), MINUTE));
    expect(last[6]).toBe((last[0] as number) + MINUTE - 1);
    const future = await harness.getJson<unknown[][]>(`/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=${current}&endTime=${current + 3_600_000}`);
    expect(future.body.length).toBeLessThanOrEqual(2);
    const res = await fetch(`${sim.restUrl}/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1`);
    expect(Number(res.headers.get('x-mbx-used-weight-1m'))).toBeGreaterThanOrEqual(2);
  });

  it('builds candles from the trades it generated since it started', async () => {
    const sim = await harness.start({ symbols: ['BTC-USDT'], tradesPerSecond: 200 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    sim.pause();
    const trades = sim.generatedTrades('BTC-USDT');
    const minute = alignDown(trades[0]!.time, MINUTE);
    const inMinute = trades.filter((t) => alignDown(t.time, MINUTE) === minute);
    const [row] = (await harness.getJson<unknown[][]>(`/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=${minute}&limit=1`)).body;
    expect(row![0]).toBe(minute);
    expect(Number(row![1])).toBe(Number(inMinute[0]!.price));
    expect(Number(row![4])).toBe(Number(inMinute.at(-1)!.price));
    expect(row![8]).toBe(inMinute.length);
    expect(Number(row![5])).toBeCloseTo(inMinute.reduce((sum, t) => sum + Number(t.amount), 0), 8);
  });

  it('refuses bad parameters with Binance error codes', async () => {
    await harness.start({ symbols: ['BTC-USDT'], tradesPerSecond: 1 });
    const cases: Array<[string, number, string]> = [
      ['interval=1m', -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."],
      ['symbol=BTCUSDT', -1102, "Mandatory parameter 'interval' was not sent, was empty/null, or malformed."],
      ['symbol=FOOUSDT&interval=1m', -1121, 'Invalid symbol.'],
      ['symbol=BTCUSDT&interval=2m', -1120, 'Invalid interval.'],
      ['symbol=BTCUSDT&interval=1m&limit=1001', -1130, "Data sent for parameter 'limit' is not valid."],
      ['symbol=BTCUSDT&interval=1m&limit=0', -1130, "Data sent for parameter 'limit' is not valid."],
      ['symbol=BTCUSDT&interval=1m&startTime=abc', -1100, "Illegal characters found in parameter 'startTime'; legal range is '^[0-9]{1,20}$'."],
    ];
    for (const [params, code, msg] of cases) {
      const answer = await harness.getJson(`/api/v3/klines?${params}`);
      expect({ params, status: answer.status, body: answer.body }).toEqual({ params, status: 400, body: { code, msg } });
    }
  });

  it('answers 429 with Retry-After and -1003 over the weight budget (klines weigh 2), counted by rateLimited()', async () => {
    const sim = await harness.start({ symbols: ['BTC-USDT'], tradesPerSecond: 1, restWeightLimit: { weight: 6, windowMs: 60_000 } });
    for (let i = 0; i < 3; i++) expect((await harness.getJson(`/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1`)).status).toBe(200);
    const res = await fetch(`${sim.restUrl}/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1`);
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await res.json()).toEqual({ code: -1003, msg: 'Too much request weight used; current limit is 6 request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.' });
    expect(sim.rateLimited()).toBe(1);
    expect(sim.restRequests('/api/v3/klines')).toBe(4);
    expect(sim.restRequests()).toBe(4);
  });

  it('during maintenance the status says so and market data is refused with 503', async () => {
    const sim = await harness.start({ symbols: ['BTC-USDT'], tradesPerSecond: 1 });
    const status = async () => binanceKlines.health.parse((await harness.getJson('/sapi/v1/system/status')).body);
    expect(await status()).toEqual({ ok: true });
    sim.setMaintenance(true);
    expect((await harness.getJson('/sapi/v1/system/status')).body).toEqual({ status: 1, msg: 'system_maintenance' });
    expect((await status()).ok).toBe(false);
    expect(await harness.getJson('/api/v3/klines?symbol=BTCUSDT&interval=1m')).toEqual({ status: 503, body: { code: 1, msg: 'System is under maintenance.' } });
    expect((await harness.getJson('/api/v3/historicalTrades?symbol=BTCUSDT')).status).toBe(503);
    sim.setMaintenance(false);
    expect(await status()).toEqual({ ok: true });
    expect((await harness.getJson('/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=2')).status).toBe(200);
    expect(sim.rateLimited()).toBe(0);
  });
});
