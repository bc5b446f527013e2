import { describe, expect, it, vi } from 'vitest';
import { startBybitSimulator } from '../collectors/exchanges/bybit/simulator/index.js';
import { docsExample, fixture, fixtureLines, lazyFixture, NO_FIXTURES } from './support/fixtures.js';
import type { ProbeClient } from './support/probe-client.js';
import { useSimulator } from './support/simulator-harness.js';

type Json = Record<string, unknown>;
const recorded = lazyFixture(() => JSON.parse(fixtureLines('bybit', 'ws_spot_subscribe_ack_and_publicTrade_BTCUSDC_2025-10-27.jsonl')[1]!) as Json & { data: Json[] });

/** The next frame that is not a trade push (replies can interleave with trade frames). */
async function nextReply(client: ProbeClient): Promise<Json> {
  return JSON.parse(await client.nextWhere((text) => (JSON.parse(text) as Json).topic === undefined)) as Json;
}

describe('Bybit simulator fidelity', () => {
  const simulator = useSimulator(startBybitSimulator, { probePath: '/v5/public/spot' });
  const connId = expect.stringMatching(/^[0-9a-f-]{36}$/);

  it.skipIf(NO_FIXTURES)('pushes publicTrade frames in the recorded 2025 spot shape, one frame per taker order', async () => {
    await simulator.start({ symbols: ['BTC-USDC'], tradesPerSecond: 300 });
    const client = await simulator.probe();
    client.socket.send('{"req_id":"a1","op":"subscribe","args":["publicTrade.BTCUSDC"]}');
    const ack = JSON.parse(await client.next()) as Json;
    const docsAck = JSON.parse(docsExample('bybit', 'subscribe_ack_public_spot')) as Json;
    expect(Object.keys(ack)).toEqual(Object.keys(docsAck));
    expect(ack).toEqual({ success: true, ret_msg: 'subscribe', conn_id: connId, req_id: 'a1', op: 'subscribe' });
    const frames: Array<Json & { data: Json[] }> = [];
    for (let i = 0; i < 30; i++) frames.push(JSON.parse(await client.next()) as Json & { data: Json[] });
    for (const frame of frames) {
      expect(Object.keys(frame)).toEqual(Object.keys(recorded()));
      expect(frame).toMatchObject({ topic: 'publicTrade.BTCUSDC', type: 'snapshot' });
      for (const trade of frame.data) {
        // Same keys, same order, same JSON types as Bybit sent on 2025-10-27.
        expect(Object.keys(trade)).toEqual(Object.keys(recorded().data[0]!));
        for (const key of Object.keys(trade)) expect(typeof trade[key]).toBe(typeof recorded().data[0]![key]);
        expect(trade).toMatchObject({ s: 'BTCUSDC', BT: false, RPI: false });
        expect(trade.i).toMatch(/^\d{19}$/);
        expect(trade.p).toMatch(/^\d+(\.\d*[1-9])?$/); // "114513.1", no trailing zeros
        expect(trade.v).toMatch(/^\d+(\.\d*[1-9])?$/);
        expect(frame.ts as number).toBeGreaterThanOrEqual(trade.T as number);
      }
      // One taker order per frame: one side, one trade time, one cross sequence.
      expect(new Set(frame.data.map((t) => `${String(t.S)} ${String(t.T)} ${String(t.seq)}`)).size).toBe(1);
    }
    expect(frames.some((f) => f.data.length > 1)).toBe(true);
  });

  it.skipIf(NO_FIXTURES)('answers ping in the documented spot pong shape', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USDT'], tradesPerSecond: 0 });
    const client = await simulator.probe();
    client.socket.send('{"op":"ping"}');
    const pong = JSON.parse(await client.next()) as Json;
    const docsPong = JSON.parse(docsExample('bybit', 'pong_public_spot')) as Json;
    expect(Object.keys(pong)).toEqual(Object.keys(docsPong));
    expect(pong).toEqual({ ...docsPong, conn_id: connId });
    client.socket.send(docsExample('bybit', 'ping_request'));
    expect(JSON.parse(await client.next())).toMatchObject({ success: true, ret_msg: 'pong', req_id: '100001', op: 'ping' });
    expect(sim.pings()).toBe(2);
  });

  it('refuses bad requests whole, with success:false and ret_msg', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USDT'], tradesPerSecond: 100 });
    const client = await simulator.probe();
    const eleven = Array.from({ length: 11 }, () => 'publicTrade.BTCUSDT');
    client.socket.send(JSON.stringify({ req_id: 'big', op: 'subscribe', args: eleven }));
    expect(await nextReply(client)).toEqual({ success: false, ret_msg: 'args size >10', conn_id: connId, req_id: 'big', op: 'subscribe' });
    client.socket.send('{"req_id":"mix","op":"subscribe","args":["publicTrade.BTCUSDT","publicTrade.FOOUSDT"]}');
    expect(await nextReply(client)).toMatchObject({ success: false, ret_msg: 'Invalid symbol :[publicTrade.FOOUSDT]', req_id: 'mix' });
    client.socket.send('{"op":"subscribe","args":["trades.BTCUSDT"]}');
    expect(await nextReply(client)).toEqual({ success: false, ret_msg: 'error:handler not found,topic:trades.BTCUSDT', conn_id: connId, op: 'subscribe' });
    client.socket.send('{"op":"subscribe",');
    expect(await nextReply(client)).toMatchObject({ success: false, op: '' });
    // Nothing of the refused requests was subscribed: the next frame is the ping's answer.
    await vi.waitFor(() => expect(sim.generated('BTC-USDT').count).toBeGreaterThan(20));
    client.socket.send('{"op":"ping"}');
    expect(JSON.parse(await client.next())).toMatchObject({ ret_msg: 'pong' });
  });

  it('acknowledges an unlisted symbol when told not to reject it, and refuses other paths', async () => {
    await simulator.start({ symbols: ['BTC-USDT'], tradesPerSecond: 0, rejectUnknownSymbols: false });
    const client = await simulator.probe();
    client.socket.send('{"req_id":"1","op":"subscribe","args":["publicTrade.FOOUSDT"]}');
    expect(await nextReply(client)).toMatchObject({ success: true, req_id: '1' });
    await expect(simulator.probe('/v5/public/linear')).rejects.toThrow(/404/);
  });

  it.skipIf(NO_FIXTURES)('serves time and spot instruments shaped like the docs and the recordings', async () => {
    await simulator.start({ symbols: ['BTC-USDT', 'ETH-BTC'], tradesPerSecond: 1 });
    const get = async (path: string): Promise<Json> => (await simulator.getJson(path)).body;
    const docsTime = JSON.parse(docsExample('bybit', 'rest_time_response')) as Json & { result: Json };
    const time = (await get('/v5/market/time')) as Json & { result: Json };
    expect(Object.keys(time)).toEqual(Object.keys(docsTime));
    expect(Object.keys(time.result)).toEqual(Object.keys(docsTime.result));
    expect(time.result.timeNano).toMatch(/^\d{19}$/);
    const recordedKline = JSON.parse(fixture('bybit', 'rest_kline_spot_BTCUSDT_D_2025-04-29.json')) as Json;
    const instruments = (await get('/v5/market/instruments-info?category=spot')) as Json & { result: { category: string; list: Json[] } };
    expect(Object.keys(instruments)).toEqual(Object.keys(recordedKline));
    expect(instruments.result.category).toBe('spot');
    expect(instruments.result.list.map((i) => [i.symbol, i.baseCoin, i.quoteCoin, i.status])).toEqual([['BTCUSDT', 'BTC', 'USDT', 'Trading'], ['ETHBTC', 'ETH', 'BTC', 'Trading']]);
    const one = (await get('/v5/market/instruments-info?category=spot&symbol=ETHBTC')) as { result: { list: Json[] } };
    expect(one.result.list.map((i) => i.symbol)).toEqual(['ETHBTC']);
    expect(await get('/v5/market/instruments-info')).toMatchObject({ retCode: 10001 });
  });
});
