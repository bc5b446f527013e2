import { describe, expect, it } from 'vitest';
import { krakenBook, krakenBookChecksum } from '../collectors/exchanges/kraken/book.js';
import { krakenDepthRest } from '../collectors/exchanges/kraken/depth-rest.js';
import { SyncedBook } from '../collectors/liquidity/book-sync.js';
import { SymbolTable } from '../collectors/ws/symbol-table.js';
import { fixture, fixtureLines, lazyFixture, NO_FIXTURES } from './support/fixtures.js';

const symbols = new SymbolTable(['ETH-USD'], (s) => krakenBook.connection.toExchangeSymbol(s));
const context = { symbols, receivedAt: 0 };
const recorded = lazyFixture(() => {
  const [ack, snapshot, update] = fixtureLines('kraken', 'ws_v2_book_ETH-USD_depth10_ack_snapshot_update_2025-05-06.jsonl') as [string, string, string];
  return { ack, snapshot, update };
});

describe.skipIf(NO_FIXTURES)('kraken v2 book channel', () => {
  it('subscribes with a depth and snapshot, and resyncs by unsubscribing then subscribing', () => {
    const [request] = krakenBook.subscribeMessages(symbols);
    expect(JSON.parse(request!.text)).toEqual({ method: 'subscribe', params: { channel: 'book', symbol: ['ETH/USD'], depth: 100, snapshot: true }, req_id: 1 });
    expect(request!.acks).toEqual([{ key: 'ETH/USD', symbols: ['ETH-USD'] }]);
    expect(krakenBook.onMessage(recorded().ack, context)).toEqual({ ack: 'ETH/USD' });
    expect(krakenBook.resyncMessages('ETH-USD', symbols).map((t) => (JSON.parse(t) as { method: string }).method)).toEqual(['unsubscribe', 'subscribe']);
  });

  it('verifies both recorded CRC32 checksums (2606672715, 3329440863) from the frames’ full-precision text', () => {
    const snapshot = krakenBook.onMessage(recorded().snapshot, context).books![0]!;
    expect(snapshot).toMatchObject({ symbol: 'ETH-USD', type: 'snapshot', checksum: 2606672715 });
    // The text keeps trailing zeros that JSON.parse drops: the checksum is over the text.
    expect(snapshot.asks[3]).toEqual(['1797.30', '139.09783403']);
    const synced = new SyncedBook(10, krakenBookChecksum);
    expect(synced.apply(snapshot)).toEqual({ status: 'applied' });
    expect(krakenBookChecksum(synced.book)).toBe(2606672715);
    const update = krakenBook.onMessage(recorded().update, context).books![0]!;
    expect(update).toMatchObject({ type: 'delta', checksum: 3329440863, time: Date.parse('2025-05-06T09:17:26.208Z') });
    expect(synced.apply(update)).toEqual({ status: 'applied' });
    expect(krakenBookChecksum(synced.book)).toBe(3329440863);
    expect(synced.book.asks).toHaveLength(10);
  });

  it('finds a corrupted update by its checksum and clears the book', () => {
    const synced = new SyncedBook(10, krakenBookChecksum);
    synced.apply(krakenBook.onMessage(recorded().snapshot, context).books![0]!);
    const corrupted = recorded().update.replace('"qty":1.56601318', '"qty":1.56601319');
    const outcome = synced.apply(krakenBook.onMessage(corrupted, context).books![0]!);
    expect(outcome).toMatchObject({ status: 'inconsistent', reason: expect.stringMatching(/checksum 3329440863/) });
    expect(synced.synced).toBe(false);
  });

  it('reads REST Depth answers whatever the result key', () => {
    expect(krakenDepthRest.toRestSymbol('BTC-USDT')).toBe('XBTUSDT');
    const book = krakenDepthRest.parse(JSON.parse(fixture('kraken', 'rest_Depth_XBTUSDT.json')), 'XBTUSDT');
    expect(book.asks[0]).toEqual(['105944.30000', '0.136']);
    expect(book.bids.length).toBe(5);
    const legacy = krakenDepthRest.parse(JSON.parse(fixture('kraken', 'rest_Depth_XXBTZUSD_2022_truncated_cmp.json')), 'XBTUSD');
    expect(legacy.bids.length).toBeGreaterThan(0);
    expect(() => krakenDepthRest.parse({ error: ['EQuery:Unknown asset pair'] }, 'X')).toThrow(/Unknown asset pair/);
  });
});
