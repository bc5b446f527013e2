import { describe, expect, it } from 'vitest';
import { coinbaseKlines } from '../collectors/exchanges/coinbase/klines.js';
import { startCoinbaseSimulator, type CoinbaseSimulatorOptions } from '../collectors/exchanges/coinbase/simulator/index.js';
import type { Kline } from '../collectors/klines/kline.js';
import type { KlinePageQuery } from '../collectors/klines/protocol.js';
import { PoliteRestClient } from '../collectors/rest/rest-client.js';
import { silentLogger } from '../common/logger.js';
import { fixture, NO_FIXTURES } from './support/fixtures.js';
import { useSimulator } from './support/simulator-harness.js';

const MINUTE = 60_000;
// A budget window no test run crosses (windows are aligned to the wall clock).
const ONE_WINDOW = 1e12;

/** A page query for BTC-USD 1m candles with open times [from, to]. */
function query(from: number, to: number, interval = '1m', intervalMs = MINUTE): KlinePageQuery {
  return { exchangeSymbol: 'BTC-USD', interval, intervalMs, from, to, now: Date.now() };
}

/** Asks one page the way the poller does: pageRequest, GET, parsePage. */
async function page(http: PoliteRestClient, restUrl: string, q: KlinePageQuery): Promise<Kline[]> {
  const request = coinbaseKlines.pageRequest(q);
  return coinbaseKlines.parsePage(await http.getJson(`${restUrl}${request.path}`, request.params, new AbortController().signal), q);
}

/** Open times of consecutive candles. */
function openTimes(from: number, count: number, intervalMs = MINUTE): number[] {
  return Array.from({ length: count }, (_, i) => from + i * intervalMs);
}

describe('Coinbase klines hooks', () => {
  it.skipIf(NO_FIXTURES)('reads the recorded candles (rest_candles_BTC-USD_60s_first2rows_2026-06-19.json): low/high first, newest first → ascending', () => {
    const body: unknown = JSON.parse(fixture('coinbase', 'rest_candles_BTC-USD_60s_first2rows_2026-06-19.json'));
    const q = query(Date.UTC(2026, 5, 19, 16, 38), Date.UTC(2026, 5, 19, 16, 39));
    expect(coinbaseKlines.parsePage(body, q)).toEqual([
      { openTime: 1781887080_000, low: 63236.17, high: 63262.46, open: 63236.18, close: 63244.77, volume: 0.89694057 },
      { openTime: 1781887140_000, low: 63234.99, high: 63244.78, open: 63244.78, close: 63239.75, volume: 0.69450254 },
    ]);
  });

  it('asks /products/<id>/candles with inclusive ISO bounds, at most 300 open times per request', () => {
    const from = Date.UTC(2026, 5, 19, 0, 0);
    expect(coinbaseKlines.pageRequest(query(from, from + 299 * MINUTE))).toEqual({
      path: '/products/BTC-USD/candles',
      params: { granularity: 60, start: '2026-06-19T00:00:00.000Z', end: '2026-06-19T04:59:00.000Z' },
    });
    // A longer page is cut to the 300 Coinbase serves rather than refused.
    expect(coinbaseKlines.pageRequest(query(from, from + 400 * MINUTE)).params.end).toBe('2026-06-19T04:59:00.000Z');
    const day = 86_400_000;
    expect(coinbaseKlines.pageRequest(query(from, from + 9 * day, '1d', day)).params).toEqual({ granularity: 86400, start: '2026-06-19T00:00:00.000Z', end: '2026-06-28T00:00:00.000Z' });
  });

  it.skipIf(NO_FIXTURES)('knows the documented granularities and the page size (docs_examples_protocol.json), no optional fields', () => {
    const docs = JSON.parse(fixture('coinbase', 'docs_examples_protocol.json')) as { candles_granularity_seconds: number[]; candles_max_per_request: number };
    expect(Object.values(coinbaseKlines.intervals).map(Number)).toEqual(docs.candles_granularity_seconds);
    expect(Object.keys(coinbaseKlines.intervals)).toEqual(['1m', '5m', '15m', '1h', '6h', '1d']);
    expect(coinbaseKlines.maxPerRequest).toBe(docs.candles_max_per_request);
    expect(coinbaseKlines.maxHistoryCandles).toBeUndefined();
    expect(coinbaseKlines.optionalFields).toEqual([]);
  });

  it('spells products the unified way and refuses malformed symbols', () => {
    expect(coinbaseKlines.toExchangeSymbol('BTC-USD')).toBe('BTC-USD');
    expect(() => coinbaseKlines.toExchangeSymbol('btc-usd')).toThrow(/coinbase: bad symbol "btc-usd"/);
    expect(() => coinbaseKlines.toExchangeSymbol('BTCUSD')).toThrow(/BASE-QUOTE/);
  });

  // The answers it refuses are in test/conformance/klines.test.ts.
  it('reads an empty answer as no candles (Coinbase publishes none for minutes without trades)', () => {
    expect(coinbaseKlines.parsePage([], query(Date.UTC(2026, 5, 19), Date.UTC(2026, 5, 19, 1)))).toEqual([]);
  });

  it.skipIf(NO_FIXTURES)('reads /time (rest_time_2026-06-19.json) as reachable; anything else is an error', () => {
    expect(coinbaseKlines.health.request).toEqual({ path: '/time', params: {} });
    expect(coinbaseKlines.health.parse(JSON.parse(fixture('coinbase', 'rest_time_2026-06-19.json')))).toEqual({ ok: true });
    expect(() => coinbaseKlines.health.parse({ message: 'Service Unavailable' })).toThrow(/coinbase: \/time answer is not \{iso, epoch\}/);
  });
});

describe('Coinbase candles simulator', () => {
  const harness = useSimulator((options: CoinbaseSimulatorOptions) => startCoinbaseSimulator(options));

  it('pages 300 candles per request, newest first on the wire, contiguous when nothing is missing', async () => {
    const sim = await harness.start({ symbols: ['BTC-USD', 'ETH-USD'], tradesPerSecond: 20 });
    const http = new PoliteRestClient({ label: 'coinbase', logger: silentLogger, limits: coinbaseKlines.limits });
    // Two days back: the synthetic history, where every minute traded.
    const from = Math.floor((Date.now() - 2 * 86_400_000) / MINUTE) * MINUTE;
    const first = await page(http, sim.restUrl, query(from, from + 299 * MINUTE));
    const second = await page(http, sim.restUrl, query(from + 300 * MINUTE, from + 599 * MINUTE));
    expect([...first, ...second].map((k) => k.openTime)).toEqual(openTimes(from, 600));
    for (const k of [...first, ...second]) {
      expect(k.low).toBeLessThanOrEqual(Math.min(k.open, k.close));
      expect(k.high).toBeGreaterThanOrEqual(Math.max(k.open, k.close));
      expect(k.volume).toBeGreaterThan(0);
    }
    const raw = await harness.getJson<number[][]>(`/products/BTC-USD/candles?granularity=60&start=${new Date(from).toISOString()}&end=${new Date(from + 2 * MINUTE).toISOString()}`);
    expect(raw.body.map((row) => row[0])).toEqual([from + 2 * MINUTE, from + MINUTE, from].map((t) => t / 1000));
    // The same history answers the same numbers; another product has its own.
    expect((await page(http, sim.restUrl, query(from, from + 2 * MINUTE)))).toEqual(first.slice(0, 3));
    const eth = await page(http, sim.restUrl, { ...query(from, from + 2 * MINUTE), exchangeSymbol: 'ETH-USD' });
    expect(eth.map((k) => k.close)).not.toEqual(first.slice(0, 3).map((k) => k.close));
    // 5-minute candles open on the 5-minute grid.
    const from5 = Math.floor(from / (5 * MINUTE)) * 5 * MINUTE;
    const five = await page(http, sim.restUrl, query(from5, from5 + 11 * 5 * MINUTE, '5m', 5 * MINUTE));
    expect(five.map((k) => k.openTime)).toEqual(openTimes(from5, 12, 5 * MINUTE));
  });

  it('builds candles from the generated trades once started, leaving out minutes without trades', async () => {
    const sim = await harness.start({ symbols: ['BTC-USD'], tradesPerSecond: 200 });
    await new Promise((resolve) => setTimeout(resolve, 150));
    sim.pause();
    const trades = sim.generatedTrades('BTC-USD');
    const minutes = [...new Set(trades.map((t) => Math.floor(t.time / MINUTE) * MINUTE))];
    const http = new PoliteRestClient({ label: 'coinbase', logger: silentLogger, limits: coinbaseKlines.limits });
    const got = await page(http, sim.restUrl, query(minutes[0]! - 10 * MINUTE, minutes.at(-1)!));
    // Every minute before the start traded (synthetic); from the start, only minutes with generated trades exist.
    for (const minute of minutes) {
      const inMinute = trades.filter((t) => Math.floor(t.time / MINUTE) * MINUTE === minute);
      const prices = inMinute.map((t) => Number(t.price));
      expect(got.find((k) => k.openTime === minute)).toEqual({
        openTime: minute, open: prices[0], close: prices.at(-1), high: Math.max(...prices), low: Math.min(...prices),
        volume: expect.closeTo(inMinute.reduce((sum, t) => sum + Number(t.amount), 0), 7),
      });
    }
  });

  it('serves no candle for a minute without trades (Coinbase publishes none)', async () => {
    // No trades at all: minutes from the start have none; the synthetic ones before it all traded.
    const sim = await harness.start({ symbols: ['BTC-USD'], tradesPerSecond: 0 });
    const current = Math.floor(Date.now() / MINUTE) * MINUTE;
    const http = new PoliteRestClient({ label: 'coinbase', logger: silentLogger });
    const got = (await page(http, sim.restUrl, query(current - 5 * MINUTE, current))).map((k) => k.openTime);
    expect(got).not.toContain(current);
    expect(got.length).toBeGreaterThanOrEqual(4);
    expect(got).toEqual(openTimes(current - 5 * MINUTE, got.length));
  });

  it('refuses what Coinbase refuses: > 300 candles, other granularities, unknown products', async () => {
    await harness.start({ symbols: ['BTC-USD'], tradesPerSecond: 10 });
    const from = Date.UTC(2026, 0, 1);
    const range = (candles: number) => `start=${new Date(from).toISOString()}&end=${new Date(from + (candles - 1) * MINUTE).toISOString()}`;
    expect((await harness.getJson<unknown[]>(`/products/BTC-USD/candles?granularity=60&${range(300)}`)).body).toHaveLength(300);
    expect(await harness.getJson(`/products/BTC-USD/candles?granularity=60&${range(301)}`)).toEqual({
      status: 400, body: { message: 'granularity too small for the requested time range. Count of aggregations requested exceeds 300' },
    });
    expect(await harness.getJson(`/products/BTC-USD/candles?granularity=120&${range(10)}`)).toEqual({ status: 400, body: { message: 'Unsupported granularity' } });
    expect(await harness.getJson(`/products/BTC-USD/candles?granularity=60&start=yesterday&end=now`)).toEqual({ status: 400, body: { message: 'Invalid start' } });
    expect(await harness.getJson(`/products/FOO-USD/candles?granularity=60&${range(10)}`)).toEqual({ status: 404, body: { message: 'NotFound' } });
    // Without a range: the 300 up to now, newest first, ending with the open candle.
    const recent = await harness.getJson<number[][]>('/products/BTC-USD/candles?granularity=60');
    expect(recent.body.length).toBeGreaterThan(290);
    expect(recent.body[0]![0]).toBeGreaterThan(recent.body.at(-1)![0]!);
    // A 4xx reaches the poller as a RestError naming the answer.
    const http = new PoliteRestClient({ label: 'coinbase', logger: silentLogger });
    await expect(page(http, harness.current().restUrl, { ...query(from, from + MINUTE), exchangeSymbol: 'FOO-USD' })).rejects.toThrow(/HTTP 404 \{"message":"NotFound"\}/);
  });

  it('answers 429 {"message":"Public rate limit exceeded"} over the budget, counted by rateLimited()', async () => {
    const sim = await harness.start({ symbols: ['BTC-USD'], tradesPerSecond: 10, restRequestLimit: { requests: 3, windowMs: ONE_WINDOW } });
    const path = `/products/BTC-USD/candles?granularity=60&start=2026-01-01T00:00:00Z&end=2026-01-01T00:09:00Z`;
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await harness.getJson(path)).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(await harness.getJson(path)).toEqual({ status: 429, body: { message: 'Public rate limit exceeded' } });
    expect(sim.rateLimited()).toBe(3);
    expect(sim.restRequests('/products/BTC-USD/candles')).toBe(6);
    await harness.getJson('/time');
    expect(sim.restRequests()).toBe(7);
  });

  it('answers 503 everywhere during maintenance, /time included, and recovers after', async () => {
    const sim = await harness.start({ symbols: ['BTC-USD'], tradesPerSecond: 10 });
    const candles = '/products/BTC-USD/candles?granularity=60&start=2026-01-01T00:00:00Z&end=2026-01-01T00:09:00Z';
    sim.setMaintenance(true);
    expect(await harness.getJson(candles)).toEqual({ status: 503, body: { message: 'Service Unavailable' } });
    expect((await harness.getJson('/time')).status).toBe(503);
    expect((await harness.getJson('/products/BTC-USD/trades')).status).toBe(503);
    sim.setMaintenance(false);
    const time = await harness.getJson(coinbaseKlines.health.request.path);
    expect(coinbaseKlines.health.parse(time.body)).toEqual({ ok: true });
    expect((await harness.getJson<unknown[]>(candles)).body).toHaveLength(10);
    // Maintenance refusals are not rate-limit refusals.
    expect(sim.rateLimited()).toBe(0);
  });
});
