import { describe, expect, it } from 'vitest';
import { bitstampBook } from '../collectors/exchanges/bitstamp/book.js';
import { bitstampDepthRest } from '../collectors/exchanges/bitstamp/depth-rest.js';
import { startBitstampSimulator } from '../collectors/exchanges/bitstamp/simulator/index.js';
import { SyncedBook } from '../collectors/liquidity/book-sync.js';
import { SymbolTable } from '../collectors/ws/symbol-table.js';
import { fixture, fixtureLines, NO_FIXTURES } from './support/fixtures.js';
import { useSimulator } from './support/simulator-harness.js';

const context = { symbols: new SymbolTable(['BTC-USD', 'ETH-USD'], (s) => bitstampBook.connection.toExchangeSymbol(s)), receivedAt: 0 };

describe.skipIf(NO_FIXTURES)('Bitstamp order_book_ (real recordings)', () => {
  it('reads the 2020 100-level frames as snapshots ordered by microtimestamp; a frame gone back is refused', () => {
    const [first, second] = fixtureLines('bitstamp', 'ws_order_book_btcusd_100levels_2020_gct.jsonl').map((line) => bitstampBook.onMessage(line, context).books![0]!);
    expect(first).toMatchObject({ symbol: 'BTC-USD', type: 'snapshot', time: 1580336834607, sequence: 1580336834607546 });
    expect(first!.bids).toHaveLength(100);
    expect(first!.asks).toHaveLength(100);
    expect(first!.bids[0]).toEqual(['9328.28', '0.05925332']);
    const synced = new SyncedBook(bitstampBook.depth);
    expect(synced.apply(first!).status).toBe('applied');
    expect(synced.apply(second!).status).toBe('applied');
    expect(synced.apply(first!).status).toBe('inconsistent');
    const cmp = bitstampBook.onMessage(fixture('bitstamp', 'ws_order_book_btcusd_2022-05-31_truncated_cmp.json'), context).books![0]!;
    expect(cmp).toMatchObject({ time: 1653978373164, bids: [['31524.50', '0.36400000'], ['31521.05', '0.23734197'], ['31521.03', '0.66028343']] });
  });

  it('leaves the diff_order_book_ frames of the 2022 session alone and reads its acks', () => {
    const session = fixtureLines('bitstamp', 'ws_session_2022-01-05.jsonl');
    const frames = session.map((line) => bitstampBook.onMessage(line, context));
    expect(frames.filter((f) => f.books)).toEqual([]);
    expect(frames.filter((f) => f.ack)).toHaveLength(20);
  });

  it('reads the recorded REST order books', () => {
    const eth = bitstampDepthRest.parse(JSON.parse(fixture('bitstamp', 'rest_order_book_ethusd_2022-01-05.json')), 'ethusd');
    expect(eth.bids).toHaveLength(2023);
    expect(eth.asks).toHaveLength(1971);
    expect(eth.bids[0]).toEqual(['3802.90', '0.60000000']);
    expect(eth.time).toBe(1641343695681);
    expect(bitstampDepthRest.request('btcusd')).toEqual({ path: '/api/v2/order_book/btcusd/', params: {} });
    expect(() => bitstampDepthRest.parse({ status: 'error', reason: 'Invalid pair', code: 'API0001' }, 'x')).toThrow(/API0001/);
  });
});

// Storing and polling the book over WebSocket and REST: test/conformance/book.test.ts. Here: the answer's shape.
describe('Bitstamp simulator REST order book', () => {
  const simulator = useSimulator(startBitstampSimulator);

  it('answers /api/v2/order_book/<pair>/ in the documented key order', async () => {
    await simulator.start({ symbols: ['BTC-USD', 'ETH-USD'], tradesPerSecond: 20 });
    const { body } = await simulator.getJson<Record<string, unknown>>('/api/v2/order_book/btcusd/');
    expect(Object.keys(body)).toEqual(['timestamp', 'microtimestamp', 'bids', 'asks']);
  });
});
