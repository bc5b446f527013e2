import { afterEach, describe, expect, it, vi } from 'vitest';
import { bucketStart, CandleBuilder, parseTimeframes, timeframeName, type Candle, type CandleUpdate, type Timeframe } from '../collectors/candles/candle-builder.js';
import { CandleCollector, candlesKey } from '../collectors/candles/candle-collector.js';
import { startBinanceSimulator, type BinanceTradePayload } from '../collectors/exchanges/binance/simulator/index.js';
import { TradeTap } from '../collectors/trades/trade-tap.js';
import type { Trade } from '../collectors/trades/trade.js';
import type { DataSourceCollector } from '../collectors/types.js';
import { buildFeeds, loadDataSourceCollectors } from '../feeds/load.js';
import type { FeedConfig } from '../feeds/types.js';
import { createContainer, registryOf } from '../src/container.js';
import { silentLogger } from '../common/logger.js';
import { MemoryStorage } from '../storage/memory.js';
import { trackRun } from './support/run-tracking.js';
import { useSimulator } from './support/simulator-harness.js';

const MINUTE = 60_000;
const T0 = 1_800_000_000_000; // a multiple of 5 minutes
const [M1, M5] = parseTimeframes('1m,5m') as [Timeframe, Timeframe];

/** The OHLCV of updates, without the timeframe objects, for compact expectations. */
const candles = (updates: readonly CandleUpdate[], timeframe = '1m'): Candle[] => updates.filter((u) => u.timeframe.name === timeframe).map((u) => u.candle);
const flat = (openTime: number, close: number): Candle => ({ openTime, open: close, high: close, low: close, close, volume: 0, quoteVolume: 0, trades: 0 });

describe('timeframes', () => {
  it('parses a list shortest first under canonical names, and refuses zero, unknown and repeated ones', () => {
    expect(parseTimeframes('1h,1m, 5m')).toEqual([{ name: '1m', ms: MINUTE }, { name: '5m', ms: 5 * MINUTE }, { name: '1h', ms: 3_600_000 }]);
    expect(parseTimeframes('90s,60s,24h')).toEqual([{ name: '1m', ms: MINUTE }, { name: '90s', ms: 90_000 }, { name: '1d', ms: 86_400_000 }]);
    expect(timeframeName(7 * 86_400_000)).toBe('1w');
    expect(() => parseTimeframes(undefined)).toThrow(/needs timeframes/);
    expect(() => parseTimeframes('0m')).toThrow(/longer than 0/);
    expect(() => parseTimeframes('1x')).toThrow(/bad timeframe "1x"/);
    expect(() => parseTimeframes('500ms')).toThrow(/bad timeframe/);
    expect(() => parseTimeframes('1m,60s')).toThrow(/listed twice/);
  });

  it('aligns buckets to the epoch like exchange klines, weeks to Mondays', () => {
    expect(bucketStart(T0 + 59_999, MINUTE)).toBe(T0);
    expect(bucketStart(T0 + 60_000, MINUTE)).toBe(T0 + MINUTE);
    const week = 7 * 86_400_000;
    expect(new Date(bucketStart(T0, week)).getUTCDay()).toBe(1);
  });
});

describe('candle builder', () => {
  it('builds several timeframes at once, with trades exactly on a boundary in the later bucket', () => {
    const builder = new CandleBuilder({ timeframes: [M1, M5] });
    builder.add(T0, 100, 1);
    builder.add(T0 + 30_000, 105, 2);
    builder.add(T0 + 59_999, 99, 1);
    builder.add(T0 + MINUTE, 101, 3); // the first millisecond of the next bucket
    expect(candles(builder.closeUpTo(T0 + MINUTE - 1))).toEqual([]);
    expect(candles(builder.closeUpTo(T0 + MINUTE))).toEqual([{ openTime: T0, open: 100, high: 105, low: 99, close: 99, volume: 4, quoteVolume: 100 + 210 + 99, trades: 3 }]);
    const closed = builder.closeUpTo(T0 + 5 * MINUTE);
    expect(candles(closed)).toEqual([
      { openTime: T0 + MINUTE, open: 101, high: 101, low: 101, close: 101, volume: 3, quoteVolume: 303, trades: 1 },
      flat(T0 + 2 * MINUTE, 101),
      flat(T0 + 3 * MINUTE, 101),
      flat(T0 + 4 * MINUTE, 101),
    ]);
    expect(candles(closed, '5m')).toEqual([{ openTime: T0, open: 100, high: 105, low: 99, close: 101, volume: 7, quoteVolume: 100 + 210 + 99 + 303, trades: 4 }]);
    // Nothing new: nothing handed out again.
    expect(builder.closeUpTo(T0 + 5 * MINUTE)).toEqual([]);
  });

  it('closes empty buckets on time without a later trade, flat at the previous close', () => {
    const builder = new CandleBuilder({ timeframes: [M1] });
    builder.add(T0 + 10, 50, 1);
    expect(candles(builder.closeUpTo(T0 + 3 * MINUTE))).toEqual([
      { openTime: T0, open: 50, high: 50, low: 50, close: 50, volume: 1, quoteVolume: 50, trades: 1 },
      flat(T0 + MINUTE, 50),
      flat(T0 + 2 * MINUTE, 50),
    ]);
    expect(candles(builder.closeUpTo(T0 + 4 * MINUTE - 1))).toEqual([]);
    expect(candles(builder.closeUpTo(T0 + 4 * MINUTE))).toEqual([flat(T0 + 3 * MINUTE, 50)]);
  });

  it('orders trades of one millisecond by arrival: the first opens, the last closes', () => {
    const builder = new CandleBuilder({ timeframes: [M1] });
    builder.add(T0 + 5, 10, 1);
    builder.add(T0 + 5, 12, 1);
    builder.add(T0 + 5, 11, 1, 3); // one record standing for three matches
    expect(candles(builder.closeUpTo(T0 + MINUTE))).toEqual([{ openTime: T0, open: 10, high: 12, low: 10, close: 11, volume: 3, quoteVolume: 33, trades: 5 }]);
  });

  it('re-emits a closed bucket a late trade changes, and the flat buckets after it', () => {
    const builder = new CandleBuilder({ timeframes: [M1] });
    builder.add(T0 + 1_000, 100, 1);
    builder.add(T0 + 3 * MINUTE + 5, 90, 1);
    builder.closeUpTo(T0 + 4 * MINUTE);
    // Backfilled after a reconnect: a trade in the first bucket, before its last, and one in an empty bucket.
    expect(builder.add(T0 + 500, 98, 2)).toBe(true);
    expect(builder.add(T0 + MINUTE + 7, 95, 1)).toBe(true);
    expect(candles(builder.openUpdates())).toEqual([]);
    expect(candles(builder.closeUpTo(T0 + 4 * MINUTE))).toEqual([
      { openTime: T0, open: 98, high: 100, low: 98, close: 100, volume: 3, quoteVolume: 296, trades: 2 },
      { openTime: T0 + MINUTE, open: 95, high: 95, low: 95, close: 95, volume: 1, quoteVolume: 95, trades: 1 },
      flat(T0 + 2 * MINUTE, 95),
    ]);
  });

  it('keeps buckets back to its retention only, and counts trades older than that', () => {
    const builder = new CandleBuilder({ timeframes: [M1], retainMs: 10 * MINUTE });
    builder.add(T0, 1, 1);
    builder.closeUpTo(T0 + 60 * MINUTE);
    expect(builder.add(T0 + 40 * MINUTE, 2, 1)).toBe(false);
    expect(builder.lateTrades).toBe(1);
    expect(builder.add(T0 + 55 * MINUTE, 2, 1)).toBe(true);
    expect(candles(builder.closeUpTo(T0 + 60 * MINUTE)).map((c) => c.openTime)).toEqual([55, 56, 57, 58, 59].map((m) => T0 + m * MINUTE));
  });

  it('hands out in-progress candles as they change, and continues a restored candle', () => {
    const builder = new CandleBuilder({ timeframes: [M1] });
    builder.restore('1m', { openTime: T0, open: 10, high: 12, low: 9, close: 11, volume: 5, quoteVolume: 52, trades: 4 });
    expect(builder.openUpdates()).toEqual([]);
    builder.add(T0 + 30_000, 13, 1);
    expect(builder.openUpdates()).toEqual([{ timeframe: M1, closed: false, candle: { openTime: T0, open: 10, high: 13, low: 9, close: 13, volume: 6, quoteVolume: 65, trades: 5 } }]);
    expect(builder.openUpdates()).toEqual([]);
    expect(candles(builder.closeUpTo(T0 + 2 * MINUTE))).toEqual([expect.objectContaining({ openTime: T0, close: 13 }), flat(T0 + MINUTE, 13)]);
  });
});

describe('trade tap', () => {
  const trade = (symbol: string, id: number): Trade => ({ exchange: 'binance', symbol, id, price: 1, amount: 1, side: 1, exchangeTime: id, receivedAt: id });

  it('hands each subscriber its symbol’s trades in order, survives a failing listener, and stops on unsubscribe', () => {
    const tap = new TradeTap();
    tap.publish([trade('BTC-USDT', 1)]); // nobody listens: nothing happens
    const got: number[] = [];
    const stop = tap.subscribe('binance', 'BTC-USDT', (t) => got.push(Number(t.id)));
    tap.subscribe('binance', 'ETH-USDT', () => {
      throw new Error('listener bug');
    });
    tap.publish([trade('BTC-USDT', 2), trade('ETH-USDT', 3), trade('BTC-USDT', 4)]);
    stop();
    stop();
    tap.publish([trade('BTC-USDT', 5)]);
    expect(got).toEqual([2, 4]);
    expect(tap.hasListeners).toBe(true);
  });
});

describe('candle collector', () => {
  afterEach(() => vi.useRealTimers());

  it('continues after a restart from the last stored candle: flat at its close until trades come', async () => {
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
    vi.setSystemTime(T0 + 3 * MINUTE + 30_000);
    const storage = new MemoryStorage();
    const key = candlesKey('binance', 'BTC-USDT', '1m');
    const before = { open: 5, high: 7, low: 4, close: 6, volume: 2, quote_volume: 11, trades: 2 };
    await storage.declare({ key, fields: { open: 'last', high: 'last', low: 'last', close: 'last', volume: 'last', quote_volume: 'last', trades: 'last' } });
    await storage.store(key, before, T0 + 2 * MINUTE);
    const tap = new TradeTap();
    const collector = new CandleCollector({ id: 'candles:binance', exchange: 'binance', series: new Map([['BTC-USDT', [M1]]]), tap, closeGraceMs: 0, openWriteIntervalMs: 20 });
    const abort = new AbortController();
    const running = collector.run(storage, abort.signal);
    const stored = () => storage.fetch(key, 0, T0 + 10 * MINUTE);
    try {
      await vi.waitFor(() => expect(tap.hasListeners).toBe(true));
      vi.setSystemTime(T0 + 4 * MINUTE + 100);
      await vi.waitFor(async () => expect(await stored()).toHaveLength(2));
      tap.publish([{ exchange: 'binance', symbol: 'BTC-USDT', id: 1, price: 8, amount: 1, side: 1, exchangeTime: T0 + 4 * MINUTE + 200, receivedAt: 0 }]);
      vi.setSystemTime(T0 + 5 * MINUTE + 100);
      await vi.waitFor(async () => expect(await stored()).toHaveLength(3));
    } finally {
      abort.abort();
      await running;
    }
    expect(await stored()).toEqual([
      [T0 + 2 * MINUTE, before],
      [T0 + 3 * MINUTE, { open: 6, high: 6, low: 6, close: 6, volume: 0, quote_volume: 0, trades: 0 }],
      [T0 + 4 * MINUTE, { open: 8, high: 8, low: 8, close: 8, volume: 1, quote_volume: 8, trades: 1 }],
    ]);
    expect(tap.hasListeners).toBe(false);
    expect(collector.progress.itemsStored).toBeGreaterThanOrEqual(2);
  });
});

describe('candle collector across a crash', () => {
  it('commits with each candle the last trade it holds, and a restarted collector adds none of the trades fetched again up to it', async () => {
    const storage = new MemoryStorage();
    const key = candlesKey('binance', 'BTC-USDT', '1m');
    const now = Date.now();
    const trade = (id: number): Trade => ({ exchange: 'binance', symbol: 'BTC-USDT', id, price: 100 + id, amount: 1, side: 1, exchangeTime: now - 10 + id, receivedAt: 0 });
    const run = (tap: TradeTap) => {
      const collector = new CandleCollector({ id: 'candles:binance', exchange: 'binance', series: new Map([['BTC-USDT', [M1]]]), tap, idsIncrease: true, closeGraceMs: 60_000, openWriteIntervalMs: 20 });
      const abort = new AbortController();
      return { abort, running: collector.run(storage, abort.signal) };
    };
    const volume = async () => (await storage.fetch(key, 0, now + MINUTE)).reduce((sum, [, v]) => sum + (v as Record<string, number>).volume!, 0);

    // The first process: trades 1..5 go into the candle, stored with its checkpoint; then it dies.
    const tap1 = new TradeTap();
    const first = run(tap1);
    await vi.waitFor(() => expect(tap1.hasListeners).toBe(true));
    tap1.publish([1, 2, 3, 4, 5].map(trade));
    await vi.waitFor(async () => expect(await volume()).toBe(5));
    expect((await storage.collectorState.load('candles:binance'))!.checkpoints).toEqual([{ key, lastTradeId: '5', lastTimestamp: trade(5).exchangeTime }]);
    first.abort.abort();
    await first.running;

    // The trades collector's checkpoint was behind (3): trades 4..7 come again after the restart.
    const tap2 = new TradeTap();
    const second = run(tap2);
    await vi.waitFor(() => expect(tap2.hasListeners).toBe(true));
    tap2.publish([4, 5, 6, 7].map(trade));
    await vi.waitFor(async () => expect(await volume()).toBe(7));
    second.abort.abort();
    await second.running;
    const stored = (await storage.fetch(key, 0, now + MINUTE)) as Array<[number, Record<string, number>]>;
    expect(stored.reduce((n, [, c]) => n + c.trades!, 0)).toBe(7);
    expect(stored.at(-1)![1].close).toBe(107);
  });
});

describe('feeds collecting candles', () => {
  const registry = registryOf(createContainer());
  const context = { exchanges: {}, logger: silentLogger };
  const collectorsOf = (feeds: FeedConfig[]): DataSourceCollector[] => loadDataSourceCollectors(buildFeeds(feeds, registry), registry, context);

  it('collect: ["candles:1m,5m"] alone also collects the trades they are built from', () => {
    const collectors = collectorsOf([{ name: 'c', exchange: 'binance', symbol: 'BTC-USDT', collect: ['candles:1m,5m'], staleAfterMs: 30_000 }]);
    expect(collectors.map((c) => [c.kind, c.id, [...c.keys]])).toEqual([
      ['candles', 'candles:binance', ['candles:binance:BTC-USDT:1m', 'candles:binance:BTC-USDT:5m']],
      ['trades', 'trades:binance', ['trades:binance:BTC-USDT']],
    ]);
    expect(collectors[1]!.staleAfterMs).toBe(30_000);
  });

  it('unions the timeframes feeds ask for per symbol, with one trades collector', () => {
    const collectors = collectorsOf([
      { name: 'a', exchange: 'binance', symbol: 'BTC-USDT', collect: ['trades', 'candles:5m,1m'] },
      { name: 'b', exchange: 'binance', symbol: 'BTC-USDT', collect: ['candles:1h,5m'] },
      { name: 'c', exchange: 'binance', symbol: 'ETH-USDT', collect: ['candles:1m'] },
    ]);
    expect(collectors.filter((c) => c.kind === 'trades').map((c) => [...c.keys])).toEqual([['trades:binance:BTC-USDT', 'trades:binance:ETH-USDT']]);
    expect(collectors.filter((c) => c.kind === 'candles').map((c) => [...c.keys])).toEqual([
      ['candles:binance:BTC-USDT:1m', 'candles:binance:BTC-USDT:5m', 'candles:binance:BTC-USDT:1h', 'candles:binance:ETH-USDT:1m'],
    ]);
  });

  it('lets feeds ask for the same timeframes in another order or spelling, and merges liquidity modes (WebSocket and the shorter interval win)', () => {
    const collectors = collectorsOf([
      { name: 'a', exchange: 'binance', symbol: 'BTC-USDT', collect: ['candles:1m,5m', 'liquidity:rest:5s'] },
      { name: 'b', exchange: 'binance', symbol: 'BTC-USDT', collect: ['candles:5m,60s', 'liquidity:2s'] },
    ]);
    expect(collectors.filter((c) => c.kind === 'candles').map((c) => [...c.keys])).toEqual([['candles:binance:BTC-USDT:1m', 'candles:binance:BTC-USDT:5m']]);
    expect(collectors.filter((c) => c.kind === 'liquidity').map((c) => c.id)).toEqual(['liquidity:binance@2s']);
  });

  it('refuses bad timeframes and exchanges without a trades collector', () => {
    const feed = (spec: string, exchange = 'binance'): FeedConfig[] => [{ name: 'c', exchange, symbol: 'BTC-USDT', collect: [spec] }];
    expect(() => collectorsOf(feed('candles'))).toThrow(/collect "candles": candles needs timeframes/);
    expect(() => collectorsOf(feed('candles:0s'))).toThrow(/longer than 0/);
    expect(() => collectorsOf(feed('candles:1m,1m'))).toThrow(/listed twice/);
    expect(() => collectorsOf(feed('candles:1m', 'nowhere'))).toThrow(/nowhere/);
  });
});

describe('candles from the Binance simulator', () => {
  const simulator = useSimulator(startBinanceSimulator);
  afterEach(() => vi.useRealTimers());
  const WAIT = { timeout: 10_000, interval: 20 };

  /** The 1m candle of the trades sent in [openTime, openTime + 1m), as a kline would have it. */
  const expectedCandle = (sent: readonly BinanceTradePayload[], openTime: number, previousClose: number) => {
    const inBucket = sent.filter((t) => t.T >= openTime && t.T < openTime + MINUTE);
    const prices = inBucket.map((t) => Number(t.p));
    if (prices.length === 0) return { open: previousClose, high: previousClose, low: previousClose, close: previousClose, volume: 0, quote_volume: 0, trades: 0 };
    return {
      open: prices[0]!,
      high: Math.max(...prices),
      low: Math.min(...prices),
      close: prices.at(-1)!,
      volume: inBucket.reduce((sum, t) => sum + Number(t.q), 0),
      quote_volume: inBucket.reduce((sum, t) => sum + Number(t.p) * Number(t.q), 0),
      trades: inBucket.length,
    };
  };

  it('stores 1m and 5m candles whose volumes and counts are the sent trades’, flat through a pause', async () => {
    // Only Date is faked (and keeps running): sockets and timers stay real, and the test can skip ahead in time.
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
    const start = bucketStart(Date.now(), 5 * MINUTE) + 5 * MINUTE;
    vi.setSystemTime(start + 40_000);
    const sim = await simulator.start({ symbols: ['BTC-USDT'], tradesPerSecond: 200 });
    const feeds = buildFeeds([{ name: 'c', exchange: 'binance', symbol: 'BTC-USDT', collect: ['candles:1m,5m'] }], registryOf(createContainer()));
    const collectors = loadDataSourceCollectors(feeds, registryOf(createContainer()), { exchanges: { binance: { wsUrl: sim.wsUrl } }, logger: silentLogger });
    const storage = new MemoryStorage();
    const abort = new AbortController();
    const runs = collectors.map((c) => trackRun(c.run(storage, abort.signal)));
    const stored = async (key: string) => storage.fetch(key, 0, start + 60 * MINUTE);
    /** Lets trades flow until `count` more were sent, then pauses and waits until every one is stored. */
    const trade = async (count: number): Promise<void> => {
      const before = sim.sent('BTC-USDT').count;
      sim.resume();
      await vi.waitFor(() => expect(sim.sent('BTC-USDT').count).toBeGreaterThanOrEqual(before + count), WAIT);
      sim.pause();
      await vi.waitFor(async () => expect((await stored('trades:binance:BTC-USDT')).reduce((n, [, v]) => n + (v as Record<string, number>).count!, 0)).toBe(sim.sent('BTC-USDT').count), WAIT);
    };
    /** Skips ahead while no trade is generated (a paused simulator owes nothing for the skipped time). */
    const skipTo = async (time: number): Promise<void> => {
      vi.setSystemTime(time);
      await new Promise((resolve) => setTimeout(resolve, 50));
    };
    try {
      sim.pause();
      await vi.waitFor(() => expect(sim.connections()).toBe(1), WAIT);
      await trade(50); // in the first 1m bucket, from start + 40 s
      await skipTo(start + MINUTE + 1_000);
      await trade(50); // the second
      await skipTo(start + 4 * MINUTE + 1_000); // two minutes without trades
      await trade(50);
      await skipTo(start + 5 * MINUTE + 2_500); // past the end of the 5m bucket and the grace
      const sent = sim.sent('BTC-USDT').trades;
      const expected1m: Array<[number, Record<string, number>]> = [];
      let close = NaN;
      for (let m = 0; m < 5; m++) {
        const candle = expectedCandle(sent, start + m * MINUTE, close);
        close = candle.close;
        expected1m.push([start + m * MINUTE, candle]);
      }
      expect(expected1m.map(([, c]) => c.trades > 0)).toEqual([true, true, false, false, true]);
      const closeTo = ([t, c]: [number, Record<string, number>]) => [t, { ...c, volume: expect.closeTo(c.volume!, 9), quote_volume: expect.closeTo(c.quote_volume!, 4) }];
      await vi.waitFor(async () => expect(await stored('candles:binance:BTC-USDT:1m')).toEqual(expected1m.map(closeTo)), WAIT);
      const fiveMinutes = await stored('candles:binance:BTC-USDT:5m');
      expect(fiveMinutes).toHaveLength(1);
      expect(fiveMinutes[0]![1]).toMatchObject({
        open: expected1m[0]![1].open,
        close: expected1m[4]![1].close,
        high: Math.max(...expected1m.map(([, c]) => c.high!)),
        low: Math.min(...expected1m.map(([, c]) => c.low!)),
        volume: expect.closeTo(sent.reduce((sum, t) => sum + Number(t.q), 0), 9),
        trades: sent.length,
      });
      expect(runs.every((r) => !r.settled())).toBe(true);
    } finally {
      abort.abort();
      await Promise.all(runs.map((r) => r.run));
    }
  }, 30_000);
});
