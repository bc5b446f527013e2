import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { gateioBook } from '../collectors/exchanges/gateio/book.js';
import { gateioDepthRest } from '../collectors/exchanges/gateio/depth-rest.js';
import { startGateioSimulator } from '../collectors/exchanges/gateio/simulator/index.js';
import { SyncedBook } from '../collectors/liquidity/book-sync.js';
import { SymbolTable } from '../collectors/ws/symbol-table.js';
import { fixture, fixtureLines, fixturePath, NO_FIXTURES } from './support/fixtures.js';
import { useSimulator } from './support/simulator-harness.js';

const context = { symbols: new SymbolTable(['BTC-USDT', 'ETH-USDT'], (s) => gateioBook.connection.toExchangeSymbol(s)), receivedAt: 0 };

describe.skipIf(NO_FIXTURES)('Gate.io spot.order_book (real recordings)', () => {
  it('reads the 2022 20-level frame as a snapshot ordered by lastUpdateId; a frame gone back is refused', () => {
    const text = fixture('gateio', 'ws_order_book_BTC_USDT_20levels_2022-09-08_cmp.json');
    const book = gateioBook.onMessage(text, context).books![0]!;
    expect(book).toMatchObject({ symbol: 'BTC-USDT', type: 'snapshot', time: 1662630117190, sequence: 8093065166 });
    expect(book.bids).toHaveLength(20);
    expect(book.asks).toHaveLength(20);
    expect(book.bids[0]).toEqual(['19201.39', '0.0005']);
    expect(book.asks[0]).toEqual(['19201.4', '1.0963']);
    const older = gateioBook.onMessage(text.replace('"lastUpdateId":8093065166', '"lastUpdateId":8093065165'), context).books![0]!;
    const synced = new SyncedBook(gateioBook.depth);
    expect(synced.apply(book).status).toBe('applied');
    expect(synced.apply(older).status).toBe('inconsistent');
  });

  it('leaves the spot.order_book_update and other channels of the 2021 session alone', () => {
    const frames = fixtureLines('gateio', 'ws_session_2021-04-22.jsonl').map((line) => gateioBook.onMessage(line, context));
    expect(frames.filter((f) => f.books || f.error)).toEqual([]);
  });

  it('reads every recorded REST order book: 2021 (id, no time), 2022 (current/update), 2025 (id/current/update)', () => {
    const files = readdirSync(fixturePath('gateio')).filter((name) => name.startsWith('rest_order_book_'));
    expect(files).toHaveLength(12);
    for (const name of files) {
      const book = gateioDepthRest.parse(JSON.parse(fixture('gateio', name)), 'X_Y');
      expect(book.bids.length, name).toBeGreaterThan(0);
      expect(Number(book.bids[0]![0]), name).toBeLessThan(Number(book.asks[0]![0]));
    }
    const cmp = gateioDepthRest.parse(JSON.parse(fixture('gateio', 'rest_order_book_BTC_USDT_5levels_2022-06-03_cmp.json')), 'BTC_USDT');
    expect(cmp).toMatchObject({ time: 1654249533113, bids: [['30168.32', '0.5748'], ['30165.14', '0.0158'], ['30164.8', '0.035'], ['30163.13', '0.0023'], ['30162.67', '0.1252']] });
    expect(gateioDepthRest.parse(JSON.parse(fixture('gateio', 'rest_order_book_BTC_USDT_with_id_2025-09-29_gct_truncated.json')), 'BTC_USDT').time).toBe(1759104757920);
    expect(gateioDepthRest.parse(JSON.parse(fixture('gateio', 'rest_order_book_BTC_USDC_limit100_with_id_2021-04-22.json')), 'BTC_USDC').time).toBeUndefined();
  });
});

describe('Gate.io order book hooks', () => {
  it('subscribes one pair a request to 20 levels every 100 ms and reads the acks and refusals of those requests', () => {
    const [btc, eth] = gateioBook.subscribeMessages(context.symbols, 7);
    expect(JSON.parse(btc!.text)).toMatchObject({ id: 7, channel: 'spot.order_book', event: 'subscribe', payload: ['BTC_USDT', '20', '100ms'] });
    expect(eth!.acks).toEqual([{ key: 'spot.order_book#8', symbols: ['ETH-USDT'] }]);
    const reply = (extra: object) => JSON.stringify({ time: 1, id: 8, conn_id: 'c', channel: 'spot.order_book', event: 'subscribe', payload: ['ETH_USDT', '20', '100ms'], ...extra });
    expect(gateioBook.onMessage(reply({ result: { status: 'success' } }), context)).toEqual({ ack: 'spot.order_book#8', error: undefined });
    expect(gateioBook.onMessage(reply({ error: { code: 2, message: 'Invalid argument provided' }, result: { status: 'fail' } }), context).error).toEqual({ ack: 'spot.order_book#8', reason: 'code 2: Invalid argument provided' });
    expect(gateioBook.onMessage('{"time":1,"channel":"spot.pong","event":"","error":null,"result":null}', context)).toEqual({ heartbeat: true });
  });

  it('names what is wrong in a frame or an error answer', () => {
    expect(() => gateioBook.onMessage('{"channel":"spot.order_book","event":"update","result":{"t":1,"lastUpdateId":2,"s":"XRP_USDT","bids":[],"asks":[]}}', context)).toThrow(/XRP_USDT, which this connection did not subscribe/);
    expect(() => gateioBook.onMessage('{"channel":"spot.order_book","event":"update","result":{"t":1,"lastUpdateId":"2","s":"BTC_USDT","bids":[],"asks":[]}}', context)).toThrow(/lastUpdateId is not an integer/);
    expect(() => gateioDepthRest.parse({ label: 'INVALID_CURRENCY_PAIR', message: 'Invalid currency pair X_Y' }, 'X_Y')).toThrow(/INVALID_CURRENCY_PAIR/);
    expect(gateioDepthRest.request('BTC_USDT')).toEqual({ path: '/api/v4/spot/order_book', params: { currency_pair: 'BTC_USDT', limit: 100 } });
  });
});

// Storing and polling the book over WebSocket and REST: test/conformance/book.test.ts. Here: the answer's shape.
describe('Gate.io simulator REST order book', () => {
  const simulator = useSimulator(startGateioSimulator);

  it('answers /api/v4/spot/order_book in the documented key order, with as many levels as asked', async () => {
    await simulator.start({ symbols: ['BTC-USDT', 'ETH-USDT'], tradesPerSecond: 20 });
    const { body } = await simulator.getJson<Record<string, unknown>>('/api/v4/spot/order_book?currency_pair=BTC_USDT&limit=5&with_id=true');
    expect(Object.keys(body)).toEqual(['id', 'current', 'update', 'asks', 'bids']);
    expect(body.bids).toHaveLength(5);
  });
});
