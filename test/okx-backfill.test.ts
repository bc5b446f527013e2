import { describe, expect, it } from 'vitest';
import { startOkxSimulator, type OkxSimulatorOptions } from '../collectors/exchanges/okx/simulator/index.js';
import { okxTradeHistory } from '../collectors/exchanges/okx/trade-history.js';
import { fixture, NO_FIXTURES } from './support/fixtures.js';
import { useSimulator } from './support/simulator-harness.js';

interface Page {
  code: string;
  msg: string;
  data: Array<{ instId: string; side: string; sz: string; px: string; tradeId: string; ts: string }>;
}

describe('OKX history-trades', () => {
  const harness = useSimulator((options: OkxSimulatorOptions) => startOkxSimulator(options));

  it.skipIf(NO_FIXTURES)('parses the recorded REST page (rest_trades_BTC-USDT_2025-05-13.json), newest first, into ascending trades after afterId', async () => {
    const body: unknown = JSON.parse(fixture('okx', 'rest_trades_BTC-USDT_2025-05-13.json'));
    const asked: Array<Readonly<Record<string, string | number>>> = [];
    const http = { getJson: async (_url: string, params: Readonly<Record<string, string | number>>) => (asked.push(params), body) };
    const trades = await okxTradeHistory.fetchAfter({
      symbol: 'BTC-USDT', exchangeSymbol: 'BTC-USDT', afterId: 734864331, restUrl: 'http://x', http, signal: new AbortController().signal,
    });
    expect(asked).toEqual([{ instId: 'BTC-USDT', type: 1, after: '734864432', limit: 100 }]);
    expect(trades).toEqual([
      { exchange: 'okx', symbol: 'BTC-USDT', id: '734864332', price: 102537.9, amount: 0.0000125, side: 1, exchangeTime: 1747087161666, receivedAt: expect.any(Number) },
      { exchange: 'okx', symbol: 'BTC-USDT', id: '734864333', price: 102537.9, amount: 0.00013669, side: -1, exchangeTime: 1747087163557, receivedAt: expect.any(Number) },
    ]);
    // Trades at or below afterId are dropped.
    const later = await okxTradeHistory.fetchAfter({ symbol: 'BTC-USDT', exchangeSymbol: 'BTC-USDT', afterId: 734864332, restUrl: 'http://x', http, signal: new AbortController().signal });
    expect(later.map((t) => t.id)).toEqual(['734864333']);
  });

  it('refuses a non-zero code envelope', async () => {
    const http = { getJson: async () => ({ code: '51001', msg: "Instrument ID doesn't exist.", data: [] }) };
    await expect(okxTradeHistory.fetchAfter({ symbol: 'FOO-USDT', exchangeSymbol: 'FOO-USDT', afterId: 1, restUrl: 'http://x', http, signal: new AbortController().signal })).rejects.toThrow(/51001/);
  });

  it('serves the generated trades newest first: after = older than (exclusive), before alone = the latest newer than; limit ≤ 100; 429 code 50011 over the budget', async () => {
    const sim = await harness.start({ symbols: ['BTC-USDT'], tradesPerSecond: 500, restRequestLimit: { requests: 6, windowMs: 60_000 } });
    await new Promise((resolve) => setTimeout(resolve, 100));
    sim.pause();
    const generated = sim.generatedTrades('BTC-USDT');
    expect(generated.length).toBeGreaterThan(10);
    const pivot = generated[8]!.id;
    const older = await harness.getJson<Page>(`/api/v5/market/history-trades?instId=BTC-USDT&type=1&after=${pivot}&limit=3`);
    expect(older.status).toBe(200);
    expect(older.body.code).toBe('0');
    expect(older.body.data.map((t) => Number(t.tradeId))).toEqual([pivot - 1, pivot - 2, pivot - 3]);
    expect(Number(older.body.data[0]!.sz)).toBe(Number(generated[7]!.amount));
    expect(older.body.data[0]!.ts).toBe(String(generated[7]!.time));
    expect(older.body.data[0]!.side).toBe(generated[7]!.takerSide > 0 ? 'buy' : 'sell');
    const newest = generated.at(-1)!.id;
    const latest = await harness.getJson<Page>(`/api/v5/market/history-trades?instId=BTC-USDT&before=${pivot}&limit=2`);
    expect(latest.body.data.map((t) => Number(t.tradeId))).toEqual([newest, newest - 1]);
    // The forward page the hook asks for: after = afterId + 101 gives afterId+1 … afterId+100 when they exist.
    const forward = await harness.getJson<Page>(`/api/v5/market/history-trades?instId=BTC-USDT&type=1&after=${generated[0]!.id + 5}&limit=100`);
    expect(forward.body.data.map((t) => Number(t.tradeId))).toEqual([4, 3, 2, 1, 0].map((i) => generated[i]!.id));
    expect((await harness.getJson<Page>('/api/v5/market/history-trades?instId=BTC-USDT&limit=101')).body).toEqual({ code: '51000', msg: 'Parameter limit error', data: [] });
    expect((await harness.getJson<Page>('/api/v5/market/history-trades?instId=FOO-USDT')).body.code).toBe('51001');
    expect((await harness.getJson<Page>('/api/v5/market/history-trades')).body.code).toBe('50014');
    const res = await fetch(`${sim.restUrl}/api/v5/market/history-trades?instId=BTC-USDT`);
    expect(res.status).toBe(429);
    expect(await res.json()).toEqual({ code: '50011', msg: 'Too Many Requests', data: [] });
  });
});
