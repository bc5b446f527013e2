import { describe, expect, it } from 'vitest';
import { startKrakenSimulator, type KrakenSimulatorOptions } from '../collectors/exchanges/kraken/simulator/index.js';
import { krakenRestPair, krakenTradeHistory } from '../collectors/exchanges/kraken/trade-history.js';
import { fixture, NO_FIXTURES } from './support/fixtures.js';
import { useSimulator } from './support/simulator-harness.js';

interface TradesBody {
  error: string[];
  result?: Record<string, unknown> & { last: string };
}

describe('Kraken Trades', () => {
  const harness = useSimulator((options: KrakenSimulatorOptions) => startKrakenSimulator(options));

  it('maps v2 symbols to REST altnames (rest_AssetPairs_XBTUSDT.json: wsname XBT/USDT, altname XBTUSDT)', () => {
    expect(krakenRestPair('BTC/USDT')).toBe('XBTUSDT');
    expect(krakenRestPair('BTC/USD')).toBe('XBTUSD');
    expect(krakenRestPair('ETH/USD')).toBe('ETHUSD');
    expect(krakenRestPair('DOGE/USD')).toBe('XDGUSD');
  });

  it.skipIf(NO_FIXTURES)('parses the recorded REST page (rest_Trades_XBTUSDT_2025-11.json): b/s taker side, float seconds, ids after afterId', async () => {
    const body: unknown = JSON.parse(fixture('kraken', 'rest_Trades_XBTUSDT_2025-11.json'));
    const asked: Array<Readonly<Record<string, string | number>>> = [];
    // The searched pages all start at the fixture's first id; a `since` past it gives nothing.
    const http = { getJson: async (_url: string, params: Readonly<Record<string, string | number>>) => (asked.push(params), body) };
    const trades = await krakenTradeHistory.fetchAfter({
      symbol: 'BTC-USDT', exchangeSymbol: 'BTC/USDT', afterId: 10218208, restUrl: 'http://x', http, signal: new AbortController().signal,
    });
    expect(asked[0]).toMatchObject({ pair: 'XBTUSDT', count: 1000 });
    expect(trades).toHaveLength(999);
    expect(trades[0]).toEqual({ exchange: 'kraken', symbol: 'BTC-USDT', id: 10218209, price: 105410.1, amount: 0.00005, side: 1, exchangeTime: 1762795457846, receivedAt: expect.any(Number) });
    expect(trades.at(-1)).toMatchObject({ id: 10219207, side: -1, exchangeTime: 1762820035982 });
  });

  it('refuses an error answer', async () => {
    const http = { getJson: async () => ({ error: ['EQuery:Unknown asset pair'] }) };
    await expect(krakenTradeHistory.fetchAfter({ symbol: 'FOO-USD', exchangeSymbol: 'FOO/USD', afterId: 1, restUrl: 'http://x', http, signal: new AbortController().signal })).rejects.toThrow(/Unknown asset pair/);
  });

  it('serves generated trades oldest first after `since` (ns, exclusive), keyed like AssetPairs, with `last` as the next cursor; 429 over the budget', async () => {
    const sim = await harness.start({ symbols: ['BTC-USD', 'BTC-USDT'], tradesPerSecond: 500, restRequestLimit: { requests: 4, windowMs: 60_000 } });
    await new Promise((resolve) => setTimeout(resolve, 100));
    sim.pause();
    const generated = sim.generatedTrades('BTC-USD');
    const all = await harness.getJson<TradesBody>('/0/public/Trades?pair=XBTUSD&since=0&count=3');
    expect(all.body.error).toEqual([]);
    const entries = all.body.result!.XXBTZUSD as Array<[string, string, number, string, string, string, number]>;
    expect(entries.map((e) => e[6])).toEqual([0, 1, 2].map((i) => generated[i]!.id));
    expect(entries[0]![1]).toBe(generated[0]!.amount);
    expect(entries[0]![3]).toBe(generated[0]!.takerSide > 0 ? 'b' : 's');
    expect(Math.floor(entries[0]![2] * 1000)).toBe(generated[0]!.time);
    const next = await harness.getJson<TradesBody>(`/0/public/Trades?pair=XBTUSD&since=${all.body.result!.last}&count=2`);
    expect((next.body.result!.XXBTZUSD as unknown[][]).map((e) => e[6])).toEqual([3, 4].map((i) => generated[i]!.id));
    const usdt = await harness.getJson<TradesBody>('/0/public/Trades?pair=XBTUSDT&count=1');
    expect(Object.keys(usdt.body.result!).sort()).toEqual(['XBTUSDT', 'last']);
    expect((await harness.getJson<TradesBody>('/0/public/Trades?pair=XBTUSD&count=1001')).body.error).toEqual(['EGeneral:Invalid arguments']);
    // An unknown pair is refused before the budget is spent.
    expect((await harness.getJson<TradesBody>('/0/public/Trades?pair=FOOUSD')).body).toEqual({ error: ['EQuery:Unknown asset pair'] });
    const limited = await fetch(`${sim.restUrl}/0/public/Trades?pair=XBTUSD`);
    expect(limited.status).toBe(429);
    expect(await limited.json()).toEqual({ error: ['EGeneral:Too many requests'] });
  });
});
