import { describe, expect, it } from 'vitest';
import { SyncedBook } from '../collectors/liquidity/book-sync.js';
import { parseLiquidityArg } from '../collectors/liquidity/collect-arg.js';
import { liquidityKey, liquiditySnapshot } from '../collectors/liquidity/depth.js';
import { OrderBook, type LevelText } from '../collectors/liquidity/order-book.js';
import { liquidityCollectorKind } from '../collectors/kinds.js';
import { fixture, lazyFixture, NO_FIXTURES } from './support/fixtures.js';
import { exchanges } from '../collectors/exchanges/index.js';

type Side = [string, string][];
const flm = lazyFixture(() => JSON.parse(fixture('binance', 'ws_depth20_100ms_FLMUSDT_full20.json')) as { data: { bids: Side; asks: Side } });
const btc = lazyFixture(() => JSON.parse(fixture('binance', 'rest_depth_BTCUSDT_limit10.json')) as { bids: Side; asks: Side });

/** Snapshot of a recorded book through an OrderBook, as the collectors compute it. */
function snapshotOf(bids: readonly LevelText[], asks: readonly LevelText[]) {
  const book = new OrderBook();
  book.replace(bids, asks);
  return liquiditySnapshot(book.bids, book.asks)!;
}

describe('liquidity snapshot math', () => {
  it.skipIf(NO_FIXTURES)('liquidity snapshots match depth computed by hand from a recorded book (FLMUSDT depth20)', () => {
    const s = snapshotOf(flm().data.bids, flm().data.asks);
    // Best bid 0.4856, best ask 0.4863: mid 0.48595, spread 0.0007 / 0.48595 = 14.4048 bps.
    expect(s.bid).toBe(0.4856);
    expect(s.ask).toBe(0.4863);
    expect(s.mid).toBeCloseTo(0.48595, 12);
    expect(s.spread_bps).toBeCloseTo(14.40477415, 6);
    // 10 bps: bids ≥ 0.48546405 (0.4856, 0.4855), asks ≤ 0.48643595 (0.4863).
    expect(s.bid_depth_10bps).toBeCloseTo(0.4856 * 2036.02 + 0.4855 * 480, 9);
    expect(s.ask_depth_10bps).toBeCloseTo(0.4863 * 5601, 9);
    // 50 bps: bids ≥ 0.48352025 (down to 0.4846), asks ≤ 0.48837975 (up to 0.4880).
    expect(s.bid_depth_50bps).toBeCloseTo(
      0.4856 * 2036.02 + 0.4855 * 480 + 0.4852 * 14257.67 + 0.4851 * 1056.25 + 0.485 * 1894.32 + 0.4848 * 2145.67 + 0.4846 * 2196.59,
      9,
    );
    expect(s.ask_depth_50bps).toBeCloseTo(
      0.4863 * 5601 + 0.4865 * 990 + 0.4867 * 7816 + 0.4868 * 7914.96 + 0.4869 * 963 + 0.4872 * 3640 + 0.4873 * 814.24 + 0.4878 * 3560 + 0.488 * 1029,
      9,
    );
    // 100 bps: bids ≥ 0.4810905 (all 20, the last at 0.4811), asks ≤ 0.4908095 (up to 0.4904).
    const allBids = flm().data.bids.reduce((sum, [p, q]) => sum + Number(p) * Number(q), 0);
    expect(s.bid_depth_100bps).toBeCloseTo(allBids, 9);
    expect(s.ask_depth_100bps).toBeCloseTo(
      0.4863 * 5601 + 0.4865 * 990 + 0.4867 * 7816 + 0.4868 * 7914.96 + 0.4869 * 963 + 0.4872 * 3640 + 0.4873 * 814.24 + 0.4878 * 3560 + 0.488 * 1029 +
        0.4888 * 13221.24 + 0.4894 * 3000 + 0.4898 * 62.75 + 0.49 * 1482.94 + 0.4904 * 516.34,
      9,
    );
  });

  it.skipIf(NO_FIXTURES)('counts every level of a narrow book in every band (BTCUSDT limit 10)', () => {
    const s = snapshotOf(btc().bids, btc().asks);
    expect(s.mid).toBeCloseTo(60650.005, 9);
    expect(s.spread_bps).toBeCloseTo((0.01 / 60650.005) * 10_000, 12);
    // The whole book spans 60639.93–60659.94, within 10 bps (±60.65) of the mid.
    const bids = 60650 * 0.00213 + 60648.08 * 0.06346 + 60648.01 * 0.0643 + 60648 * 0.09332 + 60647.53 * 0.19622 + 60647.52 * 0.03 + 60646.55 * 0.06431 + 60643.57 * 0.08904 + 60643.56 * 0.00203 + 60639.93 * 0.07282;
    expect(s.bid_depth_10bps).toBeCloseTo(bids, 6);
    expect(s.bid_depth_100bps).toBeCloseTo(bids, 6);
    expect(s.ask_depth_10bps).toBeCloseTo(s.ask_depth_100bps, 9);
    expect(s.ask_depth_10bps).toBeCloseTo(60650.01 * 0.61982 + 60653.68 * 0.00696 + 60653.69 * 0.00026 + 60656.89 * 0.01 + 60657.87 * 0.02 + 60657.99 * 0.04993 + 60658 * 0.02 + 60659 * 0.12244 + 60659.71 * 0.35691 + 60659.94 * 0.9617, 6);
  });

  it('counts a level exactly on a band edge and gives no snapshot for a one-sided or crossed book', () => {
    // mid 100: 10 bps below = 99.9, 50 bps below = 99.5, 50 bps above = 100.5, 100 bps above = 101.
    const s = snapshotOf([['99.9', '2'], ['99.5', '1'], ['99', '4']], [['100.1', '1'], ['101', '3']]);
    expect(s.bid_depth_10bps).toBeCloseTo(99.9 * 2, 9);
    expect(s.bid_depth_50bps).toBeCloseTo(99.9 * 2 + 99.5, 9);
    expect(s.ask_depth_50bps).toBeCloseTo(100.1, 9);
    expect(s.ask_depth_100bps).toBeCloseTo(100.1 + 303, 9);
    expect(liquiditySnapshot([], [{ price: 1, size: 1 }])).toBeUndefined();
    expect(liquiditySnapshot([{ price: 2, size: 1 }], [{ price: 2, size: 1 }])).toBeUndefined();
    expect(liquidityKey('okx', 'BTC-USDT')).toBe('liquidity:okx:BTC-USDT');
  });
});

describe('order book and its consistency checks', () => {
  it('keeps levels sorted, replaces sizes, deletes size-0 levels and truncates to depth', () => {
    const book = new OrderBook(3);
    book.replace([['10', '1'], ['12', '1'], ['11', '1']], [['14', '1'], ['13', '2']]);
    expect(book.bids.map((l) => l.price)).toEqual([12, 11, 10]);
    expect(book.asks.map((l) => l.price)).toEqual([13, 14]);
    book.apply('bid', [['11', '0'], ['12.5', '3'], ['9', '1']]);
    expect(book.bids.map((l) => [l.price, l.size])).toEqual([[12.5, 3], [12, 1], [10, 1]]);
    book.apply('ask', [['13', '5'], ['15', '1'], ['16', '1']]);
    expect(book.asks.map((l) => [l.priceText, l.sizeText])).toEqual([['13', '5'], ['14', '1'], ['15', '1']]);
    expect(() => book.apply('ask', [['abc', '1']])).toThrow(/bad book price/);
  });

  it('waits for a snapshot, and clears the book on a sequence gap, regression, checksum mismatch or cross', () => {
    const synced = new SyncedBook(undefined, (book) => book.bids.length * 100 + book.asks.length);
    expect(synced.apply({ symbol: 'X', type: 'delta', bids: [['1', '1']], asks: [] }).status).toBe('waiting');
    expect(synced.apply({ symbol: 'X', type: 'snapshot', bids: [['1', '1']], asks: [['2', '1']], sequence: 10, checksum: 101 }).status).toBe('applied');
    expect(synced.apply({ symbol: 'X', type: 'delta', bids: [['0.5', '1']], asks: [], sequence: 11, follows: 10, checksum: 201 }).status).toBe('applied');
    const gap = synced.apply({ symbol: 'X', type: 'delta', bids: [], asks: [], sequence: 13, follows: 12 });
    expect(gap).toMatchObject({ status: 'inconsistent', reason: expect.stringMatching(/sequence gap/) });
    expect(synced.synced).toBe(false);
    expect(synced.book.bids).toHaveLength(0);
    expect(synced.apply({ symbol: 'X', type: 'snapshot', bids: [['1', '1']], asks: [['2', '1']], sequence: 20 }).status).toBe('applied');
    expect(synced.apply({ symbol: 'X', type: 'snapshot', bids: [['1', '1']], asks: [['2', '1']], sequence: 19 })).toMatchObject({ status: 'inconsistent' });
    expect(synced.apply({ symbol: 'X', type: 'snapshot', bids: [['1', '1']], asks: [['2', '1']], checksum: 5 })).toMatchObject({ status: 'inconsistent', reason: expect.stringMatching(/checksum/) });
    expect(synced.apply({ symbol: 'X', type: 'snapshot', bids: [['3', '1']], asks: [['2', '1']] })).toMatchObject({ status: 'inconsistent', reason: expect.stringMatching(/crossed/) });
  });
});

describe('liquidity collect argument', () => {
  it('reads ws/rest and an interval, refusing anything else', () => {
    expect(parseLiquidityArg(undefined)).toEqual({ source: 'ws', intervalMs: 1000 });
    expect(parseLiquidityArg('rest')).toEqual({ source: 'rest', intervalMs: 1000 });
    expect(parseLiquidityArg('ws:500ms')).toEqual({ source: 'ws', intervalMs: 500 });
    expect(parseLiquidityArg('rest:5s')).toEqual({ source: 'rest', intervalMs: 5000 });
    expect(parseLiquidityArg('2s')).toEqual({ source: 'ws', intervalMs: 2000 });
    expect(() => parseLiquidityArg('fix')).toThrow(/liquidity:rest/);
    expect(() => parseLiquidityArg('rest:1s:2s')).toThrow(/bad liquidity argument/);
    expect(() => parseLiquidityArg('10ms')).toThrow(/minimum/);
    expect(liquidityCollectorKind.keysFor('binance', 'BTC-USDT', 'rest')).toEqual(['liquidity:binance:BTC-USDT']);
    expect(() => liquidityCollectorKind.keysFor('nowhere', 'BTC-USDT', undefined)).toThrow(`unknown exchange "nowhere"; known: ${exchanges.map((e) => e.name).join(', ')}`);
  });
});
