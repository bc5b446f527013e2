import { describe, expect, it } from 'vitest';
import { gateioKlines } from '../collectors/exchanges/gateio/klines.js';
import { startGateioSimulator, type GateioSimulatorOptions } from '../collectors/exchanges/gateio/simulator/index.js';
import type { KlinePageQuery } from '../collectors/klines/protocol.js';
import { docsExample, fixture, NO_FIXTURES } from './support/fixtures.js';
import { useSimulator } from './support/simulator-harness.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

function query(from: number, to: number, now = to + MINUTE, interval = '1m', intervalMs = MINUTE): KlinePageQuery {
  return { exchangeSymbol: 'BTC_USDT', interval, intervalMs, from, to, now };
}

describe('Gate.io klines protocol', () => {
  it.skipIf(NO_FIXTURES)('reads the recorded row in Gate\'s order [t, quote volume, close, high, low, open, base volume, closed]', () => {
    const body: unknown = JSON.parse(fixture('gateio', 'rest_candlesticks_BTC_USDT_1h_limit1_2024-03-13_ccxt.json'));
    expect(gateioKlines.parsePage(body, query(1710327600000, 1710327600000, 1710327648162, '1h', HOUR))).toEqual([
      { openTime: 1710327600000, open: 73236.9, high: 73435.8, low: 73236.3, close: 73408.9, volume: 13.53020576, quoteVolume: 992134.61604178 },
    ]);
    // The docs example row has no base volume: refused, naming the row.
    expect(() => gateioKlines.parsePage(JSON.parse(docsExample('gateio', 'rest_spot_candlesticks')), query(0, 0))).toThrow(/gateio: candlesticks row 0: base volume is not a decimal string: "true"/);
  });

  it('sorts rows ascending', () => {
    const row = (t: number) => [String(t), '10', '2', '3', '1', '2', '5', 'true'];
    expect(gateioKlines.parsePage([row(120), row(60)], query(60_000, 120_000)).map((k) => k.openTime)).toEqual([60_000, 120_000]);
  });

  it('asks /spot/candlesticks for at most 1000 candles, from and to in seconds, both inclusive', () => {
    const from = 1_700_000_040_000;
    expect(gateioKlines.pageRequest(query(from, from + 5000 * MINUTE))).toEqual({
      path: '/api/v4/spot/candlesticks', params: { currency_pair: 'BTC_USDT', interval: '1m', from: from / 1000, to: (from + 999 * MINUTE) / 1000 },
    });
    expect(() => gateioKlines.pageRequest(query(from, from, from, '1w', 7 * 24 * HOUR))).toThrow(/gateio: no 1w candles/);
    expect(Object.keys(gateioKlines.intervals)).toEqual(['1m', '5m', '15m', '30m', '1h', '4h', '8h', '1d']);
  });

  it.skipIf(NO_FIXTURES)('takes a server time, a string (ccxt 2024) or an integer (docs), as healthy', () => {
    expect(gateioKlines.health.parse(JSON.parse(fixture('gateio', 'rest_time_2024-11-12_ccxt.json')))).toEqual({ ok: true });
    expect(gateioKlines.health.parse(JSON.parse(docsExample('gateio', 'rest_spot_time')))).toEqual({ ok: true });
    expect(gateioKlines.health.parse({ label: 'SERVER_ERROR' })).toMatchObject({ ok: false });
  });
});

describe('Gate.io klines simulator', () => {
  const harness = useSimulator((options: GateioSimulatorOptions) => startGateioSimulator(options));

  it('serves rows oldest first with the closed flag, and refuses bad parameters with Gate error labels', async () => {
    await harness.start({ symbols: ['BTC-USDT'], tradesPerSecond: 20 });
    const rows = await harness.getJson<string[][]>('/api/v4/spot/candlesticks?currency_pair=BTC_USDT&interval=1m&limit=3');
    expect(rows.body.length).toBe(3);
    expect(rows.body.map((r) => r.length)).toEqual([8, 8, 8]);
    expect(rows.body.map((r) => r[7])).toEqual(['true', 'true', 'false']);
    expect(Number(rows.body[1]![0]) - Number(rows.body[0]![0])).toBe(60);
    const refused = async (q: string) => (await harness.getJson<{ label: string }>(`/api/v4/spot/candlesticks?${q}`)).body.label;
    expect(await refused('currency_pair=FOO_USDT&interval=1m')).toBe('INVALID_CURRENCY_PAIR');
    expect(await refused('currency_pair=BTC_USDT&interval=2m')).toBe('INVALID_PARAM_VALUE');
    expect(await refused('currency_pair=BTC_USDT&interval=1m&limit=5&from=1700000000')).toBe('INVALID_PARAM_VALUE');
    expect(await refused('currency_pair=BTC_USDT&interval=1m&from=1700000000&to=1700100000')).toBe('INVALID_PARAM_VALUE');
  });

  it('answers 429 TOO_MANY_REQUESTS over the endpoint\'s budget, and 503 to everything during maintenance', async () => {
    const sim = await harness.start({ symbols: ['BTC-USDT'], tradesPerSecond: 1, restRequestLimit: { requests: 1, windowMs: 60_000 } });
    expect((await harness.getJson('/api/v4/spot/candlesticks?currency_pair=BTC_USDT&interval=1m&limit=1')).status).toBe(200);
    expect(await harness.getJson('/api/v4/spot/candlesticks?currency_pair=BTC_USDT&interval=1m&limit=1')).toEqual({ status: 429, body: { label: 'TOO_MANY_REQUESTS', message: 'Request Rate limit Exceeded' } });
    expect(sim.rateLimited()).toBe(1);
    sim.setMaintenance(true);
    expect((await harness.getJson('/api/v4/spot/time')).status).toBe(503);
    sim.setMaintenance(false);
    expect(gateioKlines.health.parse((await harness.getJson('/api/v4/spot/time')).body)).toEqual({ ok: true });
  });
});
