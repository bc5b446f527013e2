import { afterEach, describe, expect, it, vi } from 'vitest';
import { okxTrades } from '../collectors/exchanges/okx/trades.js';
import { startOkxSimulator, type OkxSimulator, type OkxTradePayload } from '../collectors/exchanges/okx/simulator.js';
import { compareTradeIds } from '../collectors/trades/dedup.js';
import { tradesCollectorKind } from '../collectors/trades/kind.js';
import { SymbolTable, type FrameContext, type TradeProtocol } from '../collectors/trades/protocol.js';
import { SubscriptionAcks } from '../collectors/trades/subscription-acks.js';
import type { Trade } from '../collectors/trades/trade.js';
import { TradeStreamCollector } from '../collectors/trades/trade-stream.js';
import type { DataRequirement } from '../feeds/types.js';
import { silentLogger } from '../src/logger.js';
import { MemoryStorage } from '../storage/memory.js';
import { okxDocsExample, okxFixture, okxFixtureLines } from './support/okx-fixtures.js';

const RECEIVED_AT = 1_800_000_000_000;
const LOTS = 100_000; // the simulator's lot size is 0.00001

function contextFor(...symbols: string[]): FrameContext {
  return { symbols: new SymbolTable(symbols, okxTrades.toExchangeSymbol), receivedAt: RECEIVED_AT };
}

/** A context holding derivative instIds too (BTC-USD-220527): the parser only looks instIds up. */
function anyInstrumentContext(...instIds: string[]): FrameContext {
  return { symbols: new SymbolTable(instIds, (s) => s), receivedAt: RECEIVED_AT };
}

function tradesOf(text: string, context: FrameContext): Trade[] {
  return okxTrades.onMessage(text, context).trades ?? [];
}

interface RawTrade {
  instId: string;
  tradeId: string;
  px: string;
  sz: string;
  side: string;
  ts: string;
}

/** What a recorded entry should become, written out independently of the parser. */
function expectedTrade(raw: RawTrade): Trade {
  return {
    exchange: 'okx', symbol: raw.instId, id: raw.tradeId, price: Number(raw.px), amount: Number(raw.sz),
    side: raw.side === 'buy' ? 1 : -1, exchangeTime: Number(raw.ts), receivedAt: RECEIVED_AT,
  };
}

describe('OKX trade frames (real recordings)', () => {
  it('parses every frame of the 2022 trades recording: taker side, string ids, decimals, ms timestamps', () => {
    const lines = okxFixtureLines('ws_trades_2022.jsonl');
    expect(lines.length).toBe(74);
    const spot = contextFor('BTC-USDT');
    const all = anyInstrumentContext('BTC-USDT', 'BTC-USD-220527', 'UNI-USD-SWAP');
    const btc: Trade[] = [];
    for (const line of lines) {
      const raw = (JSON.parse(line) as { data: RawTrade[] }).data;
      expect(tradesOf(line, all)).toEqual(raw.map(expectedTrade));
      if (raw[0]!.instId === 'BTC-USDT') btc.push(...tradesOf(line, spot));
      else expect(() => tradesOf(line, spot)).toThrow(/which this connection did not subscribe/);
    }
    expect(btc.length).toBe(69);
    expect(btc[0]).toEqual({
      exchange: 'okx', symbol: 'BTC-USDT', id: '338476307', price: 30236, amount: 0.0002, side: 1, exchangeTime: 1652459224818, receivedAt: RECEIVED_AT,
    });
    // "side": "sell" is the taker's side (docs: "Trade side of taker").
    expect(btc[9]).toMatchObject({ id: '338476316', price: 30250.1, amount: 0.00066996, side: -1, exchangeTime: 1652459226753 });
    expect(btc.filter((t) => t.side === -1).length).toBe(25);
    // Ids strictly increase per instrument, which is what idsIncrease promises the deduplicator.
    btc.slice(1).forEach((trade, i) => expect(compareTradeIds(trade.id, btc[i]!.id)).toBeGreaterThan(0));
  });

  it('parses the 2025 frames with count, the 2022 cmp frame, the 2021 tardis frame and the documented 2026 push', () => {
    const [first, second] = okxFixtureLines('ws_trades_BTC-USDT_2025-02.jsonl').map((line) => tradesOf(line, contextFor('BTC-USDT')));
    expect(first).toEqual([
      { exchange: 'okx', symbol: 'BTC-USDT', id: '674510826', price: 95634.9, amount: 0.00011186, count: 1, side: 1, exchangeTime: 1740394561685, receivedAt: RECEIVED_AT },
    ]);
    expect(second).toEqual([
      { exchange: 'okx', symbol: 'BTC-USDT', id: '674510827', price: 95635.3, amount: 0.00011194, count: 1, side: -1, exchangeTime: 1740394561686, receivedAt: RECEIVED_AT },
    ]);
    expect(tradesOf(okxFixture('ws_trades_BTC-USDT_2022_cmp.json'), contextFor('BTC-USDT'))).toEqual([
      { exchange: 'okx', symbol: 'BTC-USDT', id: '314161276', price: 43474.1, amount: 0.00373695, side: 1, exchangeTime: 1646311839593, receivedAt: RECEIVED_AT },
    ]);
    const tardis = okxFixtureLines('ws_v5_misc_2021_tardis.jsonl');
    expect(tradesOf(tardis[1]!, contextFor('CRV-USDT'))).toEqual([
      { exchange: 'okx', symbol: 'CRV-USDT', id: '21300150', price: 3.973, amount: 13.491146, side: 1, exchangeTime: 1639999319938, receivedAt: RECEIVED_AT },
    ]);
    // count (3 matches in one message) is kept; source and seqId (2026 docs) are tolerated.
    expect(tradesOf(okxDocsExample('trades_push_2026'), contextFor('BTC-USDT'))).toEqual([
      { exchange: 'okx', symbol: 'BTC-USDT', id: '130639474', price: 42219.9, amount: 0.12060306, count: 3, side: 1, exchangeTime: 1630048897897, receivedAt: RECEIVED_AT },
    ]);
  });

  it('reads every frame of the recorded public session: acks, tickers and books are not trades, nothing fails', () => {
    const lines = okxFixtureLines('ws_public_session_2022-05-13.jsonl');
    expect(lines.length).toBe(410);
    const context = anyInstrumentContext('BTC-USDT', 'BTC-USD-220527', 'UNI-USD-SWAP');
    const frames = lines.map((line) => okxTrades.onMessage(line, context));
    expect(frames.flatMap((f) => f.trades ?? []).length).toBe(74);
    expect(frames.filter((f) => f.ack !== undefined).length).toBe(18);
    expect(frames.filter((f) => f.trades === undefined && f.ack === undefined).every((f) => Object.keys(f).length === 0)).toBe(true);
    expect(frames.some((f) => f.error || f.closing || f.heartbeat)).toBe(false);
  });

  it('recognises the other channels of the recordings as frames of no interest', () => {
    const context = contextFor('BTC-USDT');
    const others = [
      ...okxFixtureLines('ws_tickers.jsonl'),
      ...okxFixtureLines('ws_books_BTC-USDT_snapshot_then_updates.jsonl'),
      ...okxFixtureLines('ws_books-l2-tbt_BTC-USDT_2022_truncated.jsonl'),
      ...okxFixtureLines('ws_v5_misc_2021_tardis.jsonl').slice(2),
      okxFixture('ws_books5_BTC-USDT_2022.json'),
      okxFixture('ws_bbo-tbt_BTC-USDT_2022.json'),
      okxFixture('ws_candle1m_BTC-USDT_2022_pre-confirm-field.json'),
    ];
    // Includes a `trades-all` frame (BSV-USDT): another channel, even though it carries trades.
    for (const line of others) expect(okxTrades.onMessage(line, context)).toEqual({});
  });

  it('refuses frames it cannot trust', () => {
    const context = contextFor('BTC-USDT');
    const frame = okxFixture('ws_trades_BTC-USDT_2022_cmp.json');
    expect(() => okxTrades.onMessage(frame.slice(0, 60), context)).toThrow();
    expect(() => okxTrades.onMessage(frame.replace('"px":"43474.1"', '"px":43474.1'), context)).toThrow(/px \(price\)/);
    expect(() => okxTrades.onMessage(frame.replace('"side":"buy"', '"side":"b"'), context)).toThrow(/side/);
    expect(() => okxTrades.onMessage(frame.replace('"ts":"1646311839593"', '"ts":1646311839593'), context)).toThrow(/ts/);
    expect(() => okxTrades.onMessage('[1,2]', context)).toThrow(/not a JSON object/);
    expect(() => okxTrades.onMessage('{"data":[]}', context)).toThrow(/neither an event nor an arg/);
  });
});

describe('OKX acks, errors and keepalive frames', () => {
  const context = contextFor('BTC-USDT', 'FOO-USDT');

  it('reads the per-arg acks of the recordings and the docs', () => {
    const acks = okxFixtureLines('ws_subscribe_acks.jsonl').map((line) => okxTrades.onMessage(line, context).ack);
    expect(acks.slice(0, 9)).toEqual([
      'tickers:BTC-USD-220527', 'tickers:UNI-USD-SWAP', 'tickers:BTC-USDT', 'tickers:BTC-USD-220527', 'tickers:UNI-USD-SWAP', 'tickers:BTC-USDT',
      'trades:BTC-USD-220527', 'trades:UNI-USD-SWAP', 'trades:BTC-USDT',
    ]);
    expect(okxTrades.onMessage(okxDocsExample('subscribe_ack'), context)).toEqual({ ack: 'trades:BTC-USDT' });
    expect(okxTrades.onMessage(okxDocsExample('unsubscribe_ack'), context)).toEqual({});
  });

  it('turns the documented 60012 error (no arg named) into a rejection of every waiting symbol', () => {
    const frame = okxTrades.onMessage(okxDocsExample('subscribe_error'), context);
    expect(frame).toEqual({
      error: { ack: undefined, reason: 'code 60012: Invalid request: {"op": "subscribe", "argss":[{ "channel" : "trades", "instId" : "BTC-USD-191227"}]} (request id 1512)' },
    });
    const acks = new SubscriptionAcks('okx');
    okxTrades.subscribeMessages(context.symbols).forEach((request) => acks.expect(request));
    expect(acks.rejection(frame.error!).message).toBe(
      'okx rejected the trades subscription for BTC-USDT, FOO-USDT: code 60012: Invalid request: {"op": "subscribe", "argss":[{ "channel" : "trades", "instId" : "BTC-USD-191227"}]} (request id 1512)',
    );
  });

  it('names the refused symbol from a 60018 error, in the wording OKX used in 2023 and uses today', () => {
    const acks = new SubscriptionAcks('okx');
    okxTrades.subscribeMessages(context.symbols).forEach((request) => acks.expect(request));
    // As reported in okxapi/python-okx#21 (2023) and sieblyio/okx-api#106 (2025).
    const old = okxTrades.onMessage('{"event":"error","msg":"channel:trades,instId:FOO-USDT doesn\'t exist","code":"60018"}', context);
    expect(old.error).toEqual({ ack: 'trades:FOO-USDT', reason: "code 60018: channel:trades,instId:FOO-USDT doesn't exist" });
    const msg = "Wrong URL or channel:trades,instId:FOO-USDT doesn't exist. Please use the correct URL, channel and parameters referring to API document.";
    const today = okxTrades.onMessage(JSON.stringify({ event: 'error', msg, code: '60018', connId: '2b5dc6ac' }), context);
    expect(acks.rejection(today.error!).message).toBe(`okx rejected the trades subscription for FOO-USDT (request trades:FOO-USDT): code 60018: ${msg}`);
  });

  it('reads pong as a heartbeat and the 64008 upgrade notice as the connection closing', () => {
    expect(okxTrades.onMessage('pong', context)).toEqual({ heartbeat: true });
    expect(okxTrades.onMessage(okxDocsExample('service_upgrade_notice'), context).closing).toMatch(/okx announced .*64008: The connection will soon be closed/);
    // Shaped like the docs' channel-conn-count event (an informational count of connections).
    expect(okxTrades.onMessage('{"event":"channel-conn-count","channel":"trades","connCount":"2","connId":"a4d3ae55"}', context)).toEqual({});
  });
});

describe('OKX trade protocol hooks', () => {
  it('keeps instIds as unified symbols and refuses malformed ones', () => {
    expect(okxTrades.toExchangeSymbol('BTC-USDT')).toBe('BTC-USDT');
    expect(() => okxTrades.toExchangeSymbol('btc-usdt')).toThrow(/okx: bad symbol "btc-usdt"/);
    expect(() => okxTrades.toExchangeSymbol('BTCUSDT')).toThrow(/BASE-QUOTE/);
    expect(tradesCollectorKind.keysFor('okx', 'ETH-BTC', undefined)).toEqual(['trades:okx:ETH-BTC']);
  });

  it('subscribes on /ws/v5/public in requests of at most 100 args, expecting one ack per arg', () => {
    const symbols = Array.from({ length: 250 }, (_, i) => `C${i}-USDT`);
    const table = new SymbolTable(symbols, okxTrades.toExchangeSymbol);
    expect(okxTrades.url('wss://ws.okx.com:8443/', table)).toBe('wss://ws.okx.com:8443/ws/v5/public');
    const requests = okxTrades.subscribeMessages(table);
    expect(requests.map((r) => JSON.parse(r.text).args.length)).toEqual([100, 100, 50]);
    expect(JSON.parse(requests[0]!.text)).toEqual({ id: 'trades1', op: 'subscribe', args: expect.arrayContaining([{ channel: 'trades', instId: 'C0-USDT' }]) });
    expect(requests[2]!.acks[0]).toEqual({ key: 'trades:C200-USDT', symbols: ['C200-USDT'] });
    expect(requests.flatMap((r) => r.acks).length).toBe(250);
  });

  it('splits many symbols over connections of 300', () => {
    const requirement = (symbol: string): DataRequirement => ({ id: `trades:okx:${symbol}`, collector: 'trades', exchange: 'okx', symbol, keys: [] });
    const collectors = tradesCollectorKind.create(
      Array.from({ length: 301 }, (_, i) => requirement(`C${i}-USDT`)),
      { exchanges: {}, logger: silentLogger },
    );
    expect(collectors.map((c) => [c.id, c.keys.length])).toEqual([['trades:okx', 300], ['trades:okx#2', 1]]);
  });
});

type Sample = { price: number; count: number; lots: number; buyLots: number };

/** Per-millisecond samples as the collector should store them: one trade per OKX message, amounts in whole lots. */
function expectedSamples(trades: readonly OkxTradePayload[]): Map<number, Sample> {
  const byTime = new Map<number, Sample>();
  for (const t of trades) {
    const lots = Math.round(Number(t.sz) * LOTS);
    const sample = byTime.get(Number(t.ts)) ?? { price: 0, count: 0, lots: 0, buyLots: 0 };
    byTime.set(Number(t.ts), { price: Number(t.px), count: sample.count + Number(t.count), lots: sample.lots + lots, buyLots: sample.buyLots + (t.side === 'buy' ? lots : 0) });
  }
  return byTime;
}

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

describe('TradeStreamCollector against the OKX simulator', () => {
  let sim: OkxSimulator | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  const collectorFor = (symbols: string[], protocol: TradeProtocol = okxTrades): TradeStreamCollector =>
    new TradeStreamCollector({ id: 'trades:okx', protocol, symbols, wsUrl: sim!.wsUrl });

  it('stores exactly what was sent after subscribing: per-millisecond price, count, amount and taker-buy amount', async () => {
    sim = await startOkxSimulator({ symbols: ['BTC-USDT', 'ETH-USDT'], tradesPerSecond: 400 });
    const storage = new MemoryStorage();
    // Built through the kind, so the configured wsUrl override is what reaches the simulator.
    const [collector] = tradesCollectorKind.create(
      ['BTC-USDT', 'ETH-USDT'].map((symbol) => ({ id: `trades:okx:${symbol}`, collector: 'trades', exchange: 'okx', symbol, keys: [] })),
      { exchanges: { okx: { wsUrl: sim.wsUrl } }, logger: silentLogger },
    );
    const abort = new AbortController();
    const running = track(collector!.run(storage, abort.signal));

    await vi.waitFor(() => expect(sim!.sent('ETH-USDT').count).toBeGreaterThan(400), { timeout: 10_000 });
    sim.pause();
    for (const symbol of ['BTC-USDT', 'ETH-USDT']) {
      await vi.waitFor(async () => expect(await storedCount(storage, `trades:okx:${symbol}`)).toBe(sim!.sent(symbol).count), { timeout: 10_000 });
    }
    abort.abort();
    await running.run;

    for (const symbol of ['BTC-USDT', 'ETH-USDT']) {
      const { trades, count, amount } = sim.sent(symbol);
      const stored = await storedSamples(storage, `trades:okx:${symbol}`);
      expect(stored).toEqual(expectedSamples(trades));
      expect([...stored.values()].reduce((sum, s) => sum + s.lots, 0)).toBe(Math.round(amount * LOTS));
      expect([...stored.values()].reduce((sum, s) => sum + s.count, 0)).toBe(count);
      // Several messages shared a millisecond and were merged; some messages aggregated several matches.
      expect(stored.size).toBeLessThan(trades.length);
      expect(trades.some((t) => t.count !== '1')).toBe(true);
    }
    expect((collector as TradeStreamCollector).unparsedFrames).toBe(0);
    expect(collector!.progress.lastDataTime).toBe(Math.max(...['BTC-USDT', 'ETH-USDT'].map((s) => Number(sim!.sent(s).trades.at(-1)!.ts))));
  });

  it('sends text pings that OKX answers, which keeps a quiet connection open past the idle cut-off', async () => {
    sim = await startOkxSimulator({ symbols: ['BTC-USDT'], tradesPerSecond: 0, idleTimeoutMs: 1_000 });
    const protocol = { ...okxTrades, keepalive: { ...okxTrades.keepalive, clientPing: { intervalMs: 50, text: 'ping' } } };
    const collector = collectorFor(['BTC-USDT'], protocol);
    const abort = new AbortController();
    const running = track(collector.run(new MemoryStorage(), abort.signal));
    // Fifty pings span 2.5 s: more than twice the idle cut-off, with no trade at all.
    await vi.waitFor(() => expect(sim!.pings()).toBeGreaterThanOrEqual(50), { timeout: 20_000 });
    expect(sim.connections()).toBe(1);
    expect(running.settled()).toBe(false);
    expect(collector.unparsedFrames).toBe(0); // every `pong` was read as a heartbeat
    expect(collector.progress.lastHeartbeatAt).toBeDefined();
    abort.abort();
    await running.run;
  });

  it('is cut by OKX (close 4004) when it neither pings nor receives data', async () => {
    sim = await startOkxSimulator({ symbols: ['BTC-USDT'], tradesPerSecond: 0, idleTimeoutMs: 200 });
    const protocol = { ...okxTrades, keepalive: { silenceTimeoutMs: 30_000 } };
    await expect(collectorFor(['BTC-USDT'], protocol).run(new MemoryStorage(), new AbortController().signal)).rejects.toThrow(
      'trades:okx: connection closed by the server (code 4004, No data received in 30s)',
    );
  });

  it('skips a malformed frame and keeps collecting', async () => {
    sim = await startOkxSimulator({ symbols: ['BTC-USDT'], tradesPerSecond: 200 });
    const storage = new MemoryStorage();
    const collector = collectorFor(['BTC-USDT']);
    const abort = new AbortController();
    const running = track(collector.run(storage, abort.signal));
    await vi.waitFor(async () => expect(await storedCount(storage, 'trades:okx:BTC-USDT')).toBeGreaterThan(0), { timeout: 10_000 });
    sim.sendMalformed();
    const before = sim.sent('BTC-USDT').count;
    await vi.waitFor(async () => expect(await storedCount(storage, 'trades:okx:BTC-USDT')).toBeGreaterThan(before), { timeout: 10_000 });
    expect(collector.unparsedFrames).toBe(1);
    expect(running.settled()).toBe(false);
    abort.abort();
    await running.run;
  });

  it('rejects with a clear error when the connection drops', async () => {
    sim = await startOkxSimulator({ symbols: ['BTC-USDT'], tradesPerSecond: 200 });
    const storage = new MemoryStorage();
    const running = collectorFor(['BTC-USDT']).run(storage, new AbortController().signal);
    await vi.waitFor(async () => expect(await storedCount(storage, 'trades:okx:BTC-USDT')).toBeGreaterThan(0), { timeout: 10_000 });
    sim.dropConnections();
    await expect(running).rejects.toThrow(/^trades:okx: connection closed by the server \(code 1006\)$/);
  });

  it('rejects naming okx, the symbol and OKX\'s code and message when an instrument does not exist', async () => {
    sim = await startOkxSimulator({ symbols: ['BTC-USDT'], tradesPerSecond: 50 });
    await expect(collectorFor(['BTC-USDT', 'FOO-USDT']).run(new MemoryStorage(), new AbortController().signal)).rejects.toThrow(
      "okx rejected the trades subscription for FOO-USDT (request trades:FOO-USDT): code 60018: Wrong URL or channel:trades,instId:FOO-USDT doesn't exist.",
    );
  });

  it('ends with an error when OKX announces a service upgrade', async () => {
    sim = await startOkxSimulator({ symbols: ['BTC-USDT'], tradesPerSecond: 50 });
    const running = collectorFor(['BTC-USDT']).run(new MemoryStorage(), new AbortController().signal);
    await vi.waitFor(() => expect(sim!.connections()).toBe(1), { timeout: 10_000 });
    sim.announceUpgrade();
    await expect(running).rejects.toThrow(/trades:okx: okx announced the connection will close \(64008/);
  });

  it('resolves when aborted, and closes its connection', async () => {
    sim = await startOkxSimulator({ symbols: ['BTC-USDT'], tradesPerSecond: 100 });
    const collector = collectorFor(['BTC-USDT']);
    const abort = new AbortController();
    const running = collector.run(new MemoryStorage(), abort.signal);
    await vi.waitFor(() => expect(sim!.connections()).toBe(1), { timeout: 10_000 });
    abort.abort();
    await expect(running).resolves.toBeUndefined();
    await vi.waitFor(() => expect(sim!.connections()).toBe(0), { timeout: 10_000 });
  });
});
