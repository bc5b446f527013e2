import { describe, expect, it } from 'vitest';
import { bybitBook } from '../collectors/exchanges/bybit/book.js';
import { bybitDepthRest } from '../collectors/exchanges/bybit/depth-rest.js';
import { SyncedBook } from '../collectors/liquidity/book-sync.js';
import { SymbolTable } from '../collectors/ws/symbol-table.js';
import { fixtureLines, NO_FIXTURES } from './support/fixtures.js';

const symbols = new SymbolTable(['BTC-USDT', 'XRP-USDT'], (s) => bybitBook.connection.toExchangeSymbol(s));
const context = { symbols, receivedAt: 0 };

describe('bybit orderbook.50', () => {
  it('subscribes by topic with a req_id ack and resyncs by resubscribing', () => {
    const [request] = bybitBook.subscribeMessages(symbols);
    expect(JSON.parse(request!.text)).toEqual({ req_id: 'books1', op: 'subscribe', args: ['orderbook.50.BTCUSDT', 'orderbook.50.XRPUSDT'] });
    expect(bybitBook.onMessage('{"success":true,"ret_msg":"subscribe","conn_id":"x","req_id":"books1","op":"subscribe"}', context)).toMatchObject({ ack: 'books1' });
    expect(bybitBook.resyncMessages('BTC-USDT', symbols).map((t) => (JSON.parse(t) as { op: string }).op)).toEqual(['unsubscribe', 'subscribe']);
  });

  it.skipIf(NO_FIXTURES)('applies the recorded spot snapshot and its delta (u 2876700 → 2876701)', () => {
    const [snapshotLine, deltaLine] = fixtureLines('bybit', 'ws_orderbook50_spot_BTCUSDT_snapshot_delta_2024-11-08.jsonl') as [string, string];
    const snapshot = bybitBook.onMessage(snapshotLine, context).books![0]!;
    expect(snapshot).toMatchObject({ symbol: 'BTC-USDT', type: 'snapshot', time: 1731035685326, sequence: 2876700, restartsSequence: true });
    expect(snapshot.bids[0]).toEqual(['75848.74', '0.067669']);
    const delta = bybitBook.onMessage(deltaLine, context).books![0]!;
    expect(delta).toMatchObject({ type: 'delta', sequence: 2876701, follows: 2876700 });
    const synced = new SyncedBook(50);
    expect(synced.apply(snapshot).status).toBe('applied');
    // The snapshot's u is where deltas continue from; a restart snapshot (u=1) replaces the book all the same.
    expect(synced.apply({ ...delta, follows: 2876699 }).status).toBe('inconsistent');
    expect(synced.apply(snapshot).status).toBe('applied');
    expect(synced.apply(delta).status).toBe('applied');
    expect(synced.book.bids.find((l) => l.price === 75848.62)?.size).toBe(0.014895);
    expect(synced.book.asks.some((l) => l.price === 75852.65)).toBe(false);
  });

  it.skipIf(NO_FIXTURES)('follows 50 recorded consecutive updates and detects a skipped one', () => {
    // A linear orderbook.500 recording: same frame shape and u rule, read here through the spot topic name.
    const lines = fixtureLines('bybit', 'ws_orderbook500_linear_XRPUSDT_2024-12-01_first50.jsonl').map((l) => l.replace('"orderbook.500.', '"orderbook.50.'));
    const updates = lines.flatMap((line) => bybitBook.onMessage(line, context).books ?? []);
    expect(updates[0]!.type).toBe('snapshot');
    const synced = new SyncedBook(undefined);
    expect(synced.apply(updates[0]!).status).toBe('applied');
    for (const update of updates.slice(1)) expect(synced.apply(update).status).toBe('applied');
    const skipped = new SyncedBook(undefined);
    skipped.apply(updates[0]!);
    skipped.apply(updates[1]!);
    expect(skipped.apply(updates[3]!)).toMatchObject({ status: 'inconsistent', reason: expect.stringMatching(/sequence gap/) });
  });

  it('reads REST v5 market/orderbook answers', () => {
    const book = bybitDepthRest.parse({ retCode: 0, retMsg: 'OK', result: { s: 'BTCUSDT', a: [['65557.7', '16.606555']], b: [['65485.47', '47.081829']], ts: 1716863719031, u: 230704, seq: 1432604333, cts: 1716863718905 } }, 'BTCUSDT');
    expect(book).toEqual({ bids: [['65485.47', '47.081829']], asks: [['65557.7', '16.606555']], time: 1716863719031 });
    expect(() => bybitDepthRest.parse({ retCode: 10001, retMsg: 'Illegal category' }, 'X')).toThrow(/10001/);
  });
});
