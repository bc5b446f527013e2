import { describe, expect, it, vi } from 'vitest';
import { startCoinbaseSimulator } from '../collectors/exchanges/coinbase/simulator/index.js';
import { docsExample, fixture, fixtureLines, lazyFixture, NO_FIXTURES } from './support/fixtures.js';
import type { ProbeClient } from './support/probe-client.js';
import { useSimulator } from './support/simulator-harness.js';

type Json = Record<string, unknown>;
const recordedMatch = lazyFixture(() => JSON.parse(fixtureLines('coinbase', 'ws_matches_and_last_match.jsonl').find((l) => l.includes('"type":"match"'))!) as Json);
const recordedHeartbeat = lazyFixture(() => JSON.parse(docsExample('coinbase', 'heartbeat_message')) as Json);
const ISO_MICROS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SUBSCRIBE = '{"type":"subscribe","product_ids":["BTC-USD"],"channels":["matches","heartbeat"]}';

/** The next frame of one of `types`, skipping the others (trades and heartbeats interleave with replies). */
async function nextOfType(client: ProbeClient, ...types: string[]): Promise<Json> {
  return JSON.parse(await client.nextWhere((text) => types.includes((JSON.parse(text) as Json).type as string))) as Json;
}

describe('Coinbase simulator fidelity', () => {
  const simulator = useSimulator(startCoinbaseSimulator, { probePath: '/' });

  it.skipIf(NO_FIXTURES)('sends match frames shaped like the recordings: string decimals, maker side, microsecond times, sequential ids', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USD'], tradesPerSecond: 300 });
    const client = await simulator.probe();
    client.socket.send('{"type":"subscribe","product_ids":["BTC-USD"],"channels":["matches"]}');
    expect(await client.next()).toBe('{"type":"subscriptions","channels":[{"name":"matches","product_ids":["BTC-USD"]}]}');
    const frames: Json[] = [];
    while (frames.length < 20) {
      const frame = await nextOfType(client, 'match', 'last_match');
      if (frame.type === 'match') frames.push(frame);
    }
    for (const frame of frames) {
      // Same keys, same order, same JSON types as the recorded frames.
      expect(Object.keys(frame)).toEqual(Object.keys(recordedMatch()));
      for (const key of Object.keys(recordedMatch())) expect(typeof frame[key]).toBe(typeof recordedMatch()[key]);
      expect(frame.product_id).toBe('BTC-USD');
      expect(frame.price).toMatch(/^\d+(\.\d*[1-9])?$/);
      expect(frame.size).toMatch(/^\d+(\.\d*[1-9])?$/);
      expect(frame.time).toMatch(ISO_MICROS);
      expect(frame.maker_order_id).toMatch(UUID);
      expect(['buy', 'sell']).toContain(frame.side);
    }
    const ids = frames.map((f) => f.trade_id as number);
    expect(ids).toEqual(ids.map((_, i) => ids[0]! + i));
    // The maker's side is recorded: a `sell` maker is a buying taker, and sent() keeps Coinbase's spelling.
    expect(sim.sent('BTC-USD').trades.map((t) => t.side)).toEqual(expect.arrayContaining(['buy', 'sell']));
  });

  it.skipIf(NO_FIXTURES)('answers with the cumulative subscriptions set, then the latest trade as last_match, and heartbeats with last_trade_id', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USD', 'ETH-USD'], tradesPerSecond: 100, heartbeatIntervalMs: 50 });
    await vi.waitFor(() => expect(sim.generated('ETH-USD').count).toBeGreaterThan(0));
    const client = await simulator.probe();
    client.socket.send('{"type":"subscribe","product_ids":["BTC-USD"],"channels":["heartbeat"]}');
    expect(await client.next()).toBe('{"type":"subscriptions","channels":[{"name":"heartbeat","product_ids":["BTC-USD"]}]}');
    client.socket.send('{"type":"subscribe","channels":[{"name":"matches","product_ids":["ETH-USD","BTC-USD"]}]}');
    // The reply lists everything subscribed so far, not just this request (ws_subscriptions_acks.jsonl).
    expect(await nextOfType(client, 'subscriptions')).toEqual({
      type: 'subscriptions',
      channels: [{ name: 'heartbeat', product_ids: ['BTC-USD'] }, { name: 'matches', product_ids: ['ETH-USD', 'BTC-USD'] }],
    });
    const lastMatch = await nextOfType(client, 'last_match', 'match');
    expect(lastMatch.type).toBe('last_match');
    expect(Object.keys(lastMatch)).toEqual(Object.keys(recordedMatch()));
    expect(lastMatch.product_id).toBe('ETH-USD');
    // The product's trades that follow continue from it.
    let nextEth: Json;
    do nextEth = await nextOfType(client, 'match');
    while (nextEth.product_id !== 'ETH-USD');
    expect(nextEth.trade_id).toBe((lastMatch.trade_id as number) + 1);

    // A heartbeat names the product's latest trade: the last BTC-USD trade this client received.
    let lastBtcTrade: unknown;
    let heartbeat: Json;
    for (;;) {
      const frame = await nextOfType(client, 'match', 'last_match', 'heartbeat');
      // A heartbeat before this loop saw a BTC-USD trade names one read earlier: wait for the next.
      if (frame.type === 'heartbeat' && lastBtcTrade !== undefined) {
        heartbeat = frame;
        break;
      }
      if (frame.type !== 'heartbeat' && frame.product_id === 'BTC-USD') lastBtcTrade = frame.trade_id;
    }
    expect(Object.keys(heartbeat)).toEqual(Object.keys(recordedHeartbeat()));
    expect(heartbeat).toMatchObject({ type: 'heartbeat', product_id: 'BTC-USD', last_trade_id: lastBtcTrade, time: expect.stringMatching(ISO_MICROS) });

    client.socket.send('{"type":"unsubscribe","product_ids":["ETH-USD","BTC-USD"],"channels":["matches"]}');
    expect(await nextOfType(client, 'subscriptions')).toEqual({ type: 'subscriptions', channels: [{ name: 'heartbeat', product_ids: ['BTC-USD'] }] });
  });

  it.skipIf(NO_FIXTURES)('refuses unlisted products, authenticated channels and malformed requests with error frames', async () => {
    await simulator.start({ symbols: ['BTC-USD'], tradesPerSecond: 10 });
    const client = await simulator.probe();
    const [authError, productError] = fixtureLines('coinbase', 'ws_error_and_subscriptions_examples.jsonl');
    client.socket.send('{"type":"subscribe","product_ids":["BTC-USD"],"channels":["level2","matches"]}');
    expect(await client.next()).toBe(authError);
    client.socket.send('{"type":"subscribe","product_ids":["BTC-USD","ETH-USD"],"channels":["matches"]}');
    expect(await client.next()).toBe(productError);
    client.socket.send('{"type":"subscribe","product_ids":["BTC-USD"],"channels":["trades"]}');
    expect(await client.next()).toBe('{"type":"error","message":"Failed to subscribe","reason":"trades is not a valid channel"}');
    client.socket.send('{"action":"subscribe"}');
    expect(await client.next()).toBe('{"type":"error","message":"Failed to subscribe","reason":"Type has to be either subscribe or unsubscribe"}');
    // All or nothing: the refused requests subscribed nothing.
    client.socket.send(SUBSCRIBE);
    expect(await client.next()).toBe('{"type":"subscriptions","channels":[{"name":"matches","product_ids":["BTC-USD"]},{"name":"heartbeat","product_ids":["BTC-USD"]}]}');
  });

  it('disconnects a client that has not subscribed within the deadline, and only that one', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USD'], tradesPerSecond: 10, subscribeTimeoutMs: 200 });
    const subscriber = await simulator.probe();
    subscriber.socket.send(SUBSCRIBE);
    const idle = await simulator.probe();
    // A refused request does not count as subscribing.
    idle.socket.send('{"type":"subscribe","product_ids":["FOO-USD"],"channels":["matches"]}');
    expect((await idle.closed).code).toBe(1000);
    await vi.waitFor(() => expect(sim.connections()).toBe(1));
    expect(subscriber.socket.readyState).toBe(subscriber.socket.OPEN);
  });

  it('serves the feed at the root only', async () => {
    await simulator.start({ symbols: ['BTC-USD'], tradesPerSecond: 1 });
    await expect(simulator.probe('/ws')).rejects.toThrow(/404/);
  });

  it.skipIf(NO_FIXTURES)('serves products and time shaped like the recordings', async () => {
    await simulator.start({ symbols: ['BTC-USD', 'ETH-BTC'], tradesPerSecond: 1 });
    const get = (path: string): Promise<{ status: number; body: unknown }> => simulator.getJson<unknown>(path);
    const recordedProduct = JSON.parse(fixture('coinbase', 'rest_product_BTC-USD_2026-06-19.json')) as Json;
    const products = (await get('/products')).body as Json[];
    expect(products.map((p) => [p.id, p.base_currency, p.quote_currency])).toEqual([['BTC-USD', 'BTC', 'USD'], ['ETH-BTC', 'ETH', 'BTC']]);
    const one = (await get('/products/BTC-USD')).body as Json;
    expect(Object.keys(one)).toEqual(Object.keys(recordedProduct));
    for (const key of Object.keys(recordedProduct)) expect(typeof one[key]).toBe(typeof recordedProduct[key]);
    expect(await get('/products/FOO-USD')).toEqual({ status: 404, body: { message: 'NotFound' } });
    const recordedTime = JSON.parse(fixture('coinbase', 'rest_time_2026-06-19.json')) as Json;
    const time = (await get('/time')).body as Json;
    expect(Object.keys(time)).toEqual(Object.keys(recordedTime));
    expect(Date.parse(time.iso as string)).toBe(Math.round((time.epoch as number) * 1000));
  });

});
