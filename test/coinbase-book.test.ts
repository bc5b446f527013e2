import { describe, expect, it } from 'vitest';
import { coinbaseBook } from '../collectors/exchanges/coinbase/book.js';
import { coinbaseDepthRest } from '../collectors/exchanges/coinbase/depth-rest.js';
import { SyncedBook } from '../collectors/liquidity/book-sync.js';
import { SymbolTable } from '../collectors/ws/symbol-table.js';
import { fixture, fixtureLines, NO_FIXTURES } from './support/fixtures.js';

const symbols = new SymbolTable(['NU-GBP', 'SKL-USD'], (s) => coinbaseBook.connection.toExchangeSymbol(s));
const context = { symbols, receivedAt: 0 };

describe.skipIf(NO_FIXTURES)('coinbase level2_batch', () => {
  it('subscribes to level2_batch with heartbeats and reads the cumulative subscriptions ack', () => {
    const [request] = coinbaseBook.subscribeMessages(symbols);
    expect(JSON.parse(request!.text)).toEqual({ type: 'subscribe', product_ids: ['NU-GBP', 'SKL-USD'], channels: ['level2_batch', 'heartbeat'] });
    const [ack] = fixtureLines('coinbase', 'ws_subscriptions_acks.jsonl');
    expect(coinbaseBook.onMessage(ack!, context)).toEqual({ ack: 'level2' });
    expect(coinbaseBook.onMessage('{"type":"subscriptions","channels":[{"name":"level2_batch","product_ids":["NU-GBP"]}]}', context)).toEqual({});
  });

  it('builds the recorded NU-GBP and SKL-USD books from snapshot and l2updates, never crossed', () => {
    for (const [name, symbol] of [['ws_level2_snapshot_and_l2update_NU-GBP.jsonl', 'NU-GBP'], ['ws_level2_snapshot_and_l2update_SKL-USD_first400.jsonl', 'SKL-USD']] as const) {
      const synced = new SyncedBook(undefined);
      let applied = 0;
      for (const line of fixtureLines('coinbase', name)) {
        for (const update of coinbaseBook.onMessage(line, context).books ?? []) {
          expect(update.symbol).toBe(symbol);
          expect(synced.apply(update)).toEqual({ status: 'applied' });
          applied += 1;
        }
      }
      expect(applied).toBeGreaterThan(50);
      expect(synced.book.bids[0]!.price).toBeLessThan(synced.book.asks[0]!.price);
    }
    const update = coinbaseBook.onMessage('{"type":"l2update","product_id":"NU-GBP","changes":[["buy","0.4312","0.000000"]],"time":"2021-04-17T16:43:37.080304Z"}', context).books![0]!;
    expect(update).toEqual({ symbol: 'NU-GBP', type: 'delta', bids: [['0.4312', '0.000000']], asks: [], time: Date.parse('2021-04-17T16:43:37.080Z') });
  });

  it('reads REST level-2 books', () => {
    expect(coinbaseDepthRest.request('BTC-USD')).toEqual({ path: '/products/BTC-USD/book', params: { level: 2 } });
    const book = coinbaseDepthRest.parse(JSON.parse(fixture('coinbase', 'rest_book_level2_2022_truncated_cmp.json')), 'BTC-USD');
    expect(book.bids[0]).toEqual(['0.1135', '35']);
    expect(() => coinbaseDepthRest.parse({ message: 'NotFound' }, 'X')).toThrow(/NotFound/);
  });
});
