import { afterEach, describe, expect, it, vi } from 'vitest';
import { startCoinbaseSimulator, type CoinbaseMatchPayload, type CoinbaseSimulator } from '../collectors/exchanges/coinbase/simulator.js';
import { coinbaseTimeMs, coinbaseTrades, parseCoinbaseMatch } from '../collectors/exchanges/coinbase/trades.js';
import { tradesCollectorKind } from '../collectors/trades/kind.js';
import { SymbolTable, type FrameContext } from '../collectors/trades/protocol.js';
import { SubscriptionAcks } from '../collectors/trades/subscription-acks.js';
import type { Trade } from '../collectors/trades/trade.js';
import { TradeStreamCollector } from '../collectors/trades/trade-stream.js';
import { silentLogger } from '../src/logger.js';
import { MemoryStorage } from '../storage/memory.js';
import { coinbaseFixture, coinbaseFixtureLines } from './support/coinbase-fixtures.js';

type Json = Record<string, unknown>;
const RECEIVED_AT = 1_800_000_000_000;
const LOTS = 100_000; // the simulator's lot size is 0.00001
const MATCHES = coinbaseFixtureLines('ws_matches_and_last_match.jsonl');
const SESSION = coinbaseFixtureLines('ws_full_session_2021-04-17.jsonl');
// The ten products of the recorded session (ws_client_sent_subscribe.jsonl).
const SESSION_PRODUCTS = (JSON.parse(coinbaseFixtureLines('ws_client_sent_subscribe.jsonl')[0]!) as { product_ids: string[] }).product_ids;

function contextFor(...symbols: string[]): FrameContext {
  return { symbols: new SymbolTable(symbols, coinbaseTrades.toExchangeSymbol), receivedAt: RECEIVED_AT };
}

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
  it('parses every recorded match and last_match with the taker side opposite the maker side', () => {
    expect(MATCHES.length).toBe(107);
    const context = contextFor(...SESSION_PRODUCTS);
    for (const line of MATCHES) {
      const frame = JSON.parse(line) as Json;
      expect(parseCoinbaseMatch(frame, context)).toEqual(expectedTrade(frame));
    }
    // Spelled out once: a `sell` maker means the taker bought.
    expect(parseCoinbaseMatch(JSON.parse(MATCHES[0]!) as Json, context)).toEqual({
      exchange: 'coinbase', symbol: 'BAND-GBP', id: 881613, price: 14.7775, amount: 0.04, side: 1,
      exchangeTime: Date.UTC(2021, 3, 17, 16, 43, 30, 244), receivedAt: RECEIVED_AT,
    });
  });

  it('agrees with the ticker channel, whose side is the taker side, on every trade both recorded', () => {
    const context = contextFor(...SESSION_PRODUCTS);
    const tickerSide = new Map<number, string>();
    for (const line of SESSION) {
      const frame = JSON.parse(line) as Json;
      if (frame.type === 'ticker') tickerSide.set(frame.trade_id as number, frame.side as string);
    }
    let compared = 0;
    for (const line of MATCHES) {
      const trade = parseCoinbaseMatch(JSON.parse(line) as Json, context);
      const side = tickerSide.get(trade.id as number);
      if (side === undefined) continue;
      expect(trade.side).toBe(side === 'buy' ? 1 : -1);
      compared += 1;
    }
    expect(compared).toBe(107);
  });

  it('reads every frame of the recorded session: match → trade, last_match → heartbeat, the rest → nothing', () => {
    const context = contextFor(...SESSION_PRODUCTS);
    const trades: Trade[] = [];
    const kinds = new Map<string, number>();
    for (const line of SESSION) {
      const type = (JSON.parse(line) as Json).type as string;
      const frame = coinbaseTrades.onMessage(line, context);
      kinds.set(type, (kinds.get(type) ?? 0) + 1);
      if (type === 'match') trades.push(...frame.trades!);
      else if (type === 'last_match') expect(frame).toEqual({ heartbeat: true });
      else if (type === 'subscriptions') expect(frame.trades).toBeUndefined();
      else expect(frame).toEqual({});
    }
    expect(Object.fromEntries(kinds)).toEqual({ subscriptions: 3, snapshot: 10, ticker: 107, last_match: 10, l2update: 9719, match: 97 });
    const recordedMatches = MATCHES.map((line) => JSON.parse(line) as Json).filter((f) => f.type === 'match');
    expect(trades).toEqual(recordedMatches.map(expectedTrade));
  });

  it('ignores the level2 and ticker recordings', () => {
    const files = ['ws_level2_snapshot_and_l2update_NU-GBP.jsonl', 'ws_level2_snapshot_and_l2update_SKL-USD_first400.jsonl', 'ws_ticker.jsonl'];
    for (const line of files.flatMap(coinbaseFixtureLines)) expect(coinbaseTrades.onMessage(line, contextFor('NU-GBP', 'SKL-USD'))).toEqual({});
  });

  it('takes the documented heartbeat for a heartbeat', () => {
    const docs = JSON.parse(coinbaseFixture('docs_examples_protocol.json')) as Json;
    expect(coinbaseTrades.onMessage(JSON.stringify(docs.heartbeat_message), contextFor('BTC-USD'))).toEqual({ heartbeat: true });
  });

  it('acknowledges only a cumulative subscriptions reply that lists every product under matches', () => {
    const [levelOnly, levelAndTicker, all] = coinbaseFixtureLines('ws_subscriptions_acks.jsonl');
    const context = contextFor(...SESSION_PRODUCTS);
    // The session subscribed level2, ticker, then matches: only the third reply lists matches.
    expect(coinbaseTrades.onMessage(levelOnly!, context)).toEqual({});
    expect(coinbaseTrades.onMessage(levelAndTicker!, context)).toEqual({});
    expect(coinbaseTrades.onMessage(all!, context)).toEqual({ ack: 'matches' });
    // A product the reply does not list keeps the ack waiting.
    expect(coinbaseTrades.onMessage(all!, contextFor('SKL-USD', 'BTC-USD'))).toEqual({});
    const [, , otherConnection] = coinbaseFixtureLines('ws_error_and_subscriptions_examples.jsonl');
    expect(coinbaseTrades.onMessage(otherConnection!, contextFor('BTC-USD'))).toEqual({});
  });

  it('turns recorded error frames into rejections naming coinbase, the product and the reason', () => {
    const [authError, productError] = coinbaseFixtureLines('ws_error_and_subscriptions_examples.jsonl');
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

  it('refuses frames it cannot trust', () => {
    const context = contextFor(...SESSION_PRODUCTS);
    const match = SESSION.find((line) => line.includes('"type":"match"'))!;
    expect(() => coinbaseTrades.onMessage(match.slice(0, 60), context)).toThrow();
    expect(() => coinbaseTrades.onMessage(match.replace('"price":"0.00001305"', '"price":0.00001305'), context)).toThrow(/price/);
    expect(() => coinbaseTrades.onMessage(match.replace('"side":"sell"', '"side":"ask"'), context)).toThrow(/side/);
    expect(() => coinbaseTrades.onMessage(match, contextFor('BTC-USD'))).toThrow(/SKL-BTC, which this connection did not subscribe/);
    expect(() => coinbaseTrades.onMessage('[1,2]', context)).toThrow(/not a JSON object/);
    expect(() => coinbaseTrades.onMessage('{"product_id":"BTC-USD"}', context)).toThrow(/no type/);
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
    expect(coinbaseTrades.toExchangeSymbol('BTC-USD')).toBe('BTC-USD');
    expect(() => coinbaseTrades.toExchangeSymbol('btc-usd')).toThrow(/coinbase: bad symbol "btc-usd"/);
    expect(() => coinbaseTrades.toExchangeSymbol('BTCUSD')).toThrow(/BASE-QUOTE/);
    expect(tradesCollectorKind.keysFor('coinbase', 'BTC-USD', undefined)).toEqual(['trades:coinbase:BTC-USD']);
  });

  it('connects to the feed URL itself and subscribes matches and heartbeat in one documented frame', () => {
    const { symbols } = contextFor('ETH-USD', 'ETH-EUR');
    expect(coinbaseTrades.url('wss://ws-feed.exchange.coinbase.com', symbols)).toBe('wss://ws-feed.exchange.coinbase.com');
    const docs = JSON.parse(coinbaseFixture('docs_examples_protocol.json')) as Json;
    expect(coinbaseTrades.defaultWsUrl).toBe(docs.ws_url);
    const requests = coinbaseTrades.subscribeMessages(symbols);
    expect(requests).toEqual([{ text: JSON.stringify(docs.subscribe_request_flat), acks: [{ key: 'matches', symbols: ['ETH-USD', 'ETH-EUR'] }] }]);
    expect(requests[0]!.text).toBe('{"type":"subscribe","product_ids":["ETH-USD","ETH-EUR"],"channels":["matches","heartbeat"]}');
  });
});

type Sample = { price: number; count: number; lots: number; buyLots: number };

/** Per-millisecond samples as the collector should have stored them, with amounts in whole lots. */
function expectedSamples(trades: readonly CoinbaseMatchPayload[]): Map<number, Sample> {
  const byTime = new Map<number, Sample>();
  for (const trade of trades) {
    const { exchangeTime, price, side } = expectedTrade(trade);
    const lots = Math.round(Number(trade.size) * LOTS);
    const sample = byTime.get(exchangeTime) ?? { price: 0, count: 0, lots: 0, buyLots: 0 };
    byTime.set(exchangeTime, { price, count: sample.count + 1, lots: sample.lots + lots, buyLots: sample.buyLots + (side === 1 ? lots : 0) });
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

describe('TradeStreamCollector against the Coinbase simulator', () => {
  let sim: CoinbaseSimulator | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  const collectorFor = (symbols: string[], protocol = coinbaseTrades): TradeStreamCollector =>
    new TradeStreamCollector({ id: 'trades:coinbase', protocol, symbols, wsUrl: sim!.wsUrl });

  it('stores exactly the matches sent after subscribing: per-millisecond price, count, amount and taker-buy amount', async () => {
    sim = await startCoinbaseSimulator({ symbols: ['BTC-USD', 'ETH-USD'], tradesPerSecond: 400, heartbeatIntervalMs: 200 });
    // Trades exist before the collector subscribes, so it gets (and must not store) a last_match for each product.
    await vi.waitFor(() => expect(sim!.generated('ETH-USD').count).toBeGreaterThan(0));
    const storage = new MemoryStorage();
    // Built through the kind, so the configured wsUrl override is what reaches the simulator.
    const [collector] = tradesCollectorKind.create(
      ['BTC-USD', 'ETH-USD'].map((symbol) => ({ id: `trades:coinbase:${symbol}`, collector: 'trades', exchange: 'coinbase', symbol, keys: [] })),
      { exchanges: { coinbase: { wsUrl: sim.wsUrl } }, logger: silentLogger },
    );
    const abort = new AbortController();
    const running = track(collector!.run(storage, abort.signal));

    await vi.waitFor(() => expect(sim!.sent('ETH-USD').count).toBeGreaterThan(600), { timeout: 10_000 });
    await vi.waitFor(() => expect(sim!.heartbeats()).toBeGreaterThan(0), { timeout: 10_000 });
    sim.pause();
    for (const symbol of ['BTC-USD', 'ETH-USD']) {
      await vi.waitFor(async () => expect(await storedCount(storage, `trades:coinbase:${symbol}`)).toBe(sim!.sent(symbol).count), { timeout: 10_000 });
    }
    abort.abort();
    await running.run;

    for (const symbol of ['BTC-USD', 'ETH-USD']) {
      const { trades, count, amount } = sim.sent(symbol);
      const stored = await storedSamples(storage, `trades:coinbase:${symbol}`);
      expect(stored).toEqual(expectedSamples(trades));
      expect([...stored.values()].reduce((sum, s) => sum + s.lots, 0)).toBe(Math.round(amount * LOTS));
      expect([...stored.values()].reduce((sum, s) => sum + s.count, 0)).toBe(count);
      // Both sides occurred, so the maker→taker inversion was exercised.
      expect(new Set(trades.map((t) => t.side)).size).toBe(2);
    }
    expect(collector!.progress.lastHeartbeatAt).toBeDefined();
    expect((collector as TradeStreamCollector).unparsedFrames).toBe(0);
  });

  it('stays up on heartbeats alone while no trade happens', async () => {
    sim = await startCoinbaseSimulator({ symbols: ['BTC-USD'], tradesPerSecond: 50, heartbeatIntervalMs: 100 });
    sim.pause();
    const collector = collectorFor(['BTC-USD'], { ...coinbaseTrades, keepalive: { silenceTimeoutMs: 1_000 } });
    const abort = new AbortController();
    const running = track(collector.run(new MemoryStorage(), abort.signal));
    // Well past the silence timeout, with nothing but heartbeats on the link.
    await vi.waitFor(() => expect(sim!.heartbeats()).toBeGreaterThan(30), { timeout: 10_000 });
    expect(running.settled()).toBe(false);
    expect(collector.progress.lastHeartbeatAt).toBeDefined();
    abort.abort();
    await running.run;
  });

  it('presumes the link dead when even heartbeats stop', async () => {
    sim = await startCoinbaseSimulator({ symbols: ['BTC-USD'], tradesPerSecond: 50, heartbeatIntervalMs: 60_000 });
    sim.pause();
    const collector = collectorFor(['BTC-USD'], { ...coinbaseTrades, keepalive: { silenceTimeoutMs: 300 } });
    await expect(collector.run(new MemoryStorage(), new AbortController().signal)).rejects.toThrow(
      'trades:coinbase: no frame or ping for 300 ms; the connection is presumed dead',
    );
  });

  it('skips a malformed frame and keeps collecting', async () => {
    sim = await startCoinbaseSimulator({ symbols: ['BTC-USD'], tradesPerSecond: 200 });
    const storage = new MemoryStorage();
    const collector = collectorFor(['BTC-USD']);
    const abort = new AbortController();
    const running = track(collector.run(storage, abort.signal));
    await vi.waitFor(async () => expect(await storedCount(storage, 'trades:coinbase:BTC-USD')).toBeGreaterThan(0), { timeout: 10_000 });
    sim.sendMalformed();
    const before = sim.sent('BTC-USD').count;
    await vi.waitFor(async () => expect(await storedCount(storage, 'trades:coinbase:BTC-USD')).toBeGreaterThan(before), { timeout: 10_000 });
    expect(collector.unparsedFrames).toBe(1);
    expect(running.settled()).toBe(false);
    abort.abort();
    await running.run;
  });

  it('rejects with a clear error when the connection drops', async () => {
    sim = await startCoinbaseSimulator({ symbols: ['BTC-USD'], tradesPerSecond: 200 });
    const storage = new MemoryStorage();
    const running = collectorFor(['BTC-USD']).run(storage, new AbortController().signal);
    await vi.waitFor(async () => expect(await storedCount(storage, 'trades:coinbase:BTC-USD')).toBeGreaterThan(0), { timeout: 10_000 });
    sim.dropConnections();
    await expect(running).rejects.toThrow(/^trades:coinbase: connection closed by the server \(code 1006\)$/);
  });

  it('rejects naming coinbase, the product and the reason when a product is not listed', async () => {
    sim = await startCoinbaseSimulator({ symbols: ['BTC-USD'], tradesPerSecond: 50 });
    await expect(collectorFor(['FOO-USD']).run(new MemoryStorage(), new AbortController().signal)).rejects.toThrow(
      'coinbase rejected the trades subscription for FOO-USD: Failed to subscribe: FOO-USD is not a valid product',
    );
  });

  it('resolves when aborted, and closes its connection', async () => {
    sim = await startCoinbaseSimulator({ symbols: ['BTC-USD'], tradesPerSecond: 100 });
    const collector = collectorFor(['BTC-USD']);
    const abort = new AbortController();
    const running = collector.run(new MemoryStorage(), abort.signal);
    await vi.waitFor(() => expect(sim!.connections()).toBe(1), { timeout: 10_000 });
    abort.abort();
    await expect(running).resolves.toBeUndefined();
    await vi.waitFor(() => expect(sim!.connections()).toBe(0), { timeout: 10_000 });
  });
});
