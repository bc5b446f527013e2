import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { startBinanceSimulator, type BinanceTradePayload } from '../collectors/exchanges/binance/simulator/index.js';
import { binanceTrades } from '../collectors/exchanges/binance/trades.js';
import { ConnectionTrades } from '../collectors/trades/connection-rotation.js';
import type { Trade } from '../collectors/trades/trade.js';
import { TradeStreamCollector } from '../collectors/trades/trade-stream.js';
import { MemoryStorage } from '../storage/memory.js';
import { trackRun } from './support/run-tracking.js';
import { useSimulator } from './support/simulator-harness.js';
import { expectStoredExactlyAsSent } from './support/trade-collection.js';
import { storedCount, type SentTradeFacts } from './support/trade-samples.js';

const WAIT = { timeout: 15_000 };

function readBinanceTrade(t: BinanceTradePayload): SentTradeFacts {
  return { time: t.T, price: Number(t.p), amount: t.q, takerSide: t.m ? -1 : 1 };
}

describe('ConnectionTrades (what a rotation holds back and passes on)', () => {
  const trade = (id: number, symbol = 'BTC-USDT'): Trade => ({ exchange: 'binance', symbol, id, price: 1, amount: 1, side: 1, exchangeTime: id, receivedAt: id });
  const ids = (trades: readonly Trade[]): Array<string | number> => trades.map((t) => t.id);

  it('switches only once the old connection delivered what the replacement holds, and passes on only what the old one lacked', () => {
    const old = new ConnectionTrades(true, false);
    const next = new ConnectionTrades(true, true);
    expect(ids(old.receive([trade(10), trade(11)]))).toEqual([10, 11]);
    // The replacement runs ahead: 13 and 14 arrive there before the old connection's 12 and 13.
    expect(next.receive([trade(13), trade(14)])).toEqual([]);
    expect(next.caughtUpBy(old, ['BTC-USDT'])).toBe(false);
    old.receive([trade(12)]);
    expect(next.caughtUpBy(old, ['BTC-USDT'])).toBe(false);
    old.receive([trade(13)]);
    expect(next.caughtUpBy(old, ['BTC-USDT'])).toBe(true);
    expect(ids(next.release(old))).toEqual([14]);
    // Released: the replacement's trades now pass straight on.
    expect(ids(next.receive([trade(15)]))).toEqual([15]);
  });

  it('waits for every symbol, and never judges unordered ids', () => {
    const old = new ConnectionTrades(true, false);
    const next = new ConnectionTrades(true, true);
    old.receive([trade(5), trade(7, 'ETH-USDT')]);
    next.receive([trade(5)]);
    expect(next.caughtUpBy(old, ['BTC-USDT', 'ETH-USDT'])).toBe(false);
    next.receive([trade(8, 'ETH-USDT')]);
    old.receive([trade(8, 'ETH-USDT')]);
    expect(next.caughtUpBy(old, ['BTC-USDT', 'ETH-USDT'])).toBe(true);
    const unordered = new ConnectionTrades(false, true);
    unordered.receive([trade(1)]);
    expect(unordered.caughtUpBy(new ConnectionTrades(false, false), ['BTC-USDT'])).toBe(false);
    expect(ids(unordered.release(old))).toEqual([1]);
  });
});

describe('Binance 24-hour connection cut', () => {
  const simulator = useSimulator(startBinanceSimulator);
  const symbols = ['BTC-USDT'];
  const key = 'trades:binance:BTC-USDT';
  const collectorFor = (wsUrl: string, maxConnectionAgeMs?: number): TradeStreamCollector =>
    new TradeStreamCollector({ id: 'trades:binance', protocol: binanceTrades, symbols, wsUrl, maxConnectionAgeMs });

  it('switches to a replacement before the server cuts the connection, losing and doubling nothing', { timeout: 30_000 }, async () => {
    const sim = await simulator.start({ symbols, tradesPerSecond: 200, maxConnectionAgeMs: 1_500 });
    const collector = collectorFor(sim.wsUrl, 1_000);
    const storage = new MemoryStorage();
    const abort = new AbortController();
    const running = trackRun(collector.run(storage, abort.signal));
    try {
      await vi.waitFor(() => expect(collector.connectionRotations).toBeGreaterThanOrEqual(4), WAIT);
      expect(running.settled()).toBe(false);
      sim.pause();
      await vi.waitFor(async () => expect(await storedCount(storage, key)).toBe(sim.sent('BTC-USDT').count), WAIT);
    } finally {
      abort.abort();
    }
    await expect(running.run).resolves.toBeUndefined();
    await vi.waitFor(() => expect(collector.progress.connections).toBe(0), WAIT);
    // Each connection was replaced (and closed by the collector) before the server's cut.
    expect(sim.connectionsOpened()).toBe(collector.connectionRotations + 1);
    expect(sim.connectionsCut()).toBe(0);
    expect(sim.sent('BTC-USDT').count).toBeGreaterThan(800);
    await expectStoredExactlyAsSent(storage, 'binance', sim, symbols, readBinanceTrade);
    expect(collector.progress.gaps).toBe(0);
  });

  it('without rotation, the server cut ends the run with an error', { timeout: 15_000 }, async () => {
    const sim = await simulator.start({ symbols, tradesPerSecond: 200, maxConnectionAgeMs: 1_000 });
    const collector = collectorFor(sim.wsUrl);
    const storage = new MemoryStorage();
    await expect(collector.run(storage, new AbortController().signal)).rejects.toThrow(/^trades:binance: connection closed by the server \(code 1000\)$/);
    expect(sim.connectionsCut()).toBe(1);
    expect(await storedCount(storage, key)).toBeGreaterThan(0);
    expect(collector.connectionRotations).toBe(0);
  });
});

describe('a replacement connection that fails', () => {
  let server: WebSocketServer | undefined;
  afterEach(async () => {
    server?.clients.forEach((client) => client.terminate());
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  it('keeps the current connection until it closes', { timeout: 15_000 }, async () => {
    // The first connection is acknowledged and gets trades; later ones are never acknowledged.
    const sockets: WebSocket[] = [];
    server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    server.on('connection', (socket) => {
      const first = sockets.length === 0;
      sockets.push(socket);
      if (first) socket.on('message', () => socket.send('{"result":null,"id":1}'));
    });
    await new Promise<void>((resolve) => server!.once('listening', () => resolve()));
    const wsUrl = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
    let id = 0;
    const feed = setInterval(() => {
      id += 1;
      sockets[0]?.send(JSON.stringify({ e: 'trade', E: id, s: 'BTCUSDT', t: id, p: '1.0', q: '1.0', T: id, m: false, M: true }));
    }, 10);
    try {
      const collector = new TradeStreamCollector({ id: 'trades:binance', protocol: binanceTrades, symbols: ['BTC-USDT'], wsUrl, maxConnectionAgeMs: 300, ackTimeoutMs: 200 });
      const storage = new MemoryStorage();
      const running = trackRun(collector.run(storage, new AbortController().signal));
      // The replacement is opened, then dropped by its ack timeout; trades keep coming on the first.
      await vi.waitFor(() => expect(sockets.length).toBe(2), WAIT);
      await vi.waitFor(() => expect(sockets[1]!.readyState).toBe(sockets[1]!.CLOSED), WAIT);
      // The dropped replacement no longer counts among the collector's connections.
      await vi.waitFor(() => expect(collector.progress.connections).toBe(1), WAIT);
      const stored = await storedCount(storage, 'trades:binance:BTC-USDT');
      await vi.waitFor(async () => expect(await storedCount(storage, 'trades:binance:BTC-USDT')).toBeGreaterThan(stored + 20), WAIT);
      expect(running.settled()).toBe(false);
      expect(collector.connectionRotations).toBe(0);
      sockets[0]!.close(1000);
      await expect(running.run).rejects.toThrow(/^trades:binance: connection closed by the server \(code 1000\)$/);
      await vi.waitFor(() => expect(collector.progress.connections).toBe(0), WAIT);
    } finally {
      clearInterval(feed);
    }
  });
});
