import { describe, expect, it, vi } from 'vitest';
import { okxTrades } from '../collectors/exchanges/okx/trades.js';
import { startOkxSimulator } from '../collectors/exchanges/okx/simulator/index.js';
import { compareTradeIds } from '../collectors/trades/dedup.js';
import { tradesCollectorKind } from '../collectors/kinds.js';
import type { TradeProtocol } from '../collectors/trades/protocol.js';
import type { FrameContext } from '../collectors/ws/channel-protocol.js';
import { SymbolTable } from '../collectors/ws/symbol-table.js';
import { SubscriptionAcks } from '../collectors/ws/subscription-acks.js';
import type { Trade } from '../collectors/trades/trade.js';
import { TradeStreamCollector } from '../collectors/trades/trade-stream.js';
import { MemoryStorage } from '../storage/memory.js';
import { docsExample, fixture, fixtureLines, NO_FIXTURES } from './support/fixtures.js';
import { useSimulator } from './support/simulator-harness.js';
import { RECEIVED_AT, tradeFrameReaders } from './support/trade-frames.js';

const { contextFor, tradesOf } = tradeFrameReaders(okxTrades);

/** A context holding derivative instIds too (BTC-USD-220527): the parser only looks instIds up. */
function anyInstrumentContext(...instIds: string[]): FrameContext {
  return { symbols: new SymbolTable(instIds, (s) => s), receivedAt: RECEIVED_AT };
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

describe.skipIf(NO_FIXTURES)('OKX trade frames (real recordings)', () => {
  it('parses every frame of the 2022 trades recording: taker side, string ids, decimals, ms timestamps', () => {
    const lines = fixtureLines('okx', 'ws_trades_2022.jsonl');
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
    const [first, second] = fixtureLines('okx', 'ws_trades_BTC-USDT_2025-02.jsonl').map((line) => tradesOf(line, contextFor('BTC-USDT')));
    expect(first).toEqual([
      { exchange: 'okx', symbol: 'BTC-USDT', id: '674510826', price: 95634.9, amount: 0.00011186, count: 1, side: 1, exchangeTime: 1740394561685, receivedAt: RECEIVED_AT },
    ]);
    expect(second).toEqual([
      { exchange: 'okx', symbol: 'BTC-USDT', id: '674510827', price: 95635.3, amount: 0.00011194, count: 1, side: -1, exchangeTime: 1740394561686, receivedAt: RECEIVED_AT },
    ]);
    expect(tradesOf(fixture('okx', 'ws_trades_BTC-USDT_2022_cmp.json'), contextFor('BTC-USDT'))).toEqual([
      { exchange: 'okx', symbol: 'BTC-USDT', id: '314161276', price: 43474.1, amount: 0.00373695, side: 1, exchangeTime: 1646311839593, receivedAt: RECEIVED_AT },
    ]);
    const tardis = fixtureLines('okx', 'ws_v5_misc_2021_tardis.jsonl');
    expect(tradesOf(tardis[1]!, contextFor('CRV-USDT'))).toEqual([
      { exchange: 'okx', symbol: 'CRV-USDT', id: '21300150', price: 3.973, amount: 13.491146, side: 1, exchangeTime: 1639999319938, receivedAt: RECEIVED_AT },
    ]);
    // count (3 matches in one message) is kept; source and seqId (2026 docs) are tolerated.
    expect(tradesOf(docsExample('okx', 'trades_push_2026'), contextFor('BTC-USDT'))).toEqual([
      { exchange: 'okx', symbol: 'BTC-USDT', id: '130639474', price: 42219.9, amount: 0.12060306, count: 3, side: 1, exchangeTime: 1630048897897, receivedAt: RECEIVED_AT },
    ]);
  });

  it('reads every frame of the recorded public session: acks, tickers and books are not trades, nothing fails', () => {
    const lines = fixtureLines('okx', 'ws_public_session_2022-05-13.jsonl');
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
      ...fixtureLines('okx', 'ws_tickers.jsonl'),
      ...fixtureLines('okx', 'ws_books_BTC-USDT_snapshot_then_updates.jsonl'),
      ...fixtureLines('okx', 'ws_books-l2-tbt_BTC-USDT_2022_truncated.jsonl'),
      ...fixtureLines('okx', 'ws_v5_misc_2021_tardis.jsonl').slice(2),
      fixture('okx', 'ws_books5_BTC-USDT_2022.json'),
      fixture('okx', 'ws_bbo-tbt_BTC-USDT_2022.json'),
      fixture('okx', 'ws_candle1m_BTC-USDT_2022_pre-confirm-field.json'),
    ];
    // Includes a `trades-all` frame (BSV-USDT): another channel, even though it carries trades.
    for (const line of others) expect(okxTrades.onMessage(line, context)).toEqual({});
  });
});

describe('OKX acks, errors and keepalive frames', () => {
  const context = contextFor('BTC-USDT', 'FOO-USDT');

  it.skipIf(NO_FIXTURES)('reads the per-arg acks of the recordings and the docs', () => {
    const acks = fixtureLines('okx', 'ws_subscribe_acks.jsonl').map((line) => okxTrades.onMessage(line, context).ack);
    expect(acks.slice(0, 9)).toEqual([
      'tickers:BTC-USD-220527', 'tickers:UNI-USD-SWAP', 'tickers:BTC-USDT', 'tickers:BTC-USD-220527', 'tickers:UNI-USD-SWAP', 'tickers:BTC-USDT',
      'trades:BTC-USD-220527', 'trades:UNI-USD-SWAP', 'trades:BTC-USDT',
    ]);
    expect(okxTrades.onMessage(docsExample('okx', 'subscribe_ack'), context)).toEqual({ ack: 'trades:BTC-USDT' });
    expect(okxTrades.onMessage(docsExample('okx', 'unsubscribe_ack'), context)).toEqual({});
  });

  it.skipIf(NO_FIXTURES)('turns the documented 60012 error (no arg named) into a rejection of every waiting symbol', () => {
    const frame = okxTrades.onMessage(docsExample('okx', 'subscribe_error'), context);
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

  it.skipIf(NO_FIXTURES)('reads pong as a heartbeat and the 64008 upgrade notice as the connection closing', () => {
    expect(okxTrades.onMessage('pong', context)).toEqual({ heartbeat: true });
    expect(okxTrades.onMessage(docsExample('okx', 'service_upgrade_notice'), context).closing).toMatch(/okx announced .*64008: The connection will soon be closed/);
    // Shaped like the docs' channel-conn-count event (an informational count of connections).
    expect(okxTrades.onMessage('{"event":"channel-conn-count","channel":"trades","connCount":"2","connId":"a4d3ae55"}', context)).toEqual({});
  });
});

describe('OKX trade protocol hooks', () => {
  it('keeps instIds as unified symbols and refuses malformed ones', () => {
    expect(okxTrades.connection.toExchangeSymbol('BTC-USDT')).toBe('BTC-USDT');
    expect(() => okxTrades.connection.toExchangeSymbol('btc-usdt')).toThrow(/okx: bad symbol "btc-usdt"/);
    expect(() => okxTrades.connection.toExchangeSymbol('BTCUSDT')).toThrow(/BASE-QUOTE/);
    expect(tradesCollectorKind.keysFor('okx', 'ETH-BTC', undefined)).toEqual(['trades:okx:ETH-BTC']);
  });

  it('subscribes on /ws/v5/public in requests of at most 100 args, expecting one ack per arg', () => {
    const symbols = Array.from({ length: 250 }, (_, i) => `C${i}-USDT`);
    const table = new SymbolTable(symbols, okxTrades.connection.toExchangeSymbol);
    expect(okxTrades.connection.url('wss://ws.okx.com:8443/', table)).toBe('wss://ws.okx.com:8443/ws/v5/public');
    const requests = okxTrades.subscribeMessages(table);
    expect(requests.map((r) => JSON.parse(r.text).args.length)).toEqual([100, 100, 50]);
    expect(JSON.parse(requests[0]!.text)).toEqual({ id: 'trades1', op: 'subscribe', args: expect.arrayContaining([{ channel: 'trades', instId: 'C0-USDT' }]) });
    expect(requests[2]!.acks[0]).toEqual({ key: 'trades:C200-USDT', symbols: ['C200-USDT'] });
    expect(requests.flatMap((r) => r.acks).length).toBe(250);
  });
});

describe('TradeStreamCollector against the OKX simulator', () => {
  const simulator = useSimulator(startOkxSimulator);

  const collectorFor = (symbols: string[], protocol: TradeProtocol = okxTrades): TradeStreamCollector =>
    new TradeStreamCollector({ id: 'trades:okx', protocol, symbols, wsUrl: simulator.current().wsUrl });

  it('is cut by OKX (close 4004) when it neither pings nor receives data', async () => {
    await simulator.start({ symbols: ['BTC-USDT'], tradesPerSecond: 0, idleTimeoutMs: 200 });
    const protocol = { ...okxTrades, connection: { ...okxTrades.connection, keepalive: { silenceTimeoutMs: 30_000 } } };
    await expect(collectorFor(['BTC-USDT'], protocol).run(new MemoryStorage(), new AbortController().signal)).rejects.toThrow(
      'trades:okx: connection closed by the server (code 4004, No data received in 30s)',
    );
  });

  it('ends with an error when OKX announces a service upgrade', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USDT'], tradesPerSecond: 50 });
    const running = collectorFor(['BTC-USDT']).run(new MemoryStorage(), new AbortController().signal);
    await vi.waitFor(() => expect(sim.connections()).toBe(1), { timeout: 10_000 });
    sim.announceUpgrade();
    await expect(running).rejects.toThrow(/trades:okx: okx announced the connection will close \(64008/);
  });
});
