import { describe, expect, it } from 'vitest';
import { startCoinbaseSimulator, type CoinbaseSimulatorOptions } from '../collectors/exchanges/coinbase/simulator/index.js';
import { coinbaseTradeHistory } from '../collectors/exchanges/coinbase/trade-history.js';
import { fixture, NO_FIXTURES } from './support/fixtures.js';
import { useSimulator } from './support/simulator-harness.js';

type Page = Array<{ trade_id: number; side: string; size: string; price: string; time: string }>;

describe('Coinbase product trades', () => {
  const harness = useSimulator((options: CoinbaseSimulatorOptions) => startCoinbaseSimulator(options));

  it.skipIf(NO_FIXTURES)('parses the recorded REST page (rest_trades_BTC-USD_limit2_2026-06-19.json): maker side → taker side, ascending, after afterId', async () => {
    const body: unknown = JSON.parse(fixture('coinbase', 'rest_trades_BTC-USD_limit2_2026-06-19.json'));
    const asked: Array<[string, Readonly<Record<string, string | number>>]> = [];
    const http = { getJson: async (url: string, params: Readonly<Record<string, string | number>>) => (asked.push([url, params]), body) };
    const trades = await coinbaseTradeHistory.fetchAfter({
      symbol: 'BTC-USD', exchangeSymbol: 'BTC-USD', afterId: 1040406588, restUrl: 'http://x/', http, signal: new AbortController().signal,
    });
    expect(asked).toEqual([['http://x/products/BTC-USD/trades', { after: 1040407589, limit: 1000 }]]);
    expect(trades).toEqual([
      // A `sell` maker: the taker bought.
      { exchange: 'coinbase', symbol: 'BTC-USD', id: 1040406589, price: 63212.98, amount: 0.00195786, side: 1, exchangeTime: Date.parse('2026-06-19T16:43:33.366Z'), receivedAt: expect.any(Number) },
      { exchange: 'coinbase', symbol: 'BTC-USD', id: 1040406590, price: 63212.97, amount: 0.00003219, side: -1, exchangeTime: Date.parse('2026-06-19T16:43:33.739Z'), receivedAt: expect.any(Number) },
    ]);
    const later = await coinbaseTradeHistory.fetchAfter({ symbol: 'BTC-USD', exchangeSymbol: 'BTC-USD', afterId: 1040406589, restUrl: 'http://x', http, signal: new AbortController().signal });
    expect(later.map((t) => t.id)).toEqual([1040406590]);
  });

  it('serves the generated trades newest first: after = older than (exclusive), before = the page just newer; CB-BEFORE/CB-AFTER; limit ≤ 1000; 429 over the budget', async () => {
    const sim = await harness.start({ symbols: ['BTC-USD'], tradesPerSecond: 500, restRequestLimit: { requests: 4, windowMs: 60_000 } });
    await new Promise((resolve) => setTimeout(resolve, 100));
    sim.pause();
    const generated = sim.generatedTrades('BTC-USD');
    expect(generated.length).toBeGreaterThan(10);
    const pivot = generated[8]!.id;
    const res = await fetch(`${sim.restUrl}/products/BTC-USD/trades?after=${pivot}&limit=3`);
    expect(res.status).toBe(200);
    const older = (await res.json()) as Page;
    expect(older.map((t) => t.trade_id)).toEqual([pivot - 1, pivot - 2, pivot - 3]);
    expect(res.headers.get('cb-before')).toBe(String(pivot - 1));
    expect(res.headers.get('cb-after')).toBe(String(pivot - 3));
    const g = generated[7]!;
    expect(older[0]).toEqual({ trade_id: g.id, side: g.takerSide > 0 ? 'sell' : 'buy', size: g.amount, price: g.price, time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/) });
    expect(Date.parse(older[0]!.time.slice(0, 23) + 'Z')).toBe(g.time);
    const newer = await harness.getJson<Page>(`/products/BTC-USD/trades?before=${pivot}&limit=2`);
    expect(newer.body.map((t) => t.trade_id)).toEqual([pivot + 2, pivot + 1]);
    // The forward page the hook asks for: after = afterId + 1001 gives afterId+1 … when they exist.
    const forward = await harness.getJson<Page>(`/products/BTC-USD/trades?after=${generated[0]!.id + 5}&limit=1000`);
    expect(forward.body.map((t) => t.trade_id)).toEqual([4, 3, 2, 1, 0].map((i) => generated[i]!.id));
    expect((await harness.getJson('/products/BTC-USD/trades?limit=1001')).status).toBe(400);
    // An unlisted product is not routed to the trades endpoint, so it spends nothing.
    expect((await harness.getJson('/products/FOO-USD/trades')).body).toEqual({ message: 'NotFound' });
    const limited = await fetch(`${sim.restUrl}/products/BTC-USD/trades`);
    expect(limited.status).toBe(429);
    expect(await limited.json()).toEqual({ message: 'Public rate limit exceeded' });
  });
});
