import { describe, expect, it, vi } from 'vitest';
import { bybitTrades } from '../collectors/exchanges/bybit/trades.js';
import { startBybitSimulator, type BybitTradePayload } from '../collectors/exchanges/bybit/simulator.js';
import { TradeDeduplicator } from '../collectors/trades/dedup.js';
import { tradesCollectorKind } from '../collectors/kinds.js';
import { SymbolTable, type TradeProtocol } from '../collectors/trades/protocol.js';
import { SubscriptionAcks } from '../collectors/trades/subscription-acks.js';
import type { Trade } from '../collectors/trades/trade.js';
import { TradeStreamCollector } from '../collectors/trades/trade-stream.js';
import type { DataRequirement } from '../collectors/types.js';
import { silentLogger } from '../common/logger.js';
import { MemoryStorage } from '../storage/memory.js';
import { docsExample, fixture, fixtureLines, NO_FIXTURES } from './support/fixtures.js';
import { trackRun } from './support/run-tracking.js';
import { useSimulator } from './support/simulator-harness.js';
import {
  collectEverythingSent,
  expectOnlySymbolFails,
  expectRejectsWhenConnectionDrops,
  expectResolvesWhenAborted,
  expectSkipsMalformedFrame,
  expectStoredExactlyAsSent,
} from './support/trade-collection.js';
import { RECEIVED_AT, tradeFrameReaders } from './support/trade-frames.js';
import type { SentTradeFacts } from './support/trade-samples.js';

const { contextFor, tradesOf } = tradeFrameReaders(bybitTrades);

function trade(symbol: string, id: string, price: number, amount: number, side: 1 | -1, exchangeTime: number): Trade {
  return { exchange: 'bybit', symbol, id, price, amount, side, exchangeTime, receivedAt: RECEIVED_AT };
}

describe.skipIf(NO_FIXTURES)('Bybit trade frames (real recordings)', () => {
  it('parses the 2025 spot frame: S is the taker side, the id stays an exact string beyond 2^53', () => {
    expect(tradesOf(fixture('bybit', 'ws_spot_publicTrade_BTCUSDT_2025-10-27.json'), contextFor('BTC-USDT'))).toEqual([
      trade('BTC-USDT', '2290000000923750370', 115440.7, 0.00903, 1, 1761583474343),
    ]);
  });

  it('parses every trade frame of the 2025 spot session, several trades per frame', () => {
    const [ack, ...frames] = fixtureLines('bybit', 'ws_spot_subscribe_ack_and_publicTrade_BTCUSDC_2025-10-27.jsonl');
    const context = contextFor('BTC-USDC');
    // The recorded ack has no req_id (the client sent none): it cannot be matched to a request.
    expect(bybitTrades.onMessage(ack!, context)).toEqual({});
    const trades = frames.flatMap((line) => tradesOf(line, context));
    expect(trades).toEqual([
      trade('BTC-USDC', '2240000000970262966', 114513.1, 0.00862, -1, 1761520812163),
      trade('BTC-USDC', '2240000000970262967', 114513.1, 0.05548, -1, 1761520812163),
      trade('BTC-USDC', '2240000000970262969', 114513.1, 0.0001, -1, 1761520812168),
      trade('BTC-USDC', '2240000000970263000', 114513.2, 0.004332, 1, 1761520815666),
      trade('BTC-USDC', '2240000000970263001', 114513.2, 0.017378, 1, 1761520815666),
      trade('BTC-USDC', '2240000000970263002', 114513.2, 0.0018, 1, 1761520815666),
      trade('BTC-USDC', '2240000000970263003', 114513.2, 0.013077, 1, 1761520815666),
      trade('BTC-USDC', '2240000000970263004', 114513.2, 0.002593, 1, 1761520815666),
      trade('BTC-USDC', '2240000000970263011', 114518.7, 0.004366, 1, 1761520815894),
      trade('BTC-USDC', '2240000000970263012', 114518.7, 0.032255, 1, 1761520815894),
      trade('BTC-USDC', '2240000000970263013', 114518.7, 0.013379, 1, 1761520815894),
    ]);
    // Ids beyond 2^53 survive as strings, so the recent-id dedup tells neighbours apart.
    const dedup = new TradeDeduplicator(bybitTrades.idsIncrease);
    expect(trades.every((t) => dedup.accept(t))).toBe(true);
    expect(trades.some((t) => dedup.accept(t))).toBe(false);
  });

  it('parses the 2023 tardis frames and the documented push, and skips the order book frames', () => {
    const lines = fixtureLines('bybit', 'ws_spot_v5_publicTrade_orderbook_2023-04_tardis.jsonl');
    const context = contextFor('BTC-USDT', 'BTC-USDC');
    expect(tradesOf(lines[0]!, context)).toEqual([
      trade('BTC-USDT', '2290000000050703789', 28165.38, 0.041732, -1, 1680652847524),
      trade('BTC-USDT', '2290000000050703790', 28165.38, 0.008513, -1, 1680652847524),
      trade('BTC-USDT', '2290000000050703791', 28165.38, 0.042384, -1, 1680652847524),
      trade('BTC-USDT', '2290000000050703792', 28165.38, 0.055371, -1, 1680652847524),
    ]);
    expect(tradesOf(lines[1]!, context)).toEqual([trade('BTC-USDC', '2240000000041223438', 28528.98, 0.00433, 1, 1680688979998)]);
    for (const line of lines.slice(2)) expect(bybitTrades.onMessage(line, context)).toEqual({});
    // The docs example carries a UUID id and the derivatives-only L.
    expect(tradesOf(docsExample('bybit', 'publicTrade_push'), contextFor('BTC-USDT'))).toEqual([
      trade('BTC-USDT', '20f43950-d8dd-5b31-9112-a178eb6023af', 16578.5, 0.001, 1, 1672304486865),
    ]);
  });

  it('recognises the other topics of the recordings as frames of no interest', () => {
    const context = contextFor('BTC-USDT', 'XRP-USDT');
    const others = [
      ...fixtureLines('bybit', 'ws_orderbook50_spot_BTCUSDT_snapshot_delta_2024-11-08.jsonl'),
      ...fixtureLines('bybit', 'ws_orderbook500_linear_XRPUSDT_2024-12-01_first50.jsonl'),
      docsExample('bybit', 'orderbook_delta_push'),
      docsExample('bybit', 'kline_push'),
    ];
    expect(others.length).toBe(54);
    for (const line of others) expect(bybitTrades.onMessage(line, context)).toEqual({});
  });

  it('refuses frames it cannot trust', () => {
    const context = contextFor('BTC-USDT');
    const frame = fixture('bybit', 'ws_spot_publicTrade_BTCUSDT_2025-10-27.json');
    expect(() => bybitTrades.onMessage(frame.slice(0, 80), context)).toThrow();
    expect(() => bybitTrades.onMessage(frame.replace('"p":"115440.7"', '"p":115440.7'), context)).toThrow(/p \(price\)/);
    expect(() => bybitTrades.onMessage(frame.replace('"S":"Buy"', '"S":"buy"'), context)).toThrow(/S \(side\)/);
    expect(() => bybitTrades.onMessage(frame.replace('"i":"2290000000923750370"', '"i":2290000000923750370'), context)).toThrow(/trade id/);
    expect(() => tradesOf(frame, contextFor('ETH-USDT'))).toThrow(/BTCUSDT, which this connection did not subscribe/);
    expect(() => bybitTrades.onMessage('{"data":[]}', context)).toThrow(/neither a topic nor an op/);
  });
});

describe('Bybit acks, refusals and pongs', () => {
  const context = contextFor('BTC-USDT', 'FOO-USDT');

  it.skipIf(NO_FIXTURES)('reads the documented acks by req_id', () => {
    expect(bybitTrades.onMessage(docsExample('bybit', 'subscribe_ack_public_spot'), context)).toEqual({ ack: '10001' });
    // The linear ack of a request sent without req_id echoes an empty one.
    expect(bybitTrades.onMessage(docsExample('bybit', 'subscribe_ack_linear'), context)).toEqual({});
  });

  it('turns success:false into a rejection naming bybit, the request\'s symbols and ret_msg', () => {
    const acks = new SubscriptionAcks('bybit');
    bybitTrades.subscribeMessages(context.symbols).forEach((request) => acks.expect(request));
    const frame = bybitTrades.onMessage(
      '{"success":false,"ret_msg":"Invalid symbol :[publicTrade.FOOUSDT]","conn_id":"d2a3b8a1-0e0c-4b0f-9a0e-1c2f3e4d5a6b","req_id":"trades1","op":"subscribe"}',
      context,
    );
    expect(frame).toEqual({ error: { ack: 'trades1', reason: 'Invalid symbol :[publicTrade.FOOUSDT]' } });
    expect(acks.rejection(frame.error!).message).toBe(
      'bybit rejected the trades subscription for BTC-USDT, FOO-USDT (request trades1): Invalid symbol :[publicTrade.FOOUSDT]',
    );
  });

  it.skipIf(NO_FIXTURES)('reads the spot pong, the linear pong and the private pong as heartbeats', () => {
    expect(bybitTrades.onMessage(docsExample('bybit', 'pong_public_spot'), context)).toEqual({ heartbeat: true });
    expect(bybitTrades.onMessage(docsExample('bybit', 'pong_linear'), context)).toEqual({ heartbeat: true });
    expect(bybitTrades.onMessage(fixture('bybit', 'ws_private_pong_example.jsonl').trim(), context)).toEqual({ heartbeat: true });
  });
});

describe('Bybit trade protocol hooks', () => {
  it('maps BTC-USDT ↔ BTCUSDT through the subscribed set', () => {
    expect(bybitTrades.toExchangeSymbol('BTC-USDT')).toBe('BTCUSDT');
    expect(() => bybitTrades.toExchangeSymbol('btc-usdt')).toThrow(/bybit: bad symbol "btc-usdt"/);
    expect(() => bybitTrades.toExchangeSymbol('BTCUSDT')).toThrow(/BASE-QUOTE/);
    const table = new SymbolTable(['BTC-USDC', 'ETH-BTC'], bybitTrades.toExchangeSymbol);
    expect(table.fromExchange('ETHBTC')).toBe('ETH-BTC');
    expect(table.fromExchange('BTCUSDT')).toBeUndefined();
  });

  it('subscribes on /v5/public/spot in requests of at most 10 topics, each acked by its req_id', () => {
    const symbols = Array.from({ length: 25 }, (_, i) => `C${i}-USDT`);
    const table = new SymbolTable(symbols, bybitTrades.toExchangeSymbol);
    expect(bybitTrades.url('wss://stream.bybit.com/', table)).toBe('wss://stream.bybit.com/v5/public/spot');
    const requests = bybitTrades.subscribeMessages(table);
    expect(requests.map((r) => JSON.parse(r.text).args.length)).toEqual([10, 10, 5]);
    expect(requests[0]!.text).toBe(`{"req_id":"trades1","op":"subscribe","args":[${symbols.slice(0, 10).map((s) => `"publicTrade.${s.replace('-', '')}"`).join(',')}]}`);
    expect(requests[2]!.acks).toEqual([{ key: 'trades3', symbols: symbols.slice(20) }]);
  });

  it('splits many symbols over connections of 200', () => {
    const requirement = (symbol: string): DataRequirement => ({ id: `trades:bybit:${symbol}`, collector: 'trades', exchange: 'bybit', symbol, keys: [] });
    const collectors = tradesCollectorKind.create(
      Array.from({ length: 201 }, (_, i) => requirement(`C${i}-USDT`)),
      { exchanges: {}, logger: silentLogger },
    );
    expect(collectors.map((c) => [c.id, c.keys.length])).toEqual([['trades:bybit', 200], ['trades:bybit#2', 1]]);
  });
});

/** How the samples read a Bybit trade: `S` is the taker's side. */
function readBybitTrade(t: BybitTradePayload): SentTradeFacts {
  return { time: t.T, price: Number(t.p), amount: t.v, takerSide: t.S === 'Buy' ? 1 : -1 };
}

describe('TradeStreamCollector against the Bybit simulator', () => {
  const simulator = useSimulator(startBybitSimulator);

  const collectorFor = (symbols: string[], protocol: TradeProtocol = bybitTrades): TradeStreamCollector =>
    new TradeStreamCollector({ id: 'trades:bybit', protocol, symbols, wsUrl: simulator.current().wsUrl });

  it('stores exactly what was sent after subscribing: per-millisecond price, count, amount and taker-buy amount', async () => {
    const symbols = ['BTC-USDT', 'ETH-USDT'];
    const sim = await simulator.start({ symbols, tradesPerSecond: 400 });
    const storage = new MemoryStorage();
    const collector = await collectEverythingSent({
      exchange: 'bybit', simulator: sim, symbols, storage,
      waitBeforePausing: [() => expect(sim.sent('ETH-USDT').count).toBeGreaterThan(600)],
    });
    for (const { sent, stored } of await expectStoredExactlyAsSent(storage, 'bybit', sim, symbols, readBybitTrade)) {
      expect(stored.size).toBeLessThan(sent.count);
    }
    expect((collector as TradeStreamCollector).unparsedFrames).toBe(0);
    expect(collector.progress.lastDataTime).toBe(Math.max(...symbols.map((s) => sim.sent(s).trades.at(-1)!.T)));
  });

  it('sends {"op":"ping"} that Bybit answers, read as heartbeats', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USDT'], tradesPerSecond: 0 });
    const protocol = { ...bybitTrades, keepalive: { ...bybitTrades.keepalive, clientPing: { intervalMs: 50, text: '{"op":"ping"}' } } };
    const collector = collectorFor(['BTC-USDT'], protocol);
    const abort = new AbortController();
    const running = trackRun(collector.run(new MemoryStorage(), abort.signal));
    await vi.waitFor(() => expect(sim.pings()).toBeGreaterThanOrEqual(5), { timeout: 10_000 });
    expect(running.settled()).toBe(false);
    expect(collector.unparsedFrames).toBe(0); // every pong was understood
    expect(collector.progress.lastHeartbeatAt).toBeDefined();
    abort.abort();
    await running.run;
  });

  it('skips a malformed frame and keeps collecting', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USDT'], tradesPerSecond: 200 });
    await expectSkipsMalformedFrame(sim, collectorFor(['BTC-USDT']), 'bybit', 'BTC-USDT');
  });

  it('rejects with a clear error when the connection drops', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USDT'], tradesPerSecond: 200 });
    await expectRejectsWhenConnectionDrops(sim, collectorFor(['BTC-USDT']), 'bybit', 'BTC-USDT', /^trades:bybit: connection closed by the server \(code 1006\)$/);
  });

  it('fails only the symbol Bybit refuses, naming it and ret_msg, and subscribes the rest of the refused request again', async () => {
    // Bybit refuses a whole request for one unlisted topic in it.
    await simulator.start({ symbols: ['BTC-USDT', 'ETH-USDT'], tradesPerSecond: 50 });
    const { stop } = await expectOnlySymbolFails(collectorFor(['BTC-USDT', 'FOO-USDT', 'ETH-USDT']), {
      collecting: ['trades:bybit:BTC-USDT', 'trades:bybit:ETH-USDT'],
      failed: 'FOO-USDT',
      reason: 'bybit rejected the trades subscription for FOO-USDT (request trades1): Invalid symbol :[publicTrade.FOOUSDT]',
    });
    await stop();
  });

  it('resolves when aborted, and closes its connection', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USDT'], tradesPerSecond: 100 });
    await expectResolvesWhenAborted(sim, collectorFor(['BTC-USDT']));
  });
});
