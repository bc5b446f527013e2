import { describe, expect, it } from 'vitest';
import { parseGateioCurrencyPairs } from '../collectors/exchanges/gateio/instruments.js';
import { gateioRestLimits } from '../collectors/exchanges/gateio/rest-limits.js';
import { parseGateioTrade } from '../collectors/exchanges/gateio/trade.js';
import { gateioTrades } from '../collectors/exchanges/gateio/trades.js';
import { compareTradeIds } from '../collectors/trades/dedup.js';
import { SymbolTable } from '../collectors/ws/symbol-table.js';
import { SubscriptionAcks } from '../collectors/ws/subscription-acks.js';
import type { Trade } from '../collectors/trades/trade.js';
import { docsExample, fixture, fixtureLines, NO_FIXTURES } from './support/fixtures.js';
import { RECEIVED_AT, tradeFrameReaders } from './support/trade-frames.js';

const { contextFor, tradesOf } = tradeFrameReaders(gateioTrades);
// The ten pairs of the 2021 session.
const SESSION_PAIRS = ['INK-USDT', 'HAI-ETH', 'BTC-USDC', 'NANO-USDT', 'QTUM3S-USDT', 'DIS-USDT', 'NEO-BTC', 'FAST-USDT', 'ZKS-ETH', 'OMG-USDT'];

interface RawTrade {
  id: number;
  create_time_ms: string;
  side: string;
  currency_pair: string;
  amount: string;
  price: string;
}

/** What a recorded trade should become, written out independently of the parser. */
function expectedTrade(raw: RawTrade): Trade {
  return {
    exchange: 'gateio', symbol: raw.currency_pair.replace('_', '-'), id: String(raw.id), price: Number(raw.price), amount: Number(raw.amount),
    side: raw.side === 'buy' ? 1 : -1, exchangeTime: Math.floor(Number(raw.create_time_ms)), receivedAt: RECEIVED_AT,
  };
}

describe.skipIf(NO_FIXTURES)('Gate.io trade frames (real recordings)', () => {
  it('parses every spot.trades frame of the 2021 session: taker side, string ids, decimals, ms timestamps without the fraction', () => {
    const lines = fixtureLines('gateio', 'ws_trades_2021-04-22.jsonl');
    expect(lines.length).toBe(9);
    const context = contextFor(...SESSION_PAIRS);
    const trades = lines.flatMap((line) => tradesOf(line, context));
    expect(trades).toEqual(lines.map((line) => expectedTrade((JSON.parse(line) as { result: RawTrade }).result)));
    expect(trades[0]).toEqual({
      exchange: 'gateio', symbol: 'DIS-USDT', id: '816995772', price: 121.58, amount: 0.201, side: -1, exchangeTime: 1619093543708, receivedAt: RECEIVED_AT,
    });
    // Ids are one sequence over all markets: they increase per pair but skip the other pairs' trades.
    const neo = trades.filter((t) => t.symbol === 'NEO-BTC').map((t) => t.id);
    expect(neo).toEqual(['816995970', '816995982', '816996982', '816996983', '816997068']);
    neo.slice(1).forEach((id, i) => expect(compareTradeIds(id, neo[i]!)).toBeGreaterThan(0));
    expect(trades.map((t) => Number(t.id))).toEqual([...trades.map((t) => Number(t.id))].sort((a, b) => a - b));
  });

  it('parses the 2021 cmp frame, the 2023 frame with time_ms and the documented 2025 frame with id_market and range', () => {
    expect(tradesOf(fixture('gateio', 'ws_trades_BTC_USDT_2021-09-16_cmp.json'), contextFor('BTC-USDT'))).toEqual([
      { exchange: 'gateio', symbol: 'BTC-USDT', id: '1638417041', price: 47395.009, amount: 0.00052, side: 1, exchangeTime: 1631824310261, receivedAt: RECEIVED_AT },
    ]);
    const tardis = fixtureLines('gateio', 'ws_v4_trades_book_ticker_order_book_update_2023-04-28_tardis.jsonl');
    expect(tradesOf(tardis[0]!, contextFor('TLOS-BTC'))).toEqual([
      { exchange: 'gateio', symbol: 'TLOS-BTC', id: '5541729598', price: 0.00000644, amount: 89.238, side: 1, exchangeTime: 1682689046123, receivedAt: RECEIVED_AT },
    ]);
    // The docs example repeats the key id_market; it is not read.
    const docs = JSON.parse(docsExample('gateio', 'spot_trades_update_text')) as string;
    expect(tradesOf(docs, contextFor('GT-USDT'))).toEqual([
      { exchange: 'gateio', symbol: 'GT-USDT', id: '309143071', price: 0.4705, amount: 16.47, side: -1, exchangeTime: 1606292218213, receivedAt: RECEIVED_AT },
    ]);
  });

  it('reads every frame of the recorded session: one spot.trades ack, other channels are of no interest, nothing fails', () => {
    const lines = fixtureLines('gateio', 'ws_session_2021-04-22.jsonl');
    expect(lines.length).toBe(239);
    const frames = lines.map((line) => gateioTrades.onMessage(line, contextFor(...SESSION_PAIRS)));
    expect(frames.flatMap((f) => f.trades ?? []).length).toBe(9);
    // The 2021 client sent no request id, so the ack carries none.
    expect(frames.filter((f) => f.ack !== undefined).map((f) => f.ack)).toEqual(['spot.trades']);
    expect(frames.filter((f) => f.trades === undefined && f.ack === undefined).every((f) => Object.keys(f).length === 0)).toBe(true);
    // spot.book_ticker and spot.order_book_update of 2023 are other channels too.
    const tardis = fixtureLines('gateio', 'ws_v4_trades_book_ticker_order_book_update_2023-04-28_tardis.jsonl');
    for (const line of tardis.slice(1)) expect(gateioTrades.onMessage(line, contextFor('BTC-USDT'))).toEqual({});
  });

  it('reads the REST trade entry, whose id is a string and whose create_time_ms has six decimals', () => {
    const [entry] = JSON.parse(fixture('gateio', 'rest_trades_BTC_USDT_limit1_2024-03-13_ccxt.json')) as unknown[];
    expect(parseGateioTrade(entry, 'BTC-USDT', RECEIVED_AT)).toEqual({
      exchange: 'gateio', symbol: 'BTC-USDT', id: '7835390042', price: 73236.4, amount: 0.0002, side: 1, exchangeTime: 1710327648162, receivedAt: RECEIVED_AT,
    });
  });

});

describe('Gate.io acks, errors and keepalive frames', () => {
  const context = contextFor('BTC-USDT', 'FOO-USDT');

  it.skipIf(NO_FIXTURES)('reads the recorded and documented acks; the 2024 ack echoes the request id', () => {
    for (const line of fixtureLines('gateio', 'ws_subscribe_acks_2021-04-22.jsonl')) {
      const channel = (JSON.parse(line) as { channel: string }).channel;
      expect(gateioTrades.onMessage(line, context)).toEqual(channel === 'spot.trades' ? { ack: 'spot.trades' } : {});
    }
    const tickers = fixture('gateio', 'ws_subscribe_ack_conn_id_trace_id_2024-09-12_gct.json');
    expect(gateioTrades.onMessage(tickers, context)).toEqual({});
    expect(gateioTrades.onMessage(tickers.replace('spot.tickers', 'spot.trades'), context)).toEqual({ ack: 'spot.trades#1' });
    // docs: "error": null on success.
    expect(gateioTrades.onMessage(docsExample('gateio', 'server_response_example_subscribe_ack').replace('spot.orders', 'spot.trades'), context)).toEqual({ ack: 'spot.trades' });
    expect(gateioTrades.onMessage(docsExample('gateio', 'spot_obu_unsubscribe_ack'), context)).toEqual({});
  });

  it.skipIf(NO_FIXTURES)('turns the documented error reply into a rejection of its request, naming Gate\'s code and message', () => {
    // No recording has a refusal: the documented one (spot.obu) on our channel.
    const refusal = docsExample('gateio', 'spot_obu_duplicate_subscribe_error').replace('spot.obu', 'spot.trades').replace('["ob.BTC_USDT.400"]', '["BTC_USDT","FOO_USDT"]');
    const frame = gateioTrades.onMessage(refusal, context);
    expect(frame).toEqual({ error: { ack: 'spot.trades#1', reason: 'code 2: Alert sub ob.BTC_USDT.400' } });
    const acks = new SubscriptionAcks('gateio');
    gateioTrades.subscribeMessages(context.symbols).forEach((request) => acks.expect(request));
    // The message names BTC_USDT: it alone is refused, FOO-USDT of the same request is subscribed again.
    const triage = acks.triage(frame.error!, gateioTrades.connection.toExchangeSymbol);
    expect(triage?.refused.map((r) => r.symbol)).toEqual(['BTC-USDT']);
    expect(triage?.retry).toEqual(['FOO-USDT']);
  });

  it('names the refused pair when Gate\'s message names it, so only that pair fails', () => {
    const acks = new SubscriptionAcks('gateio');
    gateioTrades.subscribeMessages(context.symbols).forEach((request) => acks.expect(request));
    const reply = { time: 1, id: 1, channel: 'spot.trades', event: 'subscribe', error: { code: 2, message: 'unknown currency pair: FOO_USDT' }, result: { status: 'fail' } };
    const frame = gateioTrades.onMessage(JSON.stringify(reply), context);
    expect(acks.triage(frame.error!, gateioTrades.connection.toExchangeSymbol)).toEqual({
      refused: [{ symbol: 'FOO-USDT', reason: 'gateio rejected the trades subscription for FOO-USDT (request spot.trades#1): code 2: unknown currency pair: FOO_USDT' }],
      retry: ['BTC-USDT'],
      oneByOne: false,
    });
  });

  it.skipIf(NO_FIXTURES)('pings with spot.ping carrying the current time and reads spot.pong as a heartbeat', () => {
    expect(gateioTrades.onMessage(docsExample('gateio', 'spot_pong_response'), context)).toEqual({ heartbeat: true });
    const ping = JSON.parse(gateioTrades.connection.keepalive.clientPing!.text) as { time: number; channel: string };
    expect(ping.channel).toBe('spot.ping');
    expect(Math.abs(ping.time - Date.now() / 1000)).toBeLessThan(5);
  });
});

describe('Gate.io trade protocol hooks', () => {
  it('spells BTC-USDT as BTC_USDT and refuses malformed symbols', () => {
    expect(gateioTrades.connection.toExchangeSymbol('BTC-USDT')).toBe('BTC_USDT');
    expect(gateioTrades.connection.toExchangeSymbol('QTUM3S-USDT')).toBe('QTUM3S_USDT');
    expect(() => gateioTrades.connection.toExchangeSymbol('btc-usdt')).toThrow(/gateio: bad symbol "btc-usdt"/);
  });

  it('subscribes on /ws/v4/ in requests of at most 100 pairs, each with its own id and one ack', () => {
    const table = new SymbolTable(Array.from({ length: 250 }, (_, i) => `C${i}-USDT`), gateioTrades.connection.toExchangeSymbol);
    expect(gateioTrades.connection.url('wss://api.gateio.ws/', table)).toBe('wss://api.gateio.ws/ws/v4/');
    const requests = gateioTrades.subscribeMessages(table, 4);
    expect(requests.map((r) => (JSON.parse(r.text) as { payload: string[] }).payload.length)).toEqual([100, 100, 50]);
    expect(JSON.parse(requests[0]!.text)).toEqual({ time: expect.any(Number), id: 4, channel: 'spot.trades', event: 'subscribe', payload: expect.arrayContaining(['C0_USDT']) });
    expect(requests[2]!.acks).toEqual([{ key: 'spot.trades#6', symbols: table.unified.slice(200) }]);
  });

  it('keeps a bucket that fits Gate\'s 200 requests per 10 s', () => {
    const { capacity, refillPerSecond } = gateioRestLimits.bucket;
    expect(capacity + refillPerSecond * 10).toBeLessThanOrEqual(200);
  });
});

describe.skipIf(NO_FIXTURES)('Gate.io currency pairs', () => {
  it('lists the 1458 pairs of the 2021 answer with their trade_status', () => {
    const pairs = parseGateioCurrencyPairs(JSON.parse(fixture('gateio', 'rest_currency_pairs_2021-04-22.json')));
    expect(pairs.length).toBe(1458);
    expect(pairs[0]).toEqual({ exchangeSymbol: 'IHT_ETH', unified: 'IHT-ETH', trading: true, status: 'tradable' });
    expect(pairs.find((p) => p.exchangeSymbol === 'BTC_USDT')).toEqual({ exchangeSymbol: 'BTC_USDT', unified: 'BTC-USDT', trading: true, status: 'tradable' });
    // Every listed id is the spelling toExchangeSymbol gives its base and quote.
    for (const pair of pairs.filter((p) => /^[A-Z0-9]+-[A-Z0-9]+$/.test(p.unified))) expect(gateioTrades.connection.toExchangeSymbol(pair.unified)).toBe(pair.exchangeSymbol);
    expect(() => parseGateioCurrencyPairs({ label: 'SERVER_ERROR', message: 'x' })).toThrow(/currency_pairs answered with no array/);
  });
});
