import { afterEach, describe, expect, it, vi } from 'vitest';
import { startKrakenSimulator, type KrakenSimulator, type KrakenTradeEntry } from '../collectors/exchanges/kraken/simulator.js';
import { krakenTimeMs, krakenTrades } from '../collectors/exchanges/kraken/trades.js';
import { tradesCollectorKind } from '../collectors/trades/kind.js';
import { SymbolTable, type FrameContext } from '../collectors/trades/protocol.js';
import { SubscriptionAcks } from '../collectors/trades/subscription-acks.js';
import { TradeStreamCollector } from '../collectors/trades/trade-stream.js';
import { silentLogger } from '../src/logger.js';
import { MemoryStorage } from '../storage/memory.js';
import { krakenFixture, krakenFixtureLines } from './support/kraken-fixtures.js';

type Json = Record<string, unknown>;
const RECEIVED_AT = 1_800_000_000_000;
const LOTS = 100_000; // the simulator's lot size is 0.00001
const SESSION = krakenFixtureLines('ws_v2_trade_session_status_ack_heartbeat_trade_2024-07-27.jsonl');
const BOOK = krakenFixtureLines('ws_v2_book_ETH-USD_depth10_ack_snapshot_update_2025-05-06.jsonl');
const DOCS = JSON.parse(krakenFixture('docs_examples_protocol.json')) as Json;
// Refusals captured from ws.kraken.com and quoted in public client code (the fixtures hold no refusal).
const UNSUPPORTED_PAIR = '{"error":"Currency pair not supported XDG/USD","method":"subscribe","success":false,"symbol":"XDG/USD"}';
const ALREADY_SUBSCRIBED =
  '{"error":"Already subscribed","method":"subscribe","req_id":2,"success":false,"symbol":"BTC/USD","time_in":"2025-12-20T07:39:28.809188Z","time_out":"2025-12-20T07:39:28.809200Z"}';

function contextFor(...symbols: string[]): FrameContext {
  return { symbols: new SymbolTable(symbols, krakenTrades.toExchangeSymbol), receivedAt: RECEIVED_AT };
}

describe('Kraken trade frames (real recordings)', () => {
  it('reads the recorded session: status, ack, heartbeats, then a trade with the taker side and JSON-number decimals', () => {
    const context = contextFor('BTC-USD');
    expect(SESSION.map((line) => krakenTrades.onMessage(line, context))).toEqual([
      { heartbeat: true },
      { ack: 'BTC/USD' },
      { heartbeat: true },
      { heartbeat: true },
      { heartbeat: true },
      {
        trades: [
          {
            exchange: 'kraken', symbol: 'BTC-USD', id: 72166031, price: 68580, amount: 0.14225864, side: 1,
            // "2024-07-27T21:16:00.512060Z": microseconds truncated.
            exchangeTime: Date.UTC(2024, 6, 27, 21, 16, 0, 512), receivedAt: RECEIVED_AT,
          },
        ],
      },
    ]);
  });

  it('survives the status frame whose connection_id exceeds 2^53 (JSON.parse rounds it; it is never used)', () => {
    const status = SESSION[0]!;
    expect(status).toContain('"connection_id":15564437896659189083');
    const id = (JSON.parse(status) as { data: [{ connection_id: number }] }).data[0].connection_id;
    expect(Number.isSafeInteger(id)).toBe(false);
    expect(BigInt(id)).not.toBe(15564437896659189083n);
    expect(krakenTrades.onMessage(status, contextFor('BTC-USD'))).toEqual({ heartbeat: true });
  });

  it('parses the documented snapshot payload', () => {
    const trades = krakenTrades.onMessage(JSON.stringify(DOCS.trade_snapshot), contextFor('MATIC-USD')).trades;
    expect(trades).toEqual([
      { exchange: 'kraken', symbol: 'MATIC-USD', id: 4665846, price: 0.5147, amount: 6423.46326, side: 1, exchangeTime: Date.UTC(2023, 8, 25, 7, 48, 36, 925), receivedAt: RECEIVED_AT },
      { exchange: 'kraken', symbol: 'MATIC-USD', id: 4665847, price: 0.5147, amount: 1136.19677815, side: 1, exchangeTime: Date.UTC(2023, 8, 25, 7, 49, 36, 925), receivedAt: RECEIVED_AT },
    ]);
  });

  it('takes a sell for a selling taker', () => {
    const sell = SESSION[5]!.replace('"side":"buy"', '"side":"sell"');
    expect(krakenTrades.onMessage(sell, contextFor('BTC-USD')).trades![0]!.side).toBe(-1);
  });

  it('ignores the recorded book session, its ack included (another channel)', () => {
    for (const line of BOOK) expect(krakenTrades.onMessage(line, contextFor('ETH-USD'))).toEqual({});
  });

  it('takes heartbeats and pongs for heartbeats', () => {
    const context = contextFor('BTC-USD');
    expect(krakenTrades.onMessage(JSON.stringify(DOCS.heartbeat), context)).toEqual({ heartbeat: true });
    // Fields as documented (docs_examples_protocol.json pong_fields).
    const pong = '{"method":"pong","req_id":101,"success":true,"time_in":"2023-09-24T14:10:23.799685Z","time_out":"2023-09-24T14:10:23.799703Z"}';
    expect(krakenTrades.onMessage(pong, context)).toEqual({ heartbeat: true });
  });

  it('turns a refused symbol into a rejection naming kraken, the symbol and the reason', () => {
    const context = contextFor('BTC-USD', 'DOGE-USD');
    expect(krakenTrades.onMessage(UNSUPPORTED_PAIR, context)).toEqual({ error: { ack: 'XDG/USD', reason: 'Currency pair not supported XDG/USD' } });
    const frame = krakenTrades.onMessage(ALREADY_SUBSCRIBED, context);
    expect(frame).toEqual({ error: { ack: 'BTC/USD', reason: 'Already subscribed' } });
    const acks = new SubscriptionAcks('kraken');
    krakenTrades.subscribeMessages(context.symbols).forEach((request) => acks.expect(request));
    expect(acks.rejection(frame.error!).message).toBe('kraken rejected the trades subscription for BTC-USD (request BTC/USD): Already subscribed');
  });

  it('refuses frames it cannot trust', () => {
    const context = contextFor('BTC-USD');
    const trade = SESSION[5]!;
    expect(() => krakenTrades.onMessage(trade.slice(0, 60), context)).toThrow();
    expect(() => krakenTrades.onMessage(trade.replace('"price":68580.0', '"price":"68580.0"'), context)).toThrow(/price/);
    expect(() => krakenTrades.onMessage(trade.replace('"qty":0.14225864', '"qty":-1'), context)).toThrow(/qty/);
    expect(() => krakenTrades.onMessage(trade, contextFor('ETH-USD'))).toThrow(/BTC\/USD, which this connection did not subscribe/);
    expect(() => krakenTrades.onMessage('{"channel":"trade","type":"update"}', context)).toThrow(/data array/);
    expect(() => krakenTrades.onMessage('{"data":[]}', context)).toThrow(/neither a method nor a channel/);
    expect(() => krakenTrades.onMessage('[1,2]', context)).toThrow(/not a JSON object/);
  });

  it('reads RFC 3339 times to the millisecond', () => {
    expect(krakenTimeMs('2025-05-06T09:17:26.208075Z')).toBe(Date.UTC(2025, 4, 6, 9, 17, 26, 208));
    expect(krakenTimeMs('2023-10-04T15:25:00.000000000Z')).toBe(Date.UTC(2023, 9, 4, 15, 25));
    expect(() => krakenTimeMs('1722114960.512060')).toThrow(/ISO-8601/);
  });
});

describe('Kraken trade protocol hooks', () => {
  it('maps BTC-USD to BTC/USD and refuses the v1 name XBT', () => {
    expect(krakenTrades.toExchangeSymbol('BTC-USD')).toBe('BTC/USD');
    expect(krakenTrades.toExchangeSymbol('ETH-BTC')).toBe('ETH/BTC');
    expect(() => krakenTrades.toExchangeSymbol('XBT-USD')).toThrow(/kraken: bad symbol "XBT-USD": WebSocket v2 spells bitcoin BTC/);
    expect(() => krakenTrades.toExchangeSymbol('BTC/USD')).toThrow(/BASE-QUOTE/);
    expect(tradesCollectorKind.keysFor('kraken', 'BTC-USD', undefined)).toEqual(['trades:kraken:BTC-USD']);
  });

  it('connects to /v2 and subscribes without snapshot, 50 symbols a request, one ack per symbol', () => {
    const symbols = Array.from({ length: 120 }, (_, i) => `C${i}-USD`);
    const table = new SymbolTable(symbols, krakenTrades.toExchangeSymbol);
    expect(krakenTrades.url('wss://ws.kraken.com', table)).toBe('wss://ws.kraken.com/v2');
    expect(krakenTrades.url('wss://ws.kraken.com/v2/', table)).toBe('wss://ws.kraken.com/v2');
    const requests = krakenTrades.subscribeMessages(table);
    expect(requests.map((r) => (JSON.parse(r.text) as { params: { symbol: string[] } }).params.symbol.length)).toEqual([50, 50, 20]);
    expect(requests[2]!.text).toBe(
      `{"method":"subscribe","params":{"channel":"trade","symbol":[${symbols.slice(100).map((s) => `"${s.replace('-', '/')}"`).join(',')}],"snapshot":false},"req_id":3}`,
    );
    expect(requests[0]!.acks[0]).toEqual({ key: 'C0/USD', symbols: ['C0-USD'] });
    expect(requests.flatMap((r) => r.acks).length).toBe(120);
    // The documented subscribe, with our snapshot choice and a req_id.
    const documented = DOCS.trade_subscribe as { params: Json };
    const one = JSON.parse(krakenTrades.subscribeMessages(contextFor('MATIC-USD').symbols)[0]!.text) as Json;
    expect(one).toEqual({ ...documented, params: { ...documented.params, snapshot: false }, req_id: 1 });
    expect(JSON.parse(krakenTrades.keepalive.clientPing!.text)).toEqual({ method: 'ping', req_id: 0 });
  });
});

type Sample = { price: number; count: number; lots: number; buyLots: number };

/** Per-millisecond samples as the collector should have stored them, with amounts in whole lots. */
function expectedSamples(trades: readonly KrakenTradeEntry[]): Map<number, Sample> {
  const byTime = new Map<number, Sample>();
  for (const trade of trades) {
    const time = Date.parse(`${trade.timestamp.slice(0, 23)}Z`);
    const lots = Math.round(trade.qty * LOTS);
    const sample = byTime.get(time) ?? { price: 0, count: 0, lots: 0, buyLots: 0 };
    byTime.set(time, { price: trade.price, count: sample.count + 1, lots: sample.lots + lots, buyLots: sample.buyLots + (trade.side === 'buy' ? lots : 0) });
  }
  return byTime;
}

/** Stored samples of a key in the same shape; float sums of lots round back to exact lots. */
async function storedSamples(storage: MemoryStorage, key: string): Promise<Map<number, Sample>> {
  const samples = await storage.fetch(key, 0, Number.MAX_SAFE_INTEGER);
  return new Map(
    samples.map(([t, value]) => {
      const v = value as Record<string, number>;
      return [t, { price: v.price!, count: v.count!, lots: Math.round(v.amount! * LOTS), buyLots: Math.round(v.buy_amount! * LOTS) }];
    }),
  );
}

async function storedCount(storage: MemoryStorage, key: string): Promise<number> {
  let count = 0;
  for (const sample of (await storedSamples(storage, key)).values()) count += sample.count;
  return count;
}

/** Tracks whether a run promise has settled, without ever leaving a rejection unhandled. */
function track(run: Promise<void>): { run: Promise<void>; settled: () => boolean } {
  let settled = false;
  run.then(
    () => (settled = true),
    () => (settled = true),
  );
  return { run, settled: () => settled };
}

describe('TradeStreamCollector against the Kraken simulator', () => {
  let sim: KrakenSimulator | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  const collectorFor = (symbols: string[], protocol = krakenTrades): TradeStreamCollector =>
    new TradeStreamCollector({ id: 'trades:kraken', protocol, symbols, wsUrl: sim!.wsUrl });

  it('stores exactly what was sent after subscribing: per-millisecond price, count, amount and taker-buy amount', async () => {
    sim = await startKrakenSimulator({ symbols: ['BTC-USD', 'ETH-USD'], tradesPerSecond: 400, heartbeatIntervalMs: 200 });
    const storage = new MemoryStorage();
    // Built through the kind, so the configured wsUrl override is what reaches the simulator.
    const [collector] = tradesCollectorKind.create(
      ['BTC-USD', 'ETH-USD'].map((symbol) => ({ id: `trades:kraken:${symbol}`, collector: 'trades', exchange: 'kraken', symbol, keys: [] })),
      { exchanges: { kraken: { wsUrl: sim.wsUrl } }, logger: silentLogger },
    );
    const abort = new AbortController();
    const running = track(collector!.run(storage, abort.signal));

    await vi.waitFor(() => expect(sim!.sent('ETH-USD').count).toBeGreaterThan(600), { timeout: 10_000 });
    await vi.waitFor(() => expect(sim!.heartbeats()).toBeGreaterThan(0), { timeout: 10_000 });
    sim.pause();
    for (const symbol of ['BTC-USD', 'ETH-USD']) {
      await vi.waitFor(async () => expect(await storedCount(storage, `trades:kraken:${symbol}`)).toBe(sim!.sent(symbol).count), { timeout: 10_000 });
    }
    abort.abort();
    await running.run;

    for (const symbol of ['BTC-USD', 'ETH-USD']) {
      const { trades, count, amount } = sim.sent(symbol);
      const stored = await storedSamples(storage, `trades:kraken:${symbol}`);
      // Prices compare exactly: what JSON.parse made of the frame's number is what was stored.
      expect(stored).toEqual(expectedSamples(trades));
      expect([...stored.values()].reduce((sum, s) => sum + s.lots, 0)).toBe(Math.round(amount * LOTS));
      expect([...stored.values()].reduce((sum, s) => sum + s.count, 0)).toBe(count);
      expect(new Set(trades.map((t) => t.side)).size).toBe(2);
    }
    expect(collector!.progress.lastHeartbeatAt).toBeDefined();
    expect((collector as TradeStreamCollector).unparsedFrames).toBe(0);
  });

  it('pings, counts pongs and heartbeats as life, and stays up while no trade happens', async () => {
    sim = await startKrakenSimulator({ symbols: ['BTC-USD'], tradesPerSecond: 50, heartbeatIntervalMs: 100 });
    sim.pause();
    const keepalive = { clientPing: { ...krakenTrades.keepalive.clientPing!, intervalMs: 100 }, silenceTimeoutMs: 1_000 };
    const collector = collectorFor(['BTC-USD'], { ...krakenTrades, keepalive });
    const abort = new AbortController();
    const running = track(collector.run(new MemoryStorage(), abort.signal));
    // Well past the silence timeout, with nothing but heartbeats and pongs on the link.
    await vi.waitFor(() => expect(sim!.pings()).toBeGreaterThan(20), { timeout: 10_000 });
    expect(sim.heartbeats()).toBeGreaterThan(0);
    expect(running.settled()).toBe(false);
    expect(collector.progress.lastHeartbeatAt).toBeDefined();
    abort.abort();
    await running.run;
  });

  it('skips a malformed frame and keeps collecting', async () => {
    sim = await startKrakenSimulator({ symbols: ['BTC-USD'], tradesPerSecond: 200 });
    const storage = new MemoryStorage();
    const collector = collectorFor(['BTC-USD']);
    const abort = new AbortController();
    const running = track(collector.run(storage, abort.signal));
    await vi.waitFor(async () => expect(await storedCount(storage, 'trades:kraken:BTC-USD')).toBeGreaterThan(0), { timeout: 10_000 });
    sim.sendMalformed();
    const before = sim.sent('BTC-USD').count;
    await vi.waitFor(async () => expect(await storedCount(storage, 'trades:kraken:BTC-USD')).toBeGreaterThan(before), { timeout: 10_000 });
    expect(collector.unparsedFrames).toBe(1);
    expect(running.settled()).toBe(false);
    abort.abort();
    await running.run;
  });

  it('rejects with a clear error when the connection drops', async () => {
    sim = await startKrakenSimulator({ symbols: ['BTC-USD'], tradesPerSecond: 200 });
    const storage = new MemoryStorage();
    const running = collectorFor(['BTC-USD']).run(storage, new AbortController().signal);
    await vi.waitFor(async () => expect(await storedCount(storage, 'trades:kraken:BTC-USD')).toBeGreaterThan(0), { timeout: 10_000 });
    sim.dropConnections();
    await expect(running).rejects.toThrow(/^trades:kraken: connection closed by the server \(code 1006\)$/);
  });

  it('rejects naming kraken, the symbol and the reason when one symbol is not listed', async () => {
    sim = await startKrakenSimulator({ symbols: ['BTC-USD'], tradesPerSecond: 50 });
    await expect(collectorFor(['BTC-USD', 'FOO-USD']).run(new MemoryStorage(), new AbortController().signal)).rejects.toThrow(
      'kraken rejected the trades subscription for FOO-USD (request FOO/USD): Currency pair not supported FOO/USD',
    );
  });

  it('resolves when aborted, and closes its connection', async () => {
    sim = await startKrakenSimulator({ symbols: ['BTC-USD'], tradesPerSecond: 100 });
    const collector = collectorFor(['BTC-USD']);
    const abort = new AbortController();
    const running = collector.run(new MemoryStorage(), abort.signal);
    await vi.waitFor(() => expect(sim!.connections()).toBe(1), { timeout: 10_000 });
    abort.abort();
    await expect(running).resolves.toBeUndefined();
    await vi.waitFor(() => expect(sim!.connections()).toBe(0), { timeout: 10_000 });
  });
});
