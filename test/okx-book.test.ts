import { describe, expect, it } from 'vitest';
import { okxBook, okxBookChecksum, okxBookProtocol } from '../collectors/exchanges/okx/book.js';
import { okxDepthRest } from '../collectors/exchanges/okx/depth-rest.js';
import { SyncedBook } from '../collectors/liquidity/book-sync.js';
import { SymbolTable } from '../collectors/ws/symbol-table.js';
import { fixture, fixtureLines, NO_FIXTURES } from './support/fixtures.js';

const symbols = new SymbolTable(['BTC-USDT'], (s) => okxBook.connection.toExchangeSymbol(s));
const context = { symbols, receivedAt: 0 };

describe('okx book channels', () => {
  it('subscribes to books5 with one ack per instrument and reads acks', () => {
    const [request] = okxBook.subscribeMessages(symbols);
    expect(JSON.parse(request!.text)).toEqual({ id: 'books1', op: 'subscribe', args: [{ channel: 'books5', instId: 'BTC-USDT' }] });
    expect(request!.acks).toEqual([{ key: 'books5:BTC-USDT', symbols: ['BTC-USDT'] }]);
    expect(okxBook.onMessage('{"event":"subscribe","arg":{"channel":"books5","instId":"BTC-USDT"},"connId":"a4d3ae55"}', context)).toEqual({ ack: 'books5:BTC-USDT' });
    expect(okxBook.onMessage('pong', context)).toEqual({ heartbeat: true });
    expect(okxBook.resyncMessages('BTC-USDT', symbols)).toEqual([]);
  });

  it.skipIf(NO_FIXTURES)('parses the recorded books5 push as a full 5-level snapshot', () => {
    const [update] = okxBook.onMessage(fixture('okx', 'ws_books5_BTC-USDT_2022.json'), context).books!;
    expect(update).toMatchObject({ symbol: 'BTC-USDT', type: 'snapshot', time: 1652671418459 });
    expect(update!.asks[0]).toEqual(['30221.8', '0.00439']);
    expect(update!.bids).toHaveLength(5);
    const synced = new SyncedBook(5, okxBookChecksum);
    expect(synced.apply(update!).status).toBe('applied');
  });

  it.skipIf(NO_FIXTURES)('verifies all 98 recorded CRC32 checksums of the books channel (snapshot then 97 updates)', () => {
    const books = okxBookProtocol('books');
    const synced = new SyncedBook(books.depth, okxBookChecksum);
    const lines = fixtureLines('okx', 'ws_books_BTC-USDT_snapshot_then_updates.jsonl');
    expect(lines).toHaveLength(98);
    let verified = 0;
    for (const line of lines) {
      for (const update of books.onMessage(line, context).books!) {
        expect(update.checksum).toBeTypeOf('number');
        expect(synced.apply(update)).toEqual({ status: 'applied' });
        expect(okxBookChecksum(synced.book)).toBe(update.checksum);
        verified += 1;
      }
    }
    expect(verified).toBe(98);
    // A corrupted size is caught by the next checksum.
    const corrupted = lines[1]!.replace('"30243.5","1.2112"', '"30243.5","1.2113"');
    const fresh = new SyncedBook(books.depth, okxBookChecksum);
    fresh.apply(books.onMessage(lines[0]!, context).books![0]!);
    expect(fresh.apply(books.onMessage(corrupted, context).books![0]!)).toMatchObject({ status: 'inconsistent' });
    expect(books.resyncMessages('BTC-USDT', symbols).map((t) => (JSON.parse(t) as { op: string }).op)).toEqual(['unsubscribe', 'subscribe']);
  });

  it('checks seqId/prevSeqId on the books channel', () => {
    const books = okxBookProtocol('books');
    const frame = (action: string, seqId: number, prevSeqId: number, bid: string): string =>
      JSON.stringify({ arg: { channel: 'books', instId: 'BTC-USDT' }, action, data: [{ asks: [['101', '1', '0', '1']], bids: [[bid, '1', '0', '1']], ts: '1', seqId, prevSeqId }] });
    const synced = new SyncedBook(books.depth);
    expect(synced.apply(books.onMessage(frame('snapshot', 10, -1, '100'), context).books![0]!).status).toBe('applied');
    expect(synced.apply(books.onMessage(frame('update', 11, 10, '99'), context).books![0]!).status).toBe('applied');
    expect(synced.apply(books.onMessage(frame('update', 13, 12, '98'), context).books![0]!)).toMatchObject({ status: 'inconsistent', reason: expect.stringMatching(/gap/) });
  });

  it.skipIf(NO_FIXTURES)('reads REST market/books answers', () => {
    const book = okxDepthRest.parse(JSON.parse(fixture('okx', 'rest_books_BTC-USDT_2022_truncated.json')), 'BTC-USDT');
    expect(book).toMatchObject({ time: 1654328918680 });
    expect(book.bids[0]).toEqual(['29692.4', '0.43986254']);
    expect(() => okxDepthRest.parse({ code: '51001', msg: "Instrument ID doesn't exist", data: [] }, 'X')).toThrow(/51001/);
  });
});
