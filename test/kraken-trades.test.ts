import { describe, expect, it } from 'vitest';
import { krakenTimeMs, krakenTrades } from '../collectors/exchanges/kraken/trades.js';
import { tradesCollectorKind } from '../collectors/kinds.js';
import { SymbolTable } from '../collectors/ws/symbol-table.js';
import { SubscriptionAcks } from '../collectors/ws/subscription-acks.js';
import { docsExample, fixtureLines, lazyFixture, NO_FIXTURES } from './support/fixtures.js';
import { RECEIVED_AT, tradeFrameReaders } from './support/trade-frames.js';

type Json = Record<string, unknown>;
const { contextFor } = tradeFrameReaders(krakenTrades);
const SESSION = lazyFixture(() => fixtureLines('kraken', 'ws_v2_trade_session_status_ack_heartbeat_trade_2024-07-27.jsonl'));
const BOOK = lazyFixture(() => fixtureLines('kraken', 'ws_v2_book_ETH-USD_depth10_ack_snapshot_update_2025-05-06.jsonl'));
// Refusals captured from ws.kraken.com and quoted in public client code (the fixtures hold no refusal).
const UNSUPPORTED_PAIR = '{"error":"Currency pair not supported XDG/USD","method":"subscribe","success":false,"symbol":"XDG/USD"}';
const ALREADY_SUBSCRIBED =
  '{"error":"Already subscribed","method":"subscribe","req_id":2,"success":false,"symbol":"BTC/USD","time_in":"2025-12-20T07:39:28.809188Z","time_out":"2025-12-20T07:39:28.809200Z"}';

describe('Kraken trade frames (real recordings)', () => {
  it.skipIf(NO_FIXTURES)('reads the recorded session: status, ack, heartbeats, then a trade with the taker side and JSON-number decimals', () => {
    const context = contextFor('BTC-USD');
    expect(SESSION().map((line) => krakenTrades.onMessage(line, context))).toEqual([
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

  it.skipIf(NO_FIXTURES)('survives the status frame whose connection_id exceeds 2^53 (JSON.parse rounds it; it is never used)', () => {
    const status = SESSION()[0]!;
    expect(status).toContain('"connection_id":15564437896659189083');
    const id = (JSON.parse(status) as { data: [{ connection_id: number }] }).data[0].connection_id;
    expect(Number.isSafeInteger(id)).toBe(false);
    expect(BigInt(id)).not.toBe(15564437896659189083n);
    expect(krakenTrades.onMessage(status, contextFor('BTC-USD'))).toEqual({ heartbeat: true });
  });

  it.skipIf(NO_FIXTURES)('parses the documented snapshot payload', () => {
    const trades = krakenTrades.onMessage(docsExample('kraken', 'trade_snapshot'), contextFor('MATIC-USD')).trades;
    expect(trades).toEqual([
      { exchange: 'kraken', symbol: 'MATIC-USD', id: 4665846, price: 0.5147, amount: 6423.46326, side: 1, exchangeTime: Date.UTC(2023, 8, 25, 7, 48, 36, 925), receivedAt: RECEIVED_AT },
      { exchange: 'kraken', symbol: 'MATIC-USD', id: 4665847, price: 0.5147, amount: 1136.19677815, side: 1, exchangeTime: Date.UTC(2023, 8, 25, 7, 49, 36, 925), receivedAt: RECEIVED_AT },
    ]);
  });

  it.skipIf(NO_FIXTURES)('takes a sell for a selling taker', () => {
    const sell = SESSION()[5]!.replace('"side":"buy"', '"side":"sell"');
    expect(krakenTrades.onMessage(sell, contextFor('BTC-USD')).trades![0]!.side).toBe(-1);
  });

  it.skipIf(NO_FIXTURES)('ignores the recorded book session, its ack included (another channel)', () => {
    for (const line of BOOK()) expect(krakenTrades.onMessage(line, contextFor('ETH-USD'))).toEqual({});
  });

  it.skipIf(NO_FIXTURES)('takes heartbeats and pongs for heartbeats', () => {
    const context = contextFor('BTC-USD');
    expect(krakenTrades.onMessage(docsExample('kraken', 'heartbeat'), context)).toEqual({ heartbeat: true });
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

  it('reads RFC 3339 times to the millisecond', () => {
    expect(krakenTimeMs('2025-05-06T09:17:26.208075Z')).toBe(Date.UTC(2025, 4, 6, 9, 17, 26, 208));
    expect(krakenTimeMs('2023-10-04T15:25:00.000000000Z')).toBe(Date.UTC(2023, 9, 4, 15, 25));
    expect(() => krakenTimeMs('1722114960.512060')).toThrow(/ISO-8601/);
  });
});

describe('Kraken trade protocol hooks', () => {
  it('maps BTC-USD to BTC/USD and refuses the v1 name XBT', () => {
    expect(krakenTrades.connection.toExchangeSymbol('BTC-USD')).toBe('BTC/USD');
    expect(krakenTrades.connection.toExchangeSymbol('ETH-BTC')).toBe('ETH/BTC');
    expect(() => krakenTrades.connection.toExchangeSymbol('XBT-USD')).toThrow(/kraken: bad symbol "XBT-USD": WebSocket v2 spells bitcoin BTC/);
    expect(() => krakenTrades.connection.toExchangeSymbol('BTC/USD')).toThrow(/BASE-QUOTE/);
    expect(tradesCollectorKind.keysFor('kraken', 'BTC-USD', undefined)).toEqual(['trades:kraken:BTC-USD']);
  });

  it.skipIf(NO_FIXTURES)('connects to /v2 and subscribes without snapshot, 50 symbols a request, one ack per symbol', () => {
    const symbols = Array.from({ length: 120 }, (_, i) => `C${i}-USD`);
    const table = new SymbolTable(symbols, krakenTrades.connection.toExchangeSymbol);
    expect(krakenTrades.connection.url('wss://ws.kraken.com', table)).toBe('wss://ws.kraken.com/v2');
    expect(krakenTrades.connection.url('wss://ws.kraken.com/v2/', table)).toBe('wss://ws.kraken.com/v2');
    const requests = krakenTrades.subscribeMessages(table);
    expect(requests.map((r) => (JSON.parse(r.text) as { params: { symbol: string[] } }).params.symbol.length)).toEqual([50, 50, 20]);
    expect(requests[2]!.text).toBe(
      `{"method":"subscribe","params":{"channel":"trade","symbol":[${symbols.slice(100).map((s) => `"${s.replace('-', '/')}"`).join(',')}],"snapshot":false},"req_id":3}`,
    );
    expect(requests[0]!.acks[0]).toEqual({ key: 'C0/USD', symbols: ['C0-USD'] });
    expect(requests.flatMap((r) => r.acks).length).toBe(120);
    // The documented subscribe, with our snapshot choice and a req_id.
    const documented = JSON.parse(docsExample('kraken', 'trade_subscribe')) as { params: Json };
    const one = JSON.parse(krakenTrades.subscribeMessages(contextFor('MATIC-USD').symbols)[0]!.text) as Json;
    expect(one).toEqual({ ...documented, params: { ...documented.params, snapshot: false }, req_id: 1 });
    expect(JSON.parse(krakenTrades.connection.keepalive.clientPing!.text)).toEqual({ method: 'ping', req_id: 0 });
  });
});
