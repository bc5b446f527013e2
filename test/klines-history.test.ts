import { describe, expect, it } from 'vitest';
import { startBinanceSimulator } from '../collectors/exchanges/binance/simulator/index.js';
import { alignDown } from '../collectors/klines/open-times.js';
import { capabilityOf } from '../collectors/exchange.js';
import { binance } from '../collectors/exchanges/binance/index.js';
import { MemoryStorage } from '../storage/memory.js';
import { freshClient, holes, MINUTE, runPoller, stopAfterEach, until } from './support/kline-polling.js';

// What every exchange's klines do through its simulator is test/conformance/klines.test.ts.
const running = stopAfterEach();
const protocol = capabilityOf(binance, 'klines');

describe('klines from an exchange stricter than it says', () => {
  it('honours 429 with Retry-After when the exchange is stricter than its published limit, and still fills everything', async () => {
    const sim = await startBinanceSimulator({ symbols: ['BTC-USDT'], tradesPerSecond: 5, restWeightLimit: { weight: 6, windowMs: 1000 } });
    running.push({ stop: () => sim.close() });
    const storage = new MemoryStorage();
    const { poller } = runPoller(running, storage, { protocol, symbol: 'BTC-USDT', interval: '1m', restUrl: sim.restUrl, historyMs: 8 * 1000 * MINUTE, http: freshClient(protocol) });
    await until(() => poller.verifiedThrough !== undefined, 60_000, 'the fill');
    expect(sim.rateLimited()).toBeGreaterThan(0);
    const from = alignDown(Date.now() - 8 * 1000 * MINUTE, MINUTE) + MINUTE;
    expect(await holes(storage, poller.history.key, poller.history.gapsKey, from, alignDown(Date.now(), MINUTE) - 2 * MINUTE, MINUTE)).toEqual([]);
  });
});
