import { describe, expect, it } from 'vitest';
import { startBinanceSimulator, type BinanceSimulatorOptions } from '../collectors/exchanges/binance/simulator/index.js';
import { binanceTradeHistory } from '../collectors/exchanges/binance/trade-history.js';
import { silentLogger } from '../common/logger.js';
import { tradesCollectorKind } from '../collectors/kinds.js';
import { MemoryStorage } from '../storage/memory.js';
import { runRestarting } from './support/backfill.js';
import { fixture, NO_FIXTURES } from './support/fixtures.js';
import { useSimulator } from './support/simulator-harness.js';

describe('Binance historicalTrades', () => {
  const harness = useSimulator((options: BinanceSimulatorOptions) => startBinanceSimulator(options));

  it.skipIf(NO_FIXTURES)('parses the recorded REST page (rest_historicalTrades_BTCUSDT.json) like stream trades', async () => {
    const body: unknown = JSON.parse(fixture('binance', 'rest_historicalTrades_BTCUSDT.json'));
    const http = { getJson: async () => body };
    const trades = await binanceTradeHistory.fetchAfter({
      symbol: 'BTC-USDT', exchangeSymbol: 'BTCUSDT', afterId: 1111471895, restUrl: 'http://x', http, signal: new AbortController().signal,
    });
    expect(trades[0]).toEqual({ exchange: 'binance', symbol: 'BTC-USDT', id: 1111471896, price: 60814.78, amount: 0.00034, side: -1, exchangeTime: 1634943219887, receivedAt: expect.any(Number) });
    expect(trades[1]).toMatchObject({ id: 1111471897, side: 1 });
  });

  it('serves the generated trades from fromId (inclusive), limit ≤ 1000, and answers 429 with Retry-After over the weight budget', async () => {
    const sim = await harness.start({ symbols: ['BTC-USDT'], tradesPerSecond: 500, restWeightLimit: { weight: 50, windowMs: 60_000 } });
    await new Promise((resolve) => setTimeout(resolve, 100));
    sim.pause();
    const generated = sim.generatedTrades('BTC-USDT');
    const from = generated[3]!.id;
    const page = await harness.getJson<Array<{ id: number; qty: string }>>(`/api/v3/historicalTrades?symbol=BTCUSDT&fromId=${from}&limit=5`);
    expect(page.status).toBe(200);
    expect(page.body.map((t) => t.id)).toEqual([from, from + 1, from + 2, from + 3, from + 4]);
    expect(page.body[0]!.qty).toBe(generated[3]!.amount);
    expect((await harness.getJson('/api/v3/historicalTrades?symbol=BTCUSDT&limit=1001')).body).toEqual({ code: -1130, msg: "Data sent for parameter 'limit' is not valid." });
    const res = await fetch(`${sim.restUrl}/api/v3/historicalTrades?symbol=BTCUSDT`);
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await res.json()) as { code: number }).code).toBe(-1003);
  });
});

describe('Binance backfill bounded by the feed’s history', () => {
  const harness = useSimulator((options: BinanceSimulatorOptions) => startBinanceSimulator(options));

  it('after an outage longer than `history`, records the missed trades as a gap instead of fetching them', async () => {
    const sim = await harness.start({ symbols: ['BTC-USDT'], tradesPerSecond: 200 });
    const storage = new MemoryStorage();
    const collectorWithHistory = (historyMs: number) =>
      tradesCollectorKind.create([{ id: 'trades:binance:BTC-USDT', collector: 'trades', exchange: 'binance', symbol: 'BTC-USDT', keys: [], historyMs }], {
        exchanges: { binance: { wsUrl: sim.wsUrl, restUrl: sim.restUrl } },
        logger: silentLogger,
      })[0]!;
    const first = new AbortController();
    const one = runRestarting(collectorWithHistory(60_000), storage, first.signal);
    while ((await storage.fetch('trades:binance:BTC-USDT', 0, Date.now())).length < 20) await new Promise((r) => setTimeout(r, 50));
    first.abort();
    await one;
    await new Promise((r) => setTimeout(r, 800)); // down longer than the 500 ms history below
    const second = new AbortController();
    const two = collectorWithHistory(500);
    const requestsBefore = sim.restRequests('/api/v3/historicalTrades');
    const running = runRestarting(two, storage, second.signal);
    while (two.progress.gaps === 0) await new Promise((r) => setTimeout(r, 50));
    second.abort();
    await running;
    expect(sim.restRequests('/api/v3/historicalTrades')).toBe(requestsBefore);
    expect(two.progress.tradesBackfilled).toBe(0);
    const [[, gap]] = await storage.fetch('gaps:binance:BTC-USDT', 0, Date.now());
    const { from_time: from, to_time: to } = gap as Record<string, number>;
    expect(to - from).toBeGreaterThan(500);
  });
});
