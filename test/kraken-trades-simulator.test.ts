import { describe, expect, it, vi } from 'vitest';
import { startKrakenSimulator } from '../collectors/exchanges/kraken/simulator/index.js';
import { fixture, fixtureLines, lazyFixture, NO_FIXTURES } from './support/fixtures.js';
import type { ProbeClient } from './support/probe-client.js';
import { useSimulator } from './support/simulator-harness.js';

type Json = Record<string, unknown>;
const recorded = lazyFixture(() => {
  const session = fixtureLines('kraken', 'ws_v2_trade_session_status_ack_heartbeat_trade_2024-07-27.jsonl');
  const [status, ack, heartbeat, , , trade] = session.map((line) => JSON.parse(line) as Json) as [Json, Json, Json, Json, Json, Json];
  return { status, ack, heartbeat, trade };
});
const ISO_MICROS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const SUBSCRIBE = '{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/USD"],"snapshot":false},"req_id":1}';

/** The next frame that `keep` accepts (trades and heartbeats interleave with replies). */
async function nextFrameWhere(client: ProbeClient, keep: (frame: Json) => boolean): Promise<{ text: string; frame: Json }> {
  const text = await client.nextWhere((candidate) => keep(JSON.parse(candidate) as Json));
  return { text, frame: JSON.parse(text) as Json };
}

const isReply = (frame: Json): boolean => typeof frame.method === 'string';
const isTrade = (frame: Json): boolean => frame.channel === 'trade';

describe('Kraken simulator fidelity', () => {
  const simulator = useSimulator(startKrakenSimulator, { probePath: '/v2' });

  it.skipIf(NO_FIXTURES)('greets with the status frame, its connection_id a raw integer above 2^53', async () => {
    await simulator.start({ symbols: ['BTC-USD'], tradesPerSecond: 10 });
    const client = await simulator.probe();
    const text = await client.next();
    const status = JSON.parse(text) as { data: Json[] };
    expect(Object.keys(status)).toEqual(Object.keys(recorded().status));
    expect(Object.keys(status.data[0]!)).toEqual(Object.keys((recorded().status.data as Json[])[0]!));
    expect(status).toMatchObject({ channel: 'status', type: 'update', data: [{ api_version: 'v2', system: 'online' }] });
    const id = /"connection_id":(\d+),/.exec(text)![1]!;
    expect(BigInt(id)).toBeGreaterThan(2n ** 53n);
  });

  it.skipIf(NO_FIXTURES)('acknowledges each symbol, then sends trade updates shaped like the recording with JSON-number decimals', async () => {
    await simulator.start({ symbols: ['BTC-USD', 'ETH-USD'], tradesPerSecond: 300 });
    const client = await simulator.probe();
    await client.next(); // status
    client.socket.send('{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/USD","ETH/USD"],"snapshot":false}}');
    const acks = [(await nextFrameWhere(client, isReply)).frame, (await nextFrameWhere(client, isReply)).frame];
    for (const ack of acks) {
      // Without a req_id the ack has exactly the recorded keys.
      expect(Object.keys(ack)).toEqual(Object.keys(recorded().ack));
      expect(ack.time_in).toMatch(ISO_MICROS);
    }
    expect(acks.map((a) => a.result)).toEqual([
      { channel: 'trade', snapshot: false, symbol: 'BTC/USD' },
      { channel: 'trade', snapshot: false, symbol: 'ETH/USD' },
    ]);
    const recordedEntry = (recorded().trade.data as Json[])[0]!;
    const ids = new Map<string, number[]>();
    while ((ids.get('BTC/USD')?.length ?? 0) < 20) {
      const { text, frame } = await nextFrameWhere(client, isTrade);
      expect(Object.keys(frame)).toEqual(Object.keys(recorded().trade));
      expect(frame.type).toBe('update');
      for (const entry of frame.data as Json[]) {
        expect(Object.keys(entry)).toEqual(Object.keys(recordedEntry));
        for (const key of Object.keys(recordedEntry)) expect(typeof entry[key]).toBe(typeof recordedEntry[key]);
        expect(entry.timestamp).toMatch(ISO_MICROS);
        ids.set(entry.symbol as string, [...(ids.get(entry.symbol as string) ?? []), entry.trade_id as number]);
      }
      // Kraken's fixed precision: price to the pair's 2 decimals, qty to 8, trailing zeros kept.
      for (const [, price, qty] of text.matchAll(/"price":([^,]+),"qty":([^,]+),/g)) {
        expect(price).toMatch(/^\d+\.\d{2}$/);
        expect(qty).toMatch(/^\d+\.\d{8}$/);
      }
    }
    const btc = ids.get('BTC/USD')!;
    expect(btc).toEqual(btc.map((_, i) => btc[0]! + i));
  });

  it('refuses unlisted and repeated symbols one by one, keeping the others', async () => {
    await simulator.start({ symbols: ['BTC-USD'], tradesPerSecond: 10 });
    const client = await simulator.probe();
    await client.next(); // status
    client.socket.send('{"method":"subscribe","params":{"channel":"trade","symbol":["XBT/USD","BTC/USD"],"snapshot":false},"req_id":7}');
    const refusal = (await nextFrameWhere(client, isReply)).frame;
    expect(refusal).toMatchObject({ error: 'Currency pair not supported XBT/USD', method: 'subscribe', req_id: 7, success: false, symbol: 'XBT/USD' });
    // Kraken's (alphabetical) key order, as in the captured "Already subscribed" refusal.
    expect(Object.keys(refusal)).toEqual(['error', 'method', 'req_id', 'success', 'symbol', 'time_in', 'time_out']);
    expect((await nextFrameWhere(client, isReply)).frame).toMatchObject({ method: 'subscribe', req_id: 7, result: { channel: 'trade', symbol: 'BTC/USD' }, success: true });
    client.socket.send(SUBSCRIBE);
    expect((await nextFrameWhere(client, isReply)).frame).toMatchObject({ error: 'Already subscribed', req_id: 1, success: false, symbol: 'BTC/USD' });
  });

  it.skipIf(NO_FIXTURES)('answers ping with pong, and sends heartbeats once subscribed', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USD'], tradesPerSecond: 10, heartbeatIntervalMs: 50 });
    const client = await simulator.probe();
    await client.next(); // status
    client.socket.send('{"method":"ping","req_id":101}');
    const pong = (await nextFrameWhere(client, isReply)).frame;
    expect(pong).toMatchObject({ method: 'pong', req_id: 101, time_in: expect.stringMatching(ISO_MICROS) });
    expect(sim.pings()).toBe(1);
    expect(sim.heartbeats()).toBe(0);
    client.socket.send(SUBSCRIBE);
    expect((await nextFrameWhere(client, (f) => f.channel === 'heartbeat')).text).toBe(JSON.stringify(recorded().heartbeat));
  });

  it('sends a snapshot of recent trades when asked (Kraken’s default), not counted as sent', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USD'], tradesPerSecond: 200 });
    await vi.waitFor(() => expect(sim.generated('BTC-USD').count).toBeGreaterThan(60));
    const client = await simulator.probe();
    await client.next(); // status
    client.socket.send('{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/USD"]}}');
    expect((await nextFrameWhere(client, isReply)).frame.result).toEqual({ channel: 'trade', snapshot: true, symbol: 'BTC/USD' });
    const snapshot = (await nextFrameWhere(client, isTrade)).frame;
    expect(snapshot.type).toBe('snapshot');
    expect((snapshot.data as Json[]).length).toBe(50);
    const update = (await nextFrameWhere(client, isTrade)).frame;
    expect(update.type).toBe('update');
    expect((update.data as Json[])[0]!.trade_id).toBe(((snapshot.data as Json[]).at(-1)!.trade_id as number) + 1);
    expect(sim.sent('BTC-USD').trades[0]!.trade_id).toBe((update.data as Json[])[0]!.trade_id);
  });

  it('serves v2 at /v2 only', async () => {
    await simulator.start({ symbols: ['BTC-USD'], tradesPerSecond: 1 });
    await expect(simulator.probe('/')).rejects.toThrow(/404/);
  });

  it.skipIf(NO_FIXTURES)('serves Time, SystemStatus and AssetPairs shaped like the recordings', async () => {
    await simulator.start({ symbols: ['BTC-USDT', 'BTC-USD', 'SOL-EUR'], tradesPerSecond: 1 });
    const get = simulator.getJson;
    const keysOf = (body: Json): unknown => ({ top: Object.keys(body), result: Object.keys(body.result as Json) });
    const recordedTime = JSON.parse(fixture('kraken', 'rest_Time.json')) as Json;
    const time = (await get('/0/public/Time')).body;
    expect(keysOf(time)).toEqual(keysOf(recordedTime));
    expect((time.result as Json).rfc1123).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{2} \d{2}:\d{2}:\d{2} \+0000$/);
    const status = (await get('/0/public/SystemStatus')).body;
    expect(keysOf(status)).toEqual(keysOf(JSON.parse(fixture('kraken', 'rest_SystemStatus.json')) as Json));
    expect((status.result as Json).timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);

    const recorded = ((JSON.parse(fixture('kraken', 'rest_AssetPairs_XBTUSDT.json')) as Json).result as Record<string, Json>).XBTUSDT!;
    const pairs = (await get('/0/public/AssetPairs')).body.result as Record<string, Json>;
    expect(Object.keys(pairs)).toEqual(['XBTUSDT', 'XXBTZUSD', 'SOLEUR']);
    expect(Object.keys(pairs.XBTUSDT!)).toEqual(Object.keys(recorded));
    for (const key of ['altname', 'wsname', 'aclass_base', 'base', 'aclass_quote', 'quote', 'lot', 'lot_decimals', 'status']) {
      expect(pairs.XBTUSDT![key]).toEqual(recorded[key]);
    }
    expect(pairs.XXBTZUSD).toMatchObject({ altname: 'XBTUSD', wsname: 'XBT/USD', base: 'XXBT', quote: 'ZUSD' });
    expect(Object.keys((await get('/0/public/AssetPairs?pair=XBTUSD')).body.result as Json)).toEqual(['XXBTZUSD']);
    expect(await get('/0/public/AssetPairs?pair=FOOUSD')).toEqual({ status: 200, body: { error: ['EQuery:Unknown asset pair'] } });
  });

});
