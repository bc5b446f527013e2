import { describe, expect, it } from 'vitest';
import { bybitTrades } from '../collectors/exchanges/bybit/trades.js';
import { TradeDeduplicator } from '../collectors/trades/dedup.js';
import { SymbolTable } from '../collectors/ws/symbol-table.js';
import { SubscriptionAcks } from '../collectors/ws/subscription-acks.js';
import type { Trade } from '../collectors/trades/trade.js';
import { docsExample, fixture, fixtureLines, NO_FIXTURES } from './support/fixtures.js';
import { RECEIVED_AT, tradeFrameReaders } from './support/trade-frames.js';

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
    expect(bybitTrades.connection.toExchangeSymbol('BTC-USDT')).toBe('BTCUSDT');
    expect(() => bybitTrades.connection.toExchangeSymbol('btc-usdt')).toThrow(/bybit: bad symbol "btc-usdt"/);
    expect(() => bybitTrades.connection.toExchangeSymbol('BTCUSDT')).toThrow(/BASE-QUOTE/);
    const table = new SymbolTable(['BTC-USDC', 'ETH-BTC'], bybitTrades.connection.toExchangeSymbol);
    expect(table.fromExchange('ETHBTC')).toBe('ETH-BTC');
    expect(table.fromExchange('BTCUSDT')).toBeUndefined();
  });

  it('subscribes on /v5/public/spot in requests of at most 10 topics, each acked by its req_id', () => {
    const symbols = Array.from({ length: 25 }, (_, i) => `C${i}-USDT`);
    const table = new SymbolTable(symbols, bybitTrades.connection.toExchangeSymbol);
    expect(bybitTrades.connection.url('wss://stream.bybit.com/', table)).toBe('wss://stream.bybit.com/v5/public/spot');
    const requests = bybitTrades.subscribeMessages(table);
    expect(requests.map((r) => JSON.parse(r.text).args.length)).toEqual([10, 10, 5]);
    expect(requests[0]!.text).toBe(`{"req_id":"trades1","op":"subscribe","args":[${symbols.slice(0, 10).map((s) => `"publicTrade.${s.replace('-', '')}"`).join(',')}]}`);
    expect(requests[2]!.acks).toEqual([{ key: 'trades3', symbols: symbols.slice(20) }]);
  });
});
