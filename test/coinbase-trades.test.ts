import { describe, expect, it } from 'vitest';
import { startCoinbaseSimulator, type CoinbaseMatchPayload } from '../collectors/exchanges/coinbase/simulator/index.js';
import { coinbaseTimeMs, coinbaseTrades, parseCoinbaseMatch } from '../collectors/exchanges/coinbase/trades.js';
import { tradesCollectorKind } from '../collectors/kinds.js';
import { SubscriptionAcks } from '../collectors/ws/subscription-acks.js';
import type { Trade } from '../collectors/trades/trade.js';
import { TradeStreamCollector } from '../collectors/trades/trade-stream.js';
import { MemoryStorage } from '../storage/memory.js';
import { docsExample, fixture, fixtureLines, lazyFixture, NO_FIXTURES } from './support/fixtures.js';
import { useSimulator } from './support/simulator-harness.js';
import { RECEIVED_AT, tradeFrameReaders } from './support/trade-frames.js';

type Json = Record<string, unknown>;
const { contextFor } = tradeFrameReaders(coinbaseTrades);
const MATCHES = lazyFixture(() => fixtureLines('coinbase', 'ws_matches_and_last_match.jsonl'));
const SESSION = lazyFixture(() => fixtureLines('coinbase', 'ws_full_session_2021-04-17.jsonl'));
// The ten products of the recorded session (ws_client_sent_subscribe.jsonl).
const SESSION_PRODUCTS = lazyFixture(() => (JSON.parse(fixtureLines('coinbase', 'ws_client_sent_subscribe.jsonl')[0]!) as { product_ids: string[] }).product_ids);

/** The Trade a match frame should become, computed independently of the parser: the taker is opposite the maker `side`. */
function expectedTrade(frame: CoinbaseMatchPayload | Json): Trade {
  const time = frame.time as string;
  return {
    exchange: 'coinbase',
    symbol: frame.product_id as string,
    id: frame.trade_id as number,
    price: Number(frame.price),
    amount: Number(frame.size),
    side: frame.side === 'sell' ? 1 : -1,
    // Microseconds truncated: "…:30.244075Z" → "…:30.244Z".
    exchangeTime: Date.parse(`${time.slice(0, 23)}Z`),
    receivedAt: RECEIVED_AT,
  };
}

describe('Coinbase trade frames (real recordings)', () => {
  it.skipIf(NO_FIXTURES)('parses every recorded match and last_match with the taker side opposite the maker side', () => {
    expect(MATCHES().length).toBe(107);
    const context = contextFor(...SESSION_PRODUCTS());
    for (const line of MATCHES()) {
      const frame = JSON.parse(line) as Json;
      expect(parseCoinbaseMatch(frame, context)).toEqual(expectedTrade(frame));
    }
    // Spelled out once: a `sell` maker means the taker bought.
    expect(parseCoinbaseMatch(JSON.parse(MATCHES()[0]!) as Json, context)).toEqual({
      exchange: 'coinbase', symbol: 'BAND-GBP', id: 881613, price: 14.7775, amount: 0.04, side: 1,
      exchangeTime: Date.UTC(2021, 3, 17, 16, 43, 30, 244), receivedAt: RECEIVED_AT,
    });
  });

  it.skipIf(NO_FIXTURES)('agrees with the ticker channel, whose side is the taker side, on every trade both recorded', () => {
    const context = contextFor(...SESSION_PRODUCTS());
    const tickerSide = new Map<number, string>();
    for (const line of SESSION()) {
      const frame = JSON.parse(line) as Json;
      if (frame.type === 'ticker') tickerSide.set(frame.trade_id as number, frame.side as string);
    }
    let compared = 0;
    for (const line of MATCHES()) {
      const trade = parseCoinbaseMatch(JSON.parse(line) as Json, context);
      const side = tickerSide.get(trade.id as number);
      if (side === undefined) continue;
      expect(trade.side).toBe(side === 'buy' ? 1 : -1);
      compared += 1;
    }
    expect(compared).toBe(107);
  });

  it.skipIf(NO_FIXTURES)('reads every frame of the recorded session: match → trade, last_match → heartbeat, the rest → nothing', () => {
    const context = contextFor(...SESSION_PRODUCTS());
    const trades: Trade[] = [];
    const kinds = new Map<string, number>();
    for (const line of SESSION()) {
      const type = (JSON.parse(line) as Json).type as string;
      const frame = coinbaseTrades.onMessage(line, context);
      kinds.set(type, (kinds.get(type) ?? 0) + 1);
      if (type === 'match') trades.push(...frame.trades!);
      else if (type === 'last_match') expect(frame).toEqual({ heartbeat: true });
      else if (type === 'subscriptions') expect(frame.trades).toBeUndefined();
      else expect(frame).toEqual({});
    }
    expect(Object.fromEntries(kinds)).toEqual({ subscriptions: 3, snapshot: 10, ticker: 107, last_match: 10, l2update: 9719, match: 97 });
    const recordedMatches = MATCHES().map((line) => JSON.parse(line) as Json).filter((f) => f.type === 'match');
    expect(trades).toEqual(recordedMatches.map(expectedTrade));
  });

  it.skipIf(NO_FIXTURES)('ignores the level2 and ticker recordings', () => {
    const files = ['ws_level2_snapshot_and_l2update_NU-GBP.jsonl', 'ws_level2_snapshot_and_l2update_SKL-USD_first400.jsonl', 'ws_ticker.jsonl'];
    for (const line of files.flatMap((name) => fixtureLines('coinbase', name))) expect(coinbaseTrades.onMessage(line, contextFor('NU-GBP', 'SKL-USD'))).toEqual({});
  });

  it.skipIf(NO_FIXTURES)('takes the documented heartbeat for a heartbeat', () => {
    expect(coinbaseTrades.onMessage(docsExample('coinbase', 'heartbeat_message'), contextFor('BTC-USD'))).toEqual({ heartbeat: true });
  });

  it.skipIf(NO_FIXTURES)('acknowledges only a cumulative subscriptions reply that lists every product under matches', () => {
    const [levelOnly, levelAndTicker, all] = fixtureLines('coinbase', 'ws_subscriptions_acks.jsonl');
    const context = contextFor(...SESSION_PRODUCTS());
    // The session subscribed level2, ticker, then matches: only the third reply lists matches.
    expect(coinbaseTrades.onMessage(levelOnly!, context)).toEqual({});
    expect(coinbaseTrades.onMessage(levelAndTicker!, context)).toEqual({});
    expect(coinbaseTrades.onMessage(all!, context)).toEqual({ ack: 'matches' });
    // A product the reply does not list keeps the ack waiting.
    expect(coinbaseTrades.onMessage(all!, contextFor('SKL-USD', 'BTC-USD'))).toEqual({});
    const [, , otherConnection] = fixtureLines('coinbase', 'ws_error_and_subscriptions_examples.jsonl');
    expect(coinbaseTrades.onMessage(otherConnection!, contextFor('BTC-USD'))).toEqual({});
  });

  it.skipIf(NO_FIXTURES)('turns recorded error frames into rejections naming coinbase, the product and the reason', () => {
    const [authError, productError] = fixtureLines('coinbase', 'ws_error_and_subscriptions_examples.jsonl');
    const context = contextFor('BTC-USD', 'ETH-USD');
    expect(coinbaseTrades.onMessage(authError!, context)).toEqual({
      error: { reason: 'Failed to subscribe: level2, level3, and full channels now require authentication.' },
    });
    const frame = coinbaseTrades.onMessage(productError!, contextFor('ETH-USD'));
    expect(frame).toEqual({ error: { reason: 'Failed to subscribe: ETH-USD is not a valid product' } });
    const acks = new SubscriptionAcks('coinbase');
    coinbaseTrades.subscribeMessages(contextFor('ETH-USD').symbols).forEach((request) => acks.expect(request));
    expect(acks.rejection(frame.error!).message).toBe('coinbase rejected the trades subscription for ETH-USD: Failed to subscribe: ETH-USD is not a valid product');
  });

  it('reads times with micro- and nanoseconds, truncating to the millisecond', () => {
    expect(coinbaseTimeMs('2021-04-17T16:43:30.244075Z')).toBe(Date.UTC(2021, 3, 17, 16, 43, 30, 244));
    // rest_book_level1_BTC-USD_2026-06-19.json prints nanoseconds.
    expect(coinbaseTimeMs('2026-06-19T16:43:31.844642586Z')).toBe(Date.UTC(2026, 5, 19, 16, 43, 31, 844));
    expect(coinbaseTimeMs('2026-06-19T16:43:31.8Z')).toBe(Date.UTC(2026, 5, 19, 16, 43, 31, 800));
    expect(coinbaseTimeMs('2026-06-19T16:43:31Z')).toBe(Date.UTC(2026, 5, 19, 16, 43, 31));
    expect(() => coinbaseTimeMs('2026-06-19 16:43:31')).toThrow(/ISO-8601/);
    expect(() => coinbaseTimeMs(1781887413188)).toThrow(/ISO-8601/);
  });
});

describe('Coinbase trade protocol hooks', () => {
  it('keeps product ids as they are and validates them', () => {
    expect(coinbaseTrades.connection.toExchangeSymbol('BTC-USD')).toBe('BTC-USD');
    expect(() => coinbaseTrades.connection.toExchangeSymbol('btc-usd')).toThrow(/coinbase: bad symbol "btc-usd"/);
    expect(() => coinbaseTrades.connection.toExchangeSymbol('BTCUSD')).toThrow(/BASE-QUOTE/);
    expect(tradesCollectorKind.keysFor('coinbase', 'BTC-USD', undefined)).toEqual(['trades:coinbase:BTC-USD']);
  });

  it.skipIf(NO_FIXTURES)('connects to the feed URL itself and subscribes matches and heartbeat in one documented frame', () => {
    const { symbols } = contextFor('ETH-USD', 'ETH-EUR');
    expect(coinbaseTrades.connection.url('wss://ws-feed.exchange.coinbase.com', symbols)).toBe('wss://ws-feed.exchange.coinbase.com');
    const docs = JSON.parse(fixture('coinbase', 'docs_examples_protocol.json')) as Json;
    expect(coinbaseTrades.connection.defaultWsUrl).toBe(docs.ws_url);
    const requests = coinbaseTrades.subscribeMessages(symbols);
    expect(requests).toEqual([{ text: JSON.stringify(docs.subscribe_request_flat), acks: [{ key: 'matches', symbols: ['ETH-USD', 'ETH-EUR'] }] }]);
    expect(requests[0]!.text).toBe('{"type":"subscribe","product_ids":["ETH-USD","ETH-EUR"],"channels":["matches","heartbeat"]}');
  });
});

describe('TradeStreamCollector against the Coinbase simulator', () => {
  const simulator = useSimulator(startCoinbaseSimulator);

  const collectorFor = (symbols: string[], protocol = coinbaseTrades): TradeStreamCollector =>
    new TradeStreamCollector({ id: 'trades:coinbase', protocol, symbols, wsUrl: simulator.current().wsUrl });

  it('presumes the link dead when even heartbeats stop', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USD'], tradesPerSecond: 50, heartbeatIntervalMs: 60_000 });
    sim.pause();
    const collector = collectorFor(['BTC-USD'], { ...coinbaseTrades, connection: { ...coinbaseTrades.connection, keepalive: { silenceTimeoutMs: 300 } } });
    await expect(collector.run(new MemoryStorage(), new AbortController().signal)).rejects.toThrow(
      'trades:coinbase: no frame or ping for 300 ms; the connection is presumed dead',
    );
  });

  it('rejects naming coinbase, the product and the reason when a product is not listed', async () => {
    await simulator.start({ symbols: ['BTC-USD'], tradesPerSecond: 50 });
    await expect(collectorFor(['FOO-USD']).run(new MemoryStorage(), new AbortController().signal)).rejects.toThrow(
      'coinbase rejected the trades subscription for FOO-USD: Failed to subscribe: FOO-USD is not a valid product',
    );
  });

});
