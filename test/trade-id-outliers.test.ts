import { describe, expect, it, vi } from 'vitest';
import { binance } from '../collectors/exchanges/binance/index.js';
import { startBinanceSimulator, type BinanceTradePayload } from '../collectors/exchanges/binance/simulator/index.js';
import { binanceTrades } from '../collectors/exchanges/binance/trades.js';
import { startBybitSimulator, type BybitTradePayload } from '../collectors/exchanges/bybit/simulator/index.js';
import { bybitTrades } from '../collectors/exchanges/bybit/trades.js';
import { gapsKey } from '../collectors/trades/gap-records.js';
import { TradeStreamCollector } from '../collectors/trades/trade-stream.js';
import { MemoryStorage } from '../storage/memory.js';
import { trackRun } from './support/run-tracking.js';
import { useSimulator } from './support/simulator-harness.js';
import { expectedSamples, storedCount, storedSamples, toLots } from './support/trade-samples.js';

const WAIT = { timeout: 15_000 };

/**
 * Runs `collector` (of BTC-USDT) until it stored over a thousand trades, lets `inject` send odd
 * frames into the live stream, lets real trades flow a while more, pauses the market and waits
 * until `expectedCount` trades are stored. Returns the storage.
 */
async function collectAround(
  collector: TradeStreamCollector,
  sim: { pause(): void; sent(symbol: string): { count: number } },
  inject: () => void,
  expectedCount: () => number,
): Promise<MemoryStorage> {
  const storage = new MemoryStorage();
  const abort = new AbortController();
  const running = trackRun(collector.run(storage, abort.signal));
  try {
    // Past FAR_IDS, so an id far behind the last one can exist.
    await vi.waitFor(async () => expect(await storedCount(storage, collector.keys[0]!)).toBeGreaterThan(1_200), WAIT);
    inject();
    const after = sim.sent('BTC-USDT').count;
    await vi.waitFor(() => expect(sim.sent('BTC-USDT').count).toBeGreaterThan(after + 100), WAIT);
    sim.pause();
    await vi.waitFor(async () => expect(await storedCount(storage, collector.keys[0]!)).toBe(expectedCount()), WAIT);
    expect(running.settled()).toBe(false);
  } finally {
    abort.abort();
    await running.run;
  }
  return storage;
}

describe('a Binance frame whose trade id lies far outside the sequence', () => {
  const simulator = useSimulator(startBinanceSimulator);
  const read = (t: BinanceTradePayload) => ({ time: t.T, price: Number(t.p), amount: t.q, takerSide: t.m ? (-1 as const) : (1 as const) });

  /** Every real trade stored exactly once, the odd ones dropped and counted, no gap recorded. */
  async function expectOnlyRealTrades(storage: MemoryStorage, collector: TradeStreamCollector, sent: { trades: readonly BinanceTradePayload[]; count: number; amount: number }, outliers: number): Promise<void> {
    const stored = await storedSamples(storage, 'trades:binance:BTC-USDT');
    expect([...stored.values()].reduce((n, s) => n + s.count, 0)).toBe(sent.count);
    expect([...stored.values()].reduce((sum, s) => sum + s.lots, 0)).toBe(toLots(sent.amount));
    expect(stored).toEqual(expectedSamples(sent.trades, read));
    expect(collector.progress.gaps).toBe(0);
    expect((await storage.keys()).map((s) => s.key)).not.toContain(gapsKey('binance', 'BTC-USDT'));
    expect(collector.progress.tradeIdOutliers).toBe(outliers);
  }

  for (const withRest of [true, false]) {
    it(`one id a million ahead and one far behind lose no real trade and record no gap (${withRest ? 'REST history at hand' : 'no REST history'})`, async () => {
      const sim = await simulator.start({ symbols: ['BTC-USDT'], tradesPerSecond: 500 });
      const collector = new TradeStreamCollector({ id: 'trades:binance', protocol: binanceTrades, history: binance.capabilities.tradeHistory, symbols: ['BTC-USDT'], wsUrl: sim.wsUrl, restUrl: withRest ? sim.restUrl : undefined });
      const storage = await collectAround(
        collector,
        sim,
        () => {
          const last = sim.sent('BTC-USDT').trades.at(-1)!;
          sim.sendMalformed(JSON.stringify({ ...last, t: last.t + 1_000_000, q: '7.00000000' }));
          sim.sendMalformed(JSON.stringify({ ...last, t: 1, q: '5.00000000' }));
        },
        () => sim.sent('BTC-USDT').count,
      );
      await expectOnlyRealTrades(storage, collector, sim.sent('BTC-USDT'), 2);
    });
  }

  it('a run of ids far ahead, each following the one before, is refuted by REST history: dropped, no gap recorded', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USDT'], tradesPerSecond: 500 });
    const collector = new TradeStreamCollector({ id: 'trades:binance', protocol: binanceTrades, history: binance.capabilities.tradeHistory, symbols: ['BTC-USDT'], wsUrl: sim.wsUrl, restUrl: sim.restUrl });
    const storage = await collectAround(
      collector,
      sim,
      () => {
        const last = sim.sent('BTC-USDT').trades.at(-1)!;
        for (const ahead of [1_000_000, 1_000_001]) sim.sendMalformed(JSON.stringify({ ...last, t: last.t + ahead, q: '7.00000000' }));
      },
      () => sim.sent('BTC-USDT').count,
    );
    await expectOnlyRealTrades(storage, collector, sim.sent('BTC-USDT'), 2);
  });
});

describe('a Bybit frame whose trade id lies far ahead (ids carry no order, no REST history)', () => {
  const simulator = useSimulator(startBybitSimulator);

  it('the ordinary ids after it are still stored, none dropped as already seen', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USDT'], tradesPerSecond: 500 });
    const collector = new TradeStreamCollector({ id: 'trades:bybit', protocol: bybitTrades, symbols: ['BTC-USDT'], wsUrl: sim.wsUrl });
    let forged: BybitTradePayload | undefined;
    const storage = await collectAround(
      collector,
      sim,
      () => {
        const last = sim.sent('BTC-USDT').trades.at(-1)!;
        forged = { ...last, i: String(BigInt(last.i) + 1_000_000n), v: '7' };
        sim.sendMalformed(JSON.stringify({ topic: 'publicTrade.BTCUSDT', ts: last.T, type: 'snapshot', data: [forged] }));
      },
      // Nothing tells it apart from a real trade here: it is stored besides every real one.
      () => sim.sent('BTC-USDT').count + 1,
    );
    const sent = sim.sent('BTC-USDT');
    const stored = await storedSamples(storage, 'trades:bybit:BTC-USDT');
    expect([...stored.values()].reduce((sum, s) => sum + s.lots, 0)).toBe(toLots(sent.amount) + toLots(forged!.v));
    expect(collector.progress.tradeIdOutliers).toBe(0);
  });
});
