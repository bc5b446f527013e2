import { describe, expect, it } from 'vitest';
import { bybitRestLimits } from '../collectors/exchanges/bybit/rest-limits.js';
import { startBybitSimulator } from '../collectors/exchanges/bybit/simulator/index.js';
import { PoliteRestClient, RestError } from '../collectors/rest/rest-client.js';
import { silentLogger } from '../common/logger.js';
import { useSimulator } from './support/simulator-harness.js';

const KLINE = '/v5/market/kline';
const PARAMS = { category: 'spot', symbol: 'BTCUSDT', interval: '1', limit: 1 };

describe('Bybit HTTP 403 "access too frequent" (over the per-IP limit)', () => {
  const harness = useSimulator(startBybitSimulator);

  it('is a rate-limit refusal with a 10-minute wait; any other 403 is not', () => {
    expect(bybitRestLimits.throttledStatus?.(403, 'access too frequent')).toBe(600_000);
    expect(bybitRestLimits.throttledStatus?.(403, '<html><body>403 Forbidden</body></html>')).toBeUndefined();
    expect(bybitRestLimits.throttledStatus?.(404, 'access too frequent')).toBeUndefined();
  });

  it('gives the request up at once and holds every later request of the client through the ban', async () => {
    const sim = await harness.start({ symbols: ['BTC-USDT'], tradesPerSecond: 1, restRequestLimit: { requests: 1, windowMs: 60_000, refusal: 'http-403' } });
    const client = new PoliteRestClient({ label: 'bybit', logger: silentLogger, limits: bybitRestLimits });
    const url = `${sim.restUrl}${KLINE}`;
    await client.getJson(url, PARAMS, AbortSignal.timeout(5_000));
    const refused = await client.getJson(url, PARAMS, AbortSignal.timeout(5_000)).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(RestError);
    expect(refused).toMatchObject({ status: 403, message: expect.stringMatching(/HTTP 403 "access too frequent"; rate-limited for 600000 ms/) });
    expect(sim.restRequests(KLINE)).toBe(2);
    // The ban is kept: the next request waits for it and is never sent.
    await expect(client.getJson(url, PARAMS, AbortSignal.timeout(300))).rejects.toThrow(/aborted|timeout/i);
    expect(sim.restRequests(KLINE)).toBe(2);
  });

  it('a client allowed to wait that long retries after the wait and succeeds', async () => {
    const sim = await harness.start({ symbols: ['BTC-USDT'], tradesPerSecond: 1, restRequestLimit: { requests: 1, windowMs: 1000, refusal: 'http-403' } });
    // The same reading of a 403, with a wait short enough for a test.
    const limits = { ...bybitRestLimits, throttledStatus: (status: number, body: unknown) => (bybitRestLimits.throttledStatus?.(status, body) ? 200 : undefined) };
    const client = new PoliteRestClient({ label: 'bybit', logger: silentLogger, limits, maxAttempts: 10 });
    const url = `${sim.restUrl}${KLINE}`;
    // Three in a row span at most two windows of one request: at least one meets the 403.
    for (let i = 0; i < 3; i++) await expect(client.getJson(url, PARAMS, AbortSignal.timeout(5_000))).resolves.toMatchObject({ retCode: 0 });
    expect(sim.rateLimited()).toBeGreaterThanOrEqual(1);
  });
});
