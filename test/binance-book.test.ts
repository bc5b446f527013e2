import { describe, expect, it } from 'vitest';
import { binanceBook } from '../collectors/exchanges/binance/book.js';
import { binanceDepthRest } from '../collectors/exchanges/binance/depth-rest.js';
import { SyncedBook } from '../collectors/liquidity/book-sync.js';
import { channelUrl } from '../collectors/ws/channel-protocol.js';
import { SymbolTable } from '../collectors/ws/symbol-table.js';
import { fixture, NO_FIXTURES } from './support/fixtures.js';

const symbols = new SymbolTable(['FLM-USDT', 'ETH-USDT'], (s) => binanceBook.connection.toExchangeSymbol(s));
const context = { symbols, receivedAt: 0 };

describe('binance book channel', () => {
  it('subscribes to depth20@100ms on /stream and reads acks', () => {
    expect(channelUrl(binanceBook, 'wss://stream.binance.com:9443/', symbols)).toBe('wss://stream.binance.com:9443/stream');
    const [request] = binanceBook.subscribeMessages(symbols);
    expect(JSON.parse(request!.text)).toEqual({ method: 'SUBSCRIBE', params: ['flmusdt@depth20@100ms', 'ethusdt@depth20@100ms'], id: 1 });
    expect(binanceBook.onMessage('{"result":null,"id":1}', context)).toEqual({ ack: '1' });
    expect(binanceBook.onMessage('{"error":{"code":2,"msg":"Invalid request: invalid stream"},"id":1}', context).error?.ack).toBe('1');
    expect(binanceBook.resyncMessages('FLM-USDT', symbols)).toEqual([]);
  });

  it.skipIf(NO_FIXTURES)('parses the recorded FLMUSDT depth20 frame as a full snapshot', () => {
    const frame = binanceBook.onMessage(fixture('binance', 'ws_depth20_100ms_FLMUSDT_full20.json'), context);
    const [update] = frame.books!;
    expect(update).toMatchObject({ symbol: 'FLM-USDT', type: 'snapshot', sequence: 165284515 });
    expect(update!.bids).toHaveLength(20);
    expect(update!.asks[0]).toEqual(['0.48630000', '5601.00000000']);
    const synced = new SyncedBook(undefined);
    expect(synced.apply(update!).status).toBe('applied');
    expect(synced.book.bids[0]!.price).toBe(0.4856);
    // An older book than the one held is a regression.
    expect(synced.apply({ ...update!, sequence: 165284514 }).status).toBe('inconsistent');
  });

  it.skipIf(NO_FIXTURES)('parses the truncated 2022 ETHUSDT depth20 frame and refuses unsubscribed symbols', () => {
    // Recorded on the 1000 ms stream (`ethusdt@depth20`); the payload is the same, only the speed differs.
    const text = fixture('binance', 'ws_depth20_ETHUSDT_2022_truncated.json').replace('ethusdt@depth20"', 'ethusdt@depth20@100ms"');
    expect(binanceBook.onMessage(text, context).books![0]).toMatchObject({ symbol: 'ETH-USDT', type: 'snapshot', sequence: 17044571457 });
    expect(() => binanceBook.onMessage('{"stream":"btcusdt@depth20@100ms","data":{"lastUpdateId":1,"bids":[],"asks":[]}}', context)).toThrow(/did not subscribe/);
    expect(binanceBook.onMessage('{"stream":"ethusdt@trade","data":{}}', context)).toEqual({});
  });

  it.skipIf(NO_FIXTURES)('reads REST /api/v3/depth answers', () => {
    expect(binanceDepthRest.request('BTCUSDT')).toEqual({ path: '/api/v3/depth', params: { symbol: 'BTCUSDT', limit: 100 }, weight: 5 });
    const book = binanceDepthRest.parse(JSON.parse(fixture('binance', 'rest_depth_BTCUSDT_limit10.json')), 'BTCUSDT');
    expect(book.bids[0]).toEqual(['60650.00000000', '0.00213000']);
    expect(book.asks).toHaveLength(10);
    const big = binanceDepthRest.parse(JSON.parse(fixture('binance', 'rest_depth_NKNUSDT_limit1000.json')), 'NKNUSDT');
    expect(big.bids.length).toBeGreaterThan(100);
    expect(() => binanceDepthRest.parse({ code: -1121, msg: 'Invalid symbol.' }, 'X')).toThrow(/lastUpdateId/);
  });
});
