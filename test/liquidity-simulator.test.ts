import { describe, expect, it, vi } from 'vitest';
import { startBinanceSimulator } from '../collectors/exchanges/binance/simulator/index.js';
import { startCoinbaseSimulator } from '../collectors/exchanges/coinbase/simulator/index.js';
import { startKrakenSimulator } from '../collectors/exchanges/kraken/simulator/index.js';
import { okxBookProtocol } from '../collectors/exchanges/okx/book.js';
import { startOkxSimulator } from '../collectors/exchanges/okx/simulator/index.js';
import { BookStreamCollector } from '../collectors/liquidity/book-stream.js';
import { DepthPollCollector } from '../collectors/liquidity/depth-poller.js';
import { MemoryStorage } from '../storage/memory.js';
import type { Sample } from '../storage/types.js';
import { expectSaneSnapshots, liquidityCollectorsFor, runCollector } from './support/book-snapshots.js';
import { useSimulator } from './support/simulator-harness.js';

const INTERVAL_MS = 100;

/** Ticks after both symbols' first sample where `other` was stored and `symbol` was not. */
function ticksMissing(samples: Sample[], others: Sample[]): number[] {
  const own = new Set(samples.map(([t]) => t));
  const start = Math.max(samples[0]![0], others[0]![0]);
  return others.map(([t]) => t).filter((t) => t >= start && !own.has(t));
}

describe('liquidity collector against the Binance simulator', () => {
  const simulator = useSimulator(startBinanceSimulator);

  it('polls REST /api/v3/depth in rest mode', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USDT'], tradesPerSecond: 20 });
    const [collector] = liquidityCollectorsFor('binance', ['BTC-USDT'], 'rest:100ms', { restUrl: sim.restUrl });
    expect(collector).toBeInstanceOf(DepthPollCollector);
    expect(collector!.id).toBe('liquidity:binance:rest@100ms');
    const run = runCollector(collector!);
    try {
      await vi.waitFor(async () => expect((await run.fetch('liquidity:binance:BTC-USDT')).length).toBeGreaterThanOrEqual(5), { timeout: 5000 });
      expectSaneSnapshots(await run.fetch('liquidity:binance:BTC-USDT'));
      expect(sim.restRequests('/api/v3/depth')).toBeGreaterThanOrEqual(5);
      expect((collector as DepthPollCollector).failedPolls).toBe(0);
    } finally {
      await run.stop();
    }
    const { status, body } = await simulator.getJson<{ bids: [string, string][]; asks: unknown[] }>('/api/v3/depth?symbol=BTCUSDT&limit=5');
    expect(status).toBe(200);
    expect(body.bids).toHaveLength(5);
    expect(body.bids[0]![0]).toMatch(/^\d+\.\d{8}$/);
  });
});

describe('liquidity collector against the Kraken simulator', () => {
  const simulator = useSimulator(startKrakenSimulator);

  it('verifies checksums, resubscribes after a bad one and stores nothing for the book while it is inconsistent', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USD', 'ETH-USD'], tradesPerSecond: 50 });
    const [collector] = liquidityCollectorsFor('kraken', ['BTC-USD', 'ETH-USD'], 'ws:100ms', { wsUrl: sim.wsUrl });
    const run = runCollector(collector!);
    try {
      await vi.waitFor(async () => expect((await run.fetch('liquidity:kraken:BTC-USD')).length).toBeGreaterThanOrEqual(5), { timeout: 5000 });
      expect(collector!.progress.resyncs).toBe(0);
      expect(ticksMissing(await run.fetch('liquidity:kraken:BTC-USD'), await run.fetch('liquidity:kraken:ETH-USD'))).toEqual([]);
      // The fault hits the next update of the first listed symbol, BTC/USD.
      sim.corruptNextBookUpdate();
      await vi.waitFor(() => expect(collector!.progress.resyncs).toBe(1), { timeout: 3000 });
      // Unsubscribe, then subscribe 250 ms later (the send spacing) for a fresh snapshot.
      await vi.waitFor(() => expect(sim.bookSubscriptions()).toBe(3), { timeout: 3000 });
      const before = (await run.fetch('liquidity:kraken:BTC-USD')).length;
      await vi.waitFor(async () => expect((await run.fetch('liquidity:kraken:BTC-USD')).length).toBeGreaterThan(before + 3), { timeout: 3000 });
      const btc = await run.fetch('liquidity:kraken:BTC-USD');
      const eth = await run.fetch('liquidity:kraken:ETH-USD');
      // ETH's book stayed consistent and was stored at ticks where BTC's, being resynchronized, was not.
      expect(ticksMissing(btc, eth).length).toBeGreaterThanOrEqual(1);
      expect(ticksMissing(eth, btc)).toEqual([]);
      expectSaneSnapshots(btc);
      expectSaneSnapshots(eth);
      expect(collector!.progress.resyncs).toBe(1);
    } finally {
      await run.stop();
    }
  });
});

/** Waits until `key` holds more than `count` snapshots. */
async function waitForMore(run: ReturnType<typeof runCollector>, key: string, count: number, timeout = 5000): Promise<void> {
  await vi.waitFor(async () => expect((await run.fetch(key)).length).toBeGreaterThan(count), { timeout });
}

describe('liquidity collector against the Kraken simulator REST Depth', () => {
  const simulator = useSimulator(startKrakenSimulator);

  it('polls /0/public/Depth in rest mode and refuses it during maintenance', async () => {
    // Room besides the poller's one call a second for the probes below.
    const sim = await simulator.start({ symbols: ['BTC-USD'], tradesPerSecond: 20, restRequestLimit: { requests: 5, windowMs: 1000 } });
    const [collector] = liquidityCollectorsFor('kraken', ['BTC-USD'], 'rest:1s', { restUrl: sim.restUrl });
    expect(collector).toBeInstanceOf(DepthPollCollector);
    const run = runCollector(collector!);
    try {
      await waitForMore(run, 'liquidity:kraken:BTC-USD', 2, 6000);
      const samples = await run.fetch('liquidity:kraken:BTC-USD');
      expectSaneSnapshots(samples);
      expect(samples.every(([t]) => t % 1000 === 0)).toBe(true);
      expect((collector as DepthPollCollector).failedPolls).toBe(0);
      expect(sim.restRequests('/0/public/Depth')).toBeGreaterThanOrEqual(3);
    } finally {
      await run.stop();
    }
    type Depth = { error: string[]; result?: Record<string, { asks: [string, string, number][]; bids: [string, string, number][] }> };
    const { body } = await simulator.getJson<Depth>('/0/public/Depth?pair=XBTUSD&count=5');
    expect(body.error).toEqual([]);
    const book = body.result!.XXBTZUSD!;
    expect(book.asks).toHaveLength(5);
    expect(book.bids[0]).toEqual([expect.stringMatching(/^\d+\.\d{5}$/), expect.stringMatching(/^\d+\.\d{8}$/), expect.any(Number)]);
    expect(Number(book.bids[0]![0])).toBeLessThan(Number(book.asks[0]![0]));
    expect((await simulator.getJson<Depth>('/0/public/Depth?pair=FOOBAR')).body.error).toEqual(['EQuery:Unknown asset pair']);
    sim.setMaintenance(true);
    expect((await simulator.getJson<Depth>('/0/public/Depth?pair=XBTUSD')).body).toEqual({ error: ['EService:Unavailable'] });
  });
});

describe('liquidity collector against the OKX simulator', () => {
  const simulator = useSimulator(startOkxSimulator);

  it('serves books5 with OKX acks and pushes, a snapshot on subscribe', async () => {
    await simulator.start({ symbols: ['BTC-USDT'], tradesPerSecond: 20 });
    const probe = await simulator.probe('/ws/v5/public');
    probe.socket.send(JSON.stringify({ id: 'b1', op: 'subscribe', args: [{ channel: 'books5', instId: 'BTC-USDT' }] }));
    const ack = await probe.next();
    expect(ack).toMatch(/^\{"id":"b1","event":"subscribe","arg":\{"channel":"books5","instId":"BTC-USDT"\},"connId":"[0-9a-f]{8}"\}$/);
    const first = JSON.parse(await probe.next()) as { arg: unknown; data: Array<Record<string, unknown>> };
    expect(Object.keys(first)).toEqual(['arg', 'data']);
    expect(first.arg).toEqual({ channel: 'books5', instId: 'BTC-USDT' });
    const [entry] = first.data;
    expect(Object.keys(entry!)).toEqual(['asks', 'bids', 'instId', 'ts', 'seqId']);
    expect(entry!.asks).toHaveLength(5);
    expect((entry!.bids as string[][])[0]).toEqual([expect.stringMatching(/^\d+(\.\d+)?$/), expect.stringMatching(/^\d+(\.\d+)?$/), '0', expect.stringMatching(/^\d+$/)]);
    const next = JSON.parse(await probe.next()) as { data: Array<{ seqId: number }> };
    expect(next.data[0]!.seqId).toBeGreaterThan(entry!.seqId as number);
  });

  it('serves books as a checksummed snapshot then updates chained by prevSeqId', async () => {
    await simulator.start({ symbols: ['BTC-USDT'], tradesPerSecond: 20 });
    const probe = await simulator.probe('/ws/v5/public');
    probe.socket.send(JSON.stringify({ op: 'subscribe', args: [{ channel: 'books', instId: 'BTC-USDT' }] }));
    expect(JSON.parse(await probe.next())).toMatchObject({ event: 'subscribe', arg: { channel: 'books', instId: 'BTC-USDT' } });
    type Push = { arg: unknown; action: string; data: Array<{ checksum: number; prevSeqId: number; seqId: number }> };
    const snapshot = JSON.parse(await probe.next()) as Push;
    expect(Object.keys(snapshot)).toEqual(['arg', 'action', 'data']);
    expect(snapshot.action).toBe('snapshot');
    expect(Object.keys(snapshot.data[0]!)).toEqual(['asks', 'bids', 'ts', 'checksum', 'prevSeqId', 'seqId']);
    expect(snapshot.data[0]!.prevSeqId).toBe(-1);
    let previous = snapshot.data[0]!.seqId;
    for (let i = 0; i < 3; i++) {
      const update = JSON.parse(await probe.next()) as Push;
      expect(update.action).toBe('update');
      expect(update.data[0]!.prevSeqId).toBe(previous);
      previous = update.data[0]!.seqId;
    }
  });

  it('verifies books checksums and resubscribes after a bad one', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USDT', 'ETH-USDT'], tradesPerSecond: 50 });
    const collector = new BookStreamCollector({ id: 'liquidity:okx:books', protocol: okxBookProtocol('books'), symbols: ['BTC-USDT', 'ETH-USDT'], wsUrl: sim.wsUrl, intervalMs: INTERVAL_MS });
    const run = runCollector(collector);
    try {
      await waitForMore(run, 'liquidity:okx:BTC-USDT', 4);
      expect(collector.progress.resyncs).toBe(0);
      sim.corruptNextBookUpdate();
      await vi.waitFor(() => expect(collector.progress.resyncs).toBe(1), { timeout: 3000 });
      await waitForMore(run, 'liquidity:okx:BTC-USDT', (await run.fetch('liquidity:okx:BTC-USDT')).length + 3, 3000);
      expectSaneSnapshots(await run.fetch('liquidity:okx:BTC-USDT'));
      expectSaneSnapshots(await run.fetch('liquidity:okx:ETH-USDT'));
      expect(collector.progress.resyncs).toBe(1);
      expect(collector.unparsedFrames).toBe(0);
    } finally {
      await run.stop();
    }
  });

  it('fails only the book OKX refuses, naming the book subscription and the instrument; the others are kept', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USDT'], tradesPerSecond: 20 });
    const [collector] = liquidityCollectorsFor('okx', ['BTC-USDT', 'FOO-USDT'], 'ws:100ms', { wsUrl: sim.wsUrl });
    const run = runCollector(collector!);
    try {
      await waitForMore(run, 'liquidity:okx:BTC-USDT', 2);
      const [failed, ...more] = collector!.progress.failures.list();
      expect(more).toEqual([]);
      expect(failed).toMatchObject({ key: 'liquidity:okx:FOO-USDT', symbol: 'FOO-USDT' });
      expect(failed!.reason).toMatch(/^okx rejected the book subscription for FOO-USDT \(request books5:FOO-USDT\): code 60018: Wrong URL or channel:books5,instId:FOO-USDT/);
      expect(await run.fetch('liquidity:okx:FOO-USDT')).toEqual([]);
    } finally {
      await run.stop();
    }
  });

  it('fails a collector whose every book is refused, naming each', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USDT'], tradesPerSecond: 20 });
    const [collector] = liquidityCollectorsFor('okx', ['FOO-USDT'], 'ws:100ms', { wsUrl: sim.wsUrl });
    await expect(collector!.run(new MemoryStorage(), new AbortController().signal)).rejects.toThrow(
      /^okx rejected the book subscription for FOO-USDT \(request books5:FOO-USDT\): code 60018: Wrong URL or channel:books5,instId:FOO-USDT/,
    );
  });

  it('polls REST /api/v5/market/books in rest mode and refuses it during maintenance', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USDT'], tradesPerSecond: 20 });
    const [collector] = liquidityCollectorsFor('okx', ['BTC-USDT'], 'rest:100ms', { restUrl: sim.restUrl });
    expect(collector).toBeInstanceOf(DepthPollCollector);
    const run = runCollector(collector!);
    try {
      await waitForMore(run, 'liquidity:okx:BTC-USDT', 4);
      expectSaneSnapshots(await run.fetch('liquidity:okx:BTC-USDT'));
      expect((collector as DepthPollCollector).failedPolls).toBe(0);
      expect(sim.rateLimited()).toBe(0);
    } finally {
      await run.stop();
    }
    type Books = { code: string; msg: string; data: Array<{ asks: string[][]; bids: string[][]; ts: string }> };
    const { status, body } = await simulator.getJson<Books>('/api/v5/market/books?instId=BTC-USDT&sz=3');
    expect(status).toBe(200);
    expect(Object.keys(body)).toEqual(['code', 'msg', 'data']);
    expect(Object.keys(body.data[0]!)).toEqual(['asks', 'bids', 'ts']);
    expect(body.data[0]!.bids).toHaveLength(3);
    expect(body.data[0]!.asks[0]).toHaveLength(4);
    expect((await simulator.getJson<Books>('/api/v5/market/books?instId=FOO-USDT')).body.code).toBe('51001');
    sim.setMaintenance(true);
    expect(await simulator.getJson<Books>('/api/v5/market/books?instId=BTC-USDT')).toMatchObject({ status: 503, body: { code: '50001' } });
  });
});

describe('liquidity collector against the Coinbase simulator', () => {
  const simulator = useSimulator(startCoinbaseSimulator);

  it('serves level2_batch: the cumulative subscriptions reply, a snapshot, then l2update batches', async () => {
    await simulator.start({ symbols: ['BTC-USD'], tradesPerSecond: 20 });
    const probe = await simulator.probe('/');
    probe.socket.send(JSON.stringify({ type: 'subscribe', product_ids: ['BTC-USD'], channels: ['matches'] }));
    await probe.nextWhere((text) => text.includes('"subscriptions"'));
    probe.socket.send(JSON.stringify({ type: 'subscribe', product_ids: ['BTC-USD'], channels: ['level2_batch'] }));
    const reply = await probe.nextWhere((text) => text.includes('"subscriptions"'));
    expect(JSON.parse(reply)).toEqual({ type: 'subscriptions', channels: [{ name: 'matches', product_ids: ['BTC-USD'] }, { name: 'level2_batch', product_ids: ['BTC-USD'] }] });
    const snapshot = JSON.parse(await probe.nextWhere((text) => text.includes('"snapshot"'))) as Record<string, string[][]>;
    expect(Object.keys(snapshot)).toEqual(['type', 'product_id', 'asks', 'bids']);
    expect(snapshot.bids![0]).toEqual([expect.stringMatching(/^\d+\.\d{2}$/), expect.stringMatching(/^\d+\.\d{8}$/)]);
    const update = JSON.parse(await probe.nextWhere((text) => text.includes('"l2update"'))) as { changes: string[][] };
    expect(Object.keys(update)).toEqual(['type', 'product_id', 'changes', 'time']);
    expect(['buy', 'sell']).toContain(update.changes[0]![0]);
  });

  it('polls REST /products/<id>/book?level=2 in rest mode and refuses it during maintenance', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USD'], tradesPerSecond: 20 });
    const [collector] = liquidityCollectorsFor('coinbase', ['BTC-USD'], 'rest:200ms', { restUrl: sim.restUrl });
    expect(collector).toBeInstanceOf(DepthPollCollector);
    const run = runCollector(collector!);
    try {
      await waitForMore(run, 'liquidity:coinbase:BTC-USD', 4);
      expectSaneSnapshots(await run.fetch('liquidity:coinbase:BTC-USD'));
      expect((collector as DepthPollCollector).failedPolls).toBe(0);
      expect(sim.restRequests('/products/BTC-USD/book')).toBeGreaterThanOrEqual(5);
    } finally {
      await run.stop();
    }
    type Book = { bids: [string, string, number][]; asks: unknown[]; sequence: number };
    const { status, body } = await simulator.getJson<Book>('/products/BTC-USD/book?level=2');
    expect(status).toBe(200);
    expect(Object.keys(body)).toEqual(['bids', 'asks', 'sequence', 'auction_mode', 'auction', 'time']);
    expect(body.bids).toHaveLength(50);
    expect(body.bids[0]).toEqual([expect.stringMatching(/^\d+(\.\d+)?$/), expect.stringMatching(/^\d+(\.\d+)?$/), expect.any(Number)]);
    expect((await simulator.getJson<Book>('/products/BTC-USD/book')).body.bids).toHaveLength(1);
    expect((await simulator.getJson('/products/FOO-USD/book?level=2')).body).toEqual({ message: 'NotFound' });
    sim.setMaintenance(true);
    expect((await simulator.getJson('/products/BTC-USD/book?level=2')).status).toBe(503);
  });
});
