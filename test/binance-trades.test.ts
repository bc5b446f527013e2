import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocketServer } from 'ws';
import { binanceTrades } from '../collectors/exchanges/binance/trades.js';
import { startBinanceSimulator } from '../collectors/exchanges/binance/simulator/index.js';
import { compareTradeIds, TradeDeduplicator } from '../collectors/trades/dedup.js';
import { tradesCollectorKind } from '../collectors/kinds.js';
import { SymbolTable } from '../collectors/ws/symbol-table.js';
import type { Trade } from '../collectors/trades/trade.js';
import { TradeStreamCollector } from '../collectors/trades/trade-stream.js';
import { openWebSocket, SocketLoop } from '../collectors/ws/socket.js';
import type { DataRequirement } from '../collectors/types.js';
import { silentLogger } from '../common/logger.js';
import { MemoryStorage } from '../storage/memory.js';
import { docsExample, fixture, fixtureLines, NO_FIXTURES } from './support/fixtures.js';
import { trackRun } from './support/run-tracking.js';
import { useSimulator } from './support/simulator-harness.js';
import { expectSkipsMalformedFrame } from './support/trade-collection.js';
import { RECEIVED_AT, tradeFrameReaders } from './support/trade-frames.js';
import { storedCount } from './support/trade-samples.js';

const { contextFor, tradesOf } = tradeFrameReaders(binanceTrades);

describe.skipIf(NO_FIXTURES)('Binance trade frames (real recordings)', () => {
  it('parses the current format (no b/a): buyer is maker → taker sold', () => {
    const [trade] = tradesOf(fixture('binance', 'ws_trade_current_format_2026-09-29.json'), contextFor('BTC-USDT'));
    expect(trade).toEqual({
      exchange: 'binance',
      symbol: 'BTC-USDT',
      id: 6720857582,
      price: 83034.29,
      amount: 0.00062,
      side: -1,
      exchangeTime: 1790649901913,
      receivedAt: RECEIVED_AT,
    });
  });

  it('parses the 2021 format with b/a order ids, using T (trade time) rather than E', () => {
    const [waves] = tradesOf(fixture('binance', 'ws_trade_legacy_with_b_a_2021-05.json'), contextFor('WAVES-USDT'));
    expect(waves).toEqual({
      exchange: 'binance', symbol: 'WAVES-USDT', id: 23385964, price: 37.849, amount: 1.853, side: 1,
      exchangeTime: 1620120764376, receivedAt: RECEIVED_AT,
    });
    // Pretty-printed over several lines, as nautilus_trader stores it.
    const [eth] = tradesOf(fixture('binance', 'ws_trade_legacy_with_b_a_2021-12.json'), contextFor('ETH-USDT'));
    expect(eth).toEqual({
      exchange: 'binance', symbol: 'ETH-USDT', id: 705291099, price: 4149.74, amount: 0.4387, side: -1,
      exchangeTime: 1639351062243, receivedAt: RECEIVED_AT,
    });
  });

  it('parses the 2019 frames recorded by tardis', () => {
    const trades = fixtureLines('binance', 'ws_trade_legacy_2019_tardis.jsonl').flatMap((line) => tradesOf(line, contextFor('BNB-BTC')));
    expect(trades).toEqual([
      { exchange: 'binance', symbol: 'BNB-BTC', id: 40756030, price: 0.0042699, amount: 33.82, side: 1, exchangeTime: 1554076800940, receivedAt: RECEIVED_AT },
      { exchange: 'binance', symbol: 'BNB-BTC', id: 60276726, price: 0.0021965, amount: 6.48, side: -1, exchangeTime: 1567296001034, receivedAt: RECEIVED_AT },
    ]);
  });

  it('parses the documented raw (/ws) payload', () => {
    const [trade] = tradesOf(docsExample('binance', 'trade_payload'), contextFor('BNB-BTC'));
    expect(trade).toMatchObject({ symbol: 'BNB-BTC', id: 12345, price: 0.001, amount: 100, side: -1, exchangeTime: 1672515782136 });
  });

  it('reads every frame of the recorded combined session without a trade or an error', () => {
    // The session subscribed depth, bookTicker, aggTrade and kline streams: it holds no @trade frame,
    // so this checks that other streams (including aggTrade, which looks alike) are not taken for trades.
    const lines = fixtureLines('binance', 'ws_combined_session_4symbols_2021-10-11.jsonl');
    expect(lines.length).toBe(265);
    const context = contextFor('NKN-USDT', 'BLZ-ETH', 'LRC-BTC', 'RUNE-EUR');
    for (const line of lines) expect(binanceTrades.onMessage(line, context)).toEqual({});
  });

  it('reads acks, error replies and the server-shutdown event', () => {
    const context = contextFor('BTC-USDT');
    expect(binanceTrades.onMessage(docsExample('binance', 'subscribe_response'), context)).toEqual({ ack: '1' });
    // As logged from stream.binance.com (ctubio/Krypto-trading-bot#1121).
    expect(binanceTrades.onMessage('{"error":{"code":2,"msg":"Invalid request: invalid stream"},"id":2}', context)).toEqual({
      error: { ack: '2', reason: 'code 2: Invalid request: invalid stream' },
    });
    expect(binanceTrades.onMessage(docsExample('binance', 'serverShutdown_combined'), context).closing).toMatch(/serverShutdown/);
  });

});

describe('Binance trade protocol hooks', () => {
  it('maps symbols both ways through the subscribed set', () => {
    expect(binanceTrades.connection.toExchangeSymbol('BTC-USDT')).toBe('BTCUSDT');
    expect(() => binanceTrades.connection.toExchangeSymbol('btc-usdt')).toThrow(/binance: bad symbol "btc-usdt"/);
    expect(() => binanceTrades.connection.toExchangeSymbol('BTCUSDT')).toThrow(/BASE-QUOTE/);
    const table = new SymbolTable(['BTC-USDT', 'ETH-BTC'], binanceTrades.connection.toExchangeSymbol);
    expect(table.fromExchange('ETHBTC')).toBe('ETH-BTC');
    expect(table.fromExchange('BNBBTC')).toBeUndefined();
  });

  it('subscribes on /ws in requests of at most 200 streams, each with its own id', () => {
    const symbols = Array.from({ length: 450 }, (_, i) => `C${i}-USDT`);
    const table = new SymbolTable(symbols, binanceTrades.connection.toExchangeSymbol);
    expect(binanceTrades.connection.url('wss://stream.binance.com:9443/', table)).toBe('wss://stream.binance.com:9443/ws');
    const requests = binanceTrades.subscribeMessages(table);
    expect(requests.map((r) => JSON.parse(r.text).id)).toEqual([1, 2, 3]);
    expect(requests.map((r) => JSON.parse(r.text).params.length)).toEqual([200, 200, 50]);
    expect(JSON.parse(requests[0]!.text)).toMatchObject({ method: 'SUBSCRIBE', params: expect.arrayContaining(['c0usdt@trade']) });
    expect(requests[2]!.acks).toEqual([{ key: '3', symbols: symbols.slice(400) }]);
  });
});

describe('trade deduplication', () => {
  const trade = (id: string | number, symbol = 'BTC-USDT'): Trade => ({
    exchange: 'x', symbol, id, price: 1, amount: 1, side: 1, exchangeTime: 1, receivedAt: 1,
  });

  it('orders ids numerically, digit strings beyond 2^53 included', () => {
    expect(compareTradeIds(9, 10)).toBeLessThan(0);
    expect(compareTradeIds('9', '10')).toBeLessThan(0);
    expect(compareTradeIds('2240000000970262967', '2240000000970262966')).toBeGreaterThan(0);
  });

  it('drops the ids it has seen per symbol, and those at or below a seeded checkpoint, when ids increase', () => {
    const dedup = new TradeDeduplicator(true);
    expect([5, 6, 6, 7, 5].map((id) => dedup.accept(trade(id)))).toEqual([true, true, false, true, false]);
    expect(dedup.accept(trade(1, 'ETH-USDT'))).toBe(true);
    dedup.seed('SOL-USDT', '100');
    expect([99, 100, 101, 101].map((id) => dedup.accept(trade(id, 'SOL-USDT')))).toEqual([false, false, true, false]);
  });

  it('an id far ahead of the sequence hides none of the ids after it, even once it leaves the window of recent ids', () => {
    const dedup = new TradeDeduplicator(true);
    expect([10, 1_000_010, 11, 12].map((id) => dedup.accept(trade(id)))).toEqual([true, true, true, true]);
    // Thousands of ids later the odd one has left the window; the ids that left before it count as seen.
    for (let id = 13; id < 3_000; id++) expect(dedup.accept(trade(id))).toBe(true);
    expect([12, 2_999, 3_000, 3_001].map((id) => dedup.accept(trade(id)))).toEqual([false, false, true, true]);
  });

  it('remembers recent ids when ids carry no order', () => {
    const dedup = new TradeDeduplicator(false);
    expect(['b', 'a', 'b', 'c', 'a'].map((id) => dedup.accept(trade(id)))).toEqual([true, true, false, true, false]);
  });
});

describe('trades collector kind', () => {
  const requirement = (symbol: string, staleAfterMs?: number, exchange = 'binance'): DataRequirement => ({
    id: `trades:${exchange}:${symbol}`, collector: 'trades', exchange, symbol, keys: [`trades:${exchange}:${symbol}`], staleAfterMs,
  });

  it('names the keys and rejects what it cannot collect', () => {
    expect(tradesCollectorKind.keysFor('binance', 'BTC-USDT', undefined)).toEqual(['trades:binance:BTC-USDT']);
    expect(() => tradesCollectorKind.keysFor('mtgox', 'BTC-USD', undefined)).toThrow(/^unknown exchange "mtgox"; known: binance, /);
    expect(() => tradesCollectorKind.keysFor('binance', 'BTC-USDT', '1m')).toThrow(/trades takes no argument/);
    expect(() => tradesCollectorKind.keysFor('binance', 'BTC/USDT', undefined)).toThrow(/bad symbol/);
  });

  it('builds one collector per connection of symbols, with the smallest staleAfterMs', () => {
    const many = Array.from({ length: 1030 }, (_, i) => requirement(`C${i}-USDT`, i === 1029 ? 5_000 : 60_000));
    const collectors = tradesCollectorKind.create(many, { exchanges: {}, logger: silentLogger });
    expect(collectors.map((c) => [c.id, c.kind, c.keys.length, c.staleAfterMs])).toEqual([
      ['trades:binance', 'trades', 1024, 60_000],
      ['trades:binance#2', 'trades', 6, 5_000],
    ]);
    const [single] = tradesCollectorKind.create([requirement('BTC-USDT'), requirement('ETH-USDT', 30_000)], { exchanges: {}, logger: silentLogger });
    expect(single!.keys).toEqual(['trades:binance:BTC-USDT', 'trades:binance:ETH-USDT']);
    expect(single!.staleAfterMs).toBe(30_000);
  });
});

describe('TradeStreamCollector against the Binance simulator', () => {
  const simulator = useSimulator(startBinanceSimulator);
  let silentServer: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (silentServer ? silentServer.close(() => resolve()) : resolve()));
    silentServer = undefined;
  });

  const collectorFor = (symbols: string[], options: { connectTimeoutMs?: number; ackTimeoutMs?: number; wsUrl?: string } = {}): TradeStreamCollector =>
    new TradeStreamCollector({ id: 'trades:binance', protocol: binanceTrades, symbols, ...options, wsUrl: options.wsUrl ?? simulator.current().wsUrl });

  it('counts a text frame that is not valid UTF-8 and keeps the connection (no 1007 close, no reconnect)', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USDT'], tradesPerSecond: 200 });
    // A trade frame with a byte that can never appear in UTF-8 (0xff) inside its symbol.
    const frame = Buffer.concat([Buffer.from('{"e":"trade","E":1,"s":"BTC'), Buffer.from([0xff]), Buffer.from('USDT","t":1,"p":"1.0","q":"1.0","T":1,"m":true,"M":true}')]);
    await expectSkipsMalformedFrame(sim, collectorFor(['BTC-USDT']), 'binance', 'BTC-USDT', frame);
  });

  it('rejects naming binance, the symbol and the reason when the subscription is refused', async () => {
    await simulator.start({ symbols: ['BTC-USDT'], tradesPerSecond: 50, rejectUnknownSymbols: true });
    const collector = collectorFor(['FOO-USDT']);
    await expect(collector.run(new MemoryStorage(), new AbortController().signal)).rejects.toThrow(
      'binance rejected the trades subscription for FOO-USDT (request 1): code 2: Invalid request: invalid stream',
    );
  });

  it('keeps collecting the listed symbols when Binance silently accepts an unlisted one (its real behaviour)', async () => {
    await simulator.start({ symbols: ['BTC-USDT'], tradesPerSecond: 200 });
    const storage = new MemoryStorage();
    const collector = collectorFor(['BTC-USDT', 'FOO-USDT']);
    const abort = new AbortController();
    const running = trackRun(collector.run(storage, abort.signal));
    await vi.waitFor(async () => expect(await storedCount(storage, 'trades:binance:BTC-USDT')).toBeGreaterThan(0), { timeout: 10_000 });
    expect(await storedCount(storage, 'trades:binance:FOO-USDT')).toBe(0);
    expect(running.settled()).toBe(false);
    abort.abort();
    await running.run;
  });

  it('ends with an error when the server announces a shutdown', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USDT'], tradesPerSecond: 50 });
    const collector = collectorFor(['BTC-USDT']);
    const running = collector.run(new MemoryStorage(), new AbortController().signal);
    await vi.waitFor(() => expect(sim.connections()).toBe(1), { timeout: 10_000 });
    sim.announceShutdown();
    await expect(running).rejects.toThrow(/binance announced a server shutdown/);
  });

  it('gives up on a server that never completes the handshake, and can be aborted while waiting', async () => {
    // Reads (so it sees the client hang up) but never answers the upgrade request.
    silentServer = createServer((socket) => socket.on('error', () => {}).resume());
    await new Promise<void>((resolve) => silentServer!.listen(0, '127.0.0.1', () => resolve()));
    const wsUrl = `ws://127.0.0.1:${(silentServer.address() as AddressInfo).port}`;
    await expect(collectorFor(['BTC-USDT'], { wsUrl, connectTimeoutMs: 200 }).run(new MemoryStorage(), new AbortController().signal)).rejects.toThrow(
      `trades:binance: no connection to ${wsUrl}/ws within 200 ms`,
    );
    const abort = new AbortController();
    const running = collectorFor(['BTC-USDT'], { wsUrl, connectTimeoutMs: 60_000 }).run(new MemoryStorage(), abort.signal);
    setTimeout(() => abort.abort(), 50);
    await expect(running).resolves.toBeUndefined();
  });
});

describe('WebSocket loop edge cases', () => {
  let server: WebSocketServer | undefined;
  afterEach(async () => {
    server?.clients.forEach((client) => client.terminate());
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });
  /** A bare server that accepts connections and does what `onConnection` says (by default: nothing). */
  const startServer = async (onConnection: (socket: import('ws').WebSocket) => void = () => {}): Promise<string> => {
    server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    server.on('connection', onConnection);
    await new Promise<void>((resolve) => server!.once('listening', () => resolve()));
    return `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  it('rejects when the subscription is never acknowledged', async () => {
    const wsUrl = await startServer();
    const collector = new TradeStreamCollector({ id: 'trades:binance', protocol: binanceTrades, symbols: ['BTC-USDT'], wsUrl, ackTimeoutMs: 200 });
    await expect(collector.run(new MemoryStorage(), new AbortController().signal)).rejects.toThrow(
      'binance did not acknowledge the trades subscription for BTC-USDT within 200 ms',
    );
  });

  it('rejects when the link goes silent (no frame, no ping)', async () => {
    const wsUrl = await startServer((socket) => socket.on('message', () => socket.send('{"result":null,"id":1}')));
    const protocol = { ...binanceTrades, connection: { ...binanceTrades.connection, keepalive: { silenceTimeoutMs: 300 } } };
    const collector = new TradeStreamCollector({ id: 'trades:binance', protocol, symbols: ['BTC-USDT'], wsUrl });
    await expect(collector.run(new MemoryStorage(), new AbortController().signal)).rejects.toThrow(
      'trades:binance: no frame or ping for 300 ms; the connection is presumed dead',
    );
    expect(collector.progress.lastHeartbeatAt).toBeDefined(); // the ack counted as a heartbeat
  });

  it('does not lose a frame the server sends right after the handshake', async () => {
    const wsUrl = await startServer((socket) => socket.send('hello'));
    const abort = new AbortController();
    const socket = await openWebSocket(wsUrl, { timeoutMs: 5_000, signal: abort.signal, label: 'probe', maxFrameBytes: 1024 });
    // Listeners go on only after a few turns of the event loop.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const received: string[] = [];
    const loop = new SocketLoop(socket!, { label: 'probe', signal: abort.signal, silenceTimeoutMs: 5_000, onText: (text) => received.push(text), onUnreadable: () => {}, onBinary: () => {}, onOversized: () => {} });
    await vi.waitFor(() => expect(received).toEqual(['hello']));
    abort.abort();
    await loop.done;
  });
});
