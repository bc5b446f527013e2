import { describe, expect, it } from 'vitest';
import { bitstampKlines } from '../collectors/exchanges/bitstamp/klines.js';
import { startBitstampSimulator, type BitstampSimulatorOptions } from '../collectors/exchanges/bitstamp/simulator/index.js';
import type { KlinePageQuery } from '../collectors/klines/protocol.js';
import { fixture, NO_FIXTURES } from './support/fixtures.js';
import { useSimulator } from './support/simulator-harness.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;

interface Ohlc {
  data: { pair: string; ohlc: Array<Record<string, string>> };
}

function query(from: number, to: number, interval = '1m', intervalMs = MINUTE): KlinePageQuery {
  return { exchangeSymbol: 'btcusd', interval, intervalMs, from, to, now: to + intervalMs };
}

describe('Bitstamp klines protocol', () => {
  it.skipIf(NO_FIXTURES)('parses the recorded pages with exact values, oldest first', () => {
    const gct: unknown = JSON.parse(fixture('bitstamp', 'rest_ohlc_btcusd_step60_limit10_2019-12-31_gct.json'));
    const klines = bitstampKlines.parsePage(gct, query(1577836200000, 1577836740000));
    expect(klines.map((k) => k.openTime)).toEqual(Array.from({ length: 10 }, (_, i) => 1577836200000 + i * MINUTE));
    expect(klines[0]).toEqual({ openTime: 1577836200000, open: 7164.21, high: 7170.66, low: 7164.21, close: 7170.66, volume: 0.0854909 });
    const ccxt: unknown = JSON.parse(fixture('bitstamp', 'rest_ohlc_btcusdt_step3600_limit1_2024-03-13_ccxt.json'));
    expect(bitstampKlines.parsePage(ccxt, query(1710327600000, 1710327600000, '1h', HOUR))).toEqual([
      { openTime: 1710327600000, open: 73241, high: 73293, low: 73240, close: 73285, volume: 0.01076655 },
    ]);
  });

  it('asks for [from, to] in seconds with limit = its candles (Bitstamp answers the limit ending at end), at most 1000', () => {
    const T0 = 1577836200000;
    expect(bitstampKlines.pageRequest(query(T0, T0 + 9 * MINUTE))).toEqual({ path: '/api/v2/ohlc/btcusd/', params: { step: '60', limit: 10, start: T0 / 1000, end: T0 / 1000 + 540 } });
    expect(bitstampKlines.pageRequest(query(T0, T0 + 5000 * MINUTE)).params).toMatchObject({ end: T0 / 1000 + 999 * 60, limit: 1000 });
    expect(() => bitstampKlines.pageRequest(query(T0, T0, '1w', 7 * 24 * HOUR))).toThrow('bitstamp: no 1w klines');
  });

  it('takes the pair list for the health check: an answer is healthy, an error body is not', () => {
    expect(bitstampKlines.health.parse([])).toEqual({ ok: true });
    expect(bitstampKlines.health.parse({ status: 'error', reason: 'Maintenance', code: 'API0000' }).ok).toBe(false);
  });
});

describe('Bitstamp klines simulator', () => {
  const harness = useSimulator((options: BitstampSimulatorOptions) => startBitstampSimulator(options));

  it('serves the latest OHLC with the pair and the documented row keys, and refuses an unknown step', async () => {
    await harness.start({ symbols: ['BTC-USD'], tradesPerSecond: 20 });
    const latest = (await harness.getJson<Ohlc>('/api/v2/ohlc/btcusd/?step=3600&limit=2')).body;
    expect(latest.data.pair).toBe('BTC/USD');
    expect(latest.data.ohlc.map((row) => Object.keys(row))).toEqual([0, 1].map(() => ['timestamp', 'open', 'high', 'low', 'close', 'volume']));
    expect((await harness.getJson('/api/v2/ohlc/btcusd/?step=61&limit=2')).status).toBe(400);
  });

  it('over the limit answers 429, counted by rateLimited(); in maintenance the health check says so', async () => {
    const sim = await harness.start({ symbols: ['BTC-USD'], tradesPerSecond: 1, restRequestLimit: { requests: 1, windowMs: 60_000 } });
    expect((await harness.getJson('/api/v2/ohlc/btcusd/?step=60&limit=1')).status).toBe(200);
    expect((await harness.getJson('/api/v2/ohlc/btcusd/?step=60&limit=1')).status).toBe(429);
    expect(sim.rateLimited()).toBe(1);
    await sim.close();
    const down = await harness.start({ symbols: ['BTC-USD'], tradesPerSecond: 1 });
    down.setMaintenance(true);
    expect(bitstampKlines.health.parse((await harness.getJson('/api/v2/trading-pairs-info/')).body).ok).toBe(false);
  });
});
