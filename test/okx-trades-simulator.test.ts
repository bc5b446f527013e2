import { describe, expect, it, vi } from 'vitest';
import { startOkxSimulator } from '../collectors/exchanges/okx/simulator/index.js';
import { answerRequest } from '../collectors/exchanges/okx/simulator/requests.js';
import { docsExample, fixture, fixtureLines, lazyFixture, NO_FIXTURES } from './support/fixtures.js';
import type { ProbeClient } from './support/probe-client.js';
import { useSimulator } from './support/simulator-harness.js';

type Json = Record<string, unknown>;
const recorded = lazyFixture(() => JSON.parse(fixtureLines('okx', 'ws_trades_BTC-USDT_2025-02.jsonl')[0]!) as { arg: Json; data: Json[] });

/** The next frame that is not a trade push (replies can interleave with trade frames). */
const nextReply = (client: ProbeClient): Promise<string> => client.nextWhere((text) => !text.startsWith('{"arg"'));

describe('OKX simulator fidelity', () => {
  const simulator = useSimulator(startOkxSimulator, { probePath: '/ws/v5/public' });

  it.skipIf(NO_FIXTURES)('pushes trades in the recorded 2025 shape, one message per taker order and price, with count and the last tradeId', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USDT'], tradesPerSecond: 300 });
    const client = await simulator.probe();
    client.socket.send('{"op":"subscribe","args":[{"channel":"trades","instId":"BTC-USDT"}]}');
    expect(JSON.parse(await client.next())).toEqual({ event: 'subscribe', arg: { channel: 'trades', instId: 'BTC-USDT' }, connId: expect.stringMatching(/^[0-9a-f]{8}$/) });
    const frames: Array<{ arg: Json; data: Json[] }> = [];
    for (let i = 0; i < 40; i++) frames.push(JSON.parse(await client.next()) as { arg: Json; data: Json[] });
    for (const frame of frames) {
      expect(Object.keys(frame)).toEqual(Object.keys(recorded()));
      expect(frame.arg).toEqual(recorded().arg);
      expect(frame.data.length).toBe(1);
      const [trade] = frame.data;
      // Same keys, same order, every value a string, as OKX sent on 2025-02-24.
      expect(Object.keys(trade!)).toEqual(Object.keys(recorded().data[0]!));
      for (const value of Object.values(trade!)) expect(typeof value).toBe('string');
      expect(trade!.px).toMatch(/^\d+(\.\d*[1-9])?$/); // no trailing zeros: "30236", "30243.5"
      expect(trade!.sz).toMatch(/^\d+(\.\d*[1-9])?$/);
      expect(['buy', 'sell']).toContain(trade!.side);
    }
    // tradeId is the last match of the message: the next message starts right after it.
    const data = frames.map((f) => f.data[0]!);
    data.slice(1).forEach((trade, i) => expect(Number(trade.tradeId) - Number(data[i]!.tradeId)).toBe(Number(trade.count)));
    expect(data.some((trade) => trade.count !== '1')).toBe(true);
    expect(sim.generated('BTC-USDT').count).toBeGreaterThanOrEqual(sim.sent('BTC-USDT').count);
  });

  it.skipIf(NO_FIXTURES)('acks each arg on its own, echoing the request id, and answers ping with pong', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USDT', 'ETH-USDT'], tradesPerSecond: 0 });
    const client = await simulator.probe();
    client.socket.send(docsExample('okx', 'subscribe_request').replace('"args":[', '"args":[{"channel":"tickers","instId":"ETH-USDT"},'));
    const docsAck = JSON.parse(docsExample('okx', 'subscribe_ack')) as Json;
    const tickers = JSON.parse(await client.next()) as Json;
    expect(Object.keys(tickers)).toEqual(Object.keys(docsAck));
    expect(tickers).toMatchObject({ id: '1512', event: 'subscribe', arg: { channel: 'tickers', instId: 'ETH-USDT' } });
    expect(JSON.parse(await client.next())).toMatchObject({ id: '1512', event: 'subscribe', arg: docsAck.arg as Json });
    client.socket.send('ping');
    expect(await client.next()).toBe('pong');
    expect(sim.pings()).toBe(1);
    client.socket.send('{"op":"unsubscribe","args":[{"channel":"tickers","instId":"ETH-USDT"}]}');
    expect(JSON.parse(await client.next())).toMatchObject({ event: 'unsubscribe', arg: { channel: 'tickers', instId: 'ETH-USDT' } });
  });

  it.skipIf(NO_FIXTURES)('answers bad requests with OKX error events', async () => {
    await simulator.start({ symbols: ['BTC-USDT'], tradesPerSecond: 0 });
    const client = await simulator.probe();
    const connId = expect.stringMatching(/^[0-9a-f]{8}$/);
    // The request the documented 60012 example quotes.
    const docsError = JSON.parse(docsExample('okx', 'subscribe_error')) as Json & { msg: string };
    client.socket.send(docsError.msg.slice('Invalid request: '.length));
    const error = JSON.parse(await nextReply(client)) as Json;
    expect(error).toEqual({ event: 'error', code: '60012', msg: docsError.msg, connId });
    client.socket.send('{"id":"7","op":"subscribe","args":[]}');
    const empty = JSON.parse(await nextReply(client)) as Json;
    expect(Object.keys(empty)).toEqual(Object.keys(docsError));
    expect(empty).toEqual({ id: '7', event: 'error', code: '60013', msg: 'Invalid args', connId });
    client.socket.send('{"op":"subscribe",');
    expect(JSON.parse(await nextReply(client))).toEqual({ event: 'error', code: '60012', msg: 'Invalid request: {"op":"subscribe",', connId });
    client.socket.send('{"op":"subscrib","args":[]}');
    expect(JSON.parse(await nextReply(client))).toEqual({ event: 'error', code: '60019', msg: 'Invalid op: subscrib', connId });
    client.socket.send('{"op":"subscribe","args":[{"channel":"trade","instId":"BTC-USDT"},{"channel":"trades","instId":"FOO-USDT"},{"channel":"trades","instId":"BTC-USDT"}]}');
    expect(JSON.parse(await nextReply(client))).toMatchObject({ event: 'error', code: '60018', msg: expect.stringMatching(/^Wrong URL or channel:trade,instId:BTC-USDT doesn't exist\./) });
    expect(JSON.parse(await nextReply(client))).toMatchObject({ event: 'error', code: '60018', msg: expect.stringMatching(/channel:trades,instId:FOO-USDT doesn't exist/) });
    // The valid arg of the same request is still subscribed.
    expect(JSON.parse(await nextReply(client))).toMatchObject({ event: 'subscribe', arg: { channel: 'trades', instId: 'BTC-USDT' } });
  });

  it('acknowledges an unlisted instrument when told not to reject it, and sends nothing for it', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USDT'], tradesPerSecond: 200, rejectUnknownSymbols: false });
    const client = await simulator.probe();
    client.socket.send('{"op":"subscribe","args":[{"channel":"trades","instId":"FOO-USDT"}]}');
    expect(JSON.parse(await client.next())).toMatchObject({ event: 'subscribe', arg: { instId: 'FOO-USDT' } });
    await vi.waitFor(() => expect(sim.generated('BTC-USDT').count).toBeGreaterThan(20));
    client.socket.send('ping');
    expect(await client.next()).toBe('pong'); // no trade frame came before it
  });

  it('refuses the 481st subscribe request of an hour on one connection (60014)', () => {
    const state = { connId: 'a4d3ae55', args: new Set<string>(), requestTimes: [] };
    const request = '{"op":"subscribe","args":[{"channel":"trades","instId":"BTC-USDT"}]}';
    const hour = 3_600_000;
    for (let i = 0; i < 480; i++) expect(JSON.parse(answerRequest(request, state, () => undefined, i)[0]!)).toMatchObject({ event: 'subscribe' });
    expect(JSON.parse(answerRequest(request, state, () => undefined, 480)[0]!)).toMatchObject({ event: 'error', code: '60014' });
    // Pings do not count, and the budget frees up as the hour rolls on.
    expect(answerRequest('ping', state, () => undefined, 481)).toEqual(['pong']);
    expect(JSON.parse(answerRequest(request, state, () => undefined, hour)[0]!)).toMatchObject({ event: 'subscribe' });
  });

  it('closes a connection idle for the cut-off with 4004, and refuses other paths', async () => {
    await simulator.start({ symbols: ['BTC-USDT'], tradesPerSecond: 0, idleTimeoutMs: 100 });
    const idle = await simulator.probe();
    expect(await idle.closed).toEqual({ code: 4004, reason: 'No data received in 30s' });
    await expect(simulator.probe('/ws/v5/private')).rejects.toThrow(/404/);
  });

  it.skipIf(NO_FIXTURES)('serves time and SPOT instruments shaped like the docs and the recording', async () => {
    await simulator.start({ symbols: ['BTC-USDT', 'ETH-BTC'], tradesPerSecond: 1 });
    const get = simulator.getJson;
    const time = await get('/api/v5/public/time');
    expect(time.body).toEqual({ code: '0', msg: '', data: [{ ts: expect.stringMatching(/^\d{13}$/) }] });
    const recordedInstruments = JSON.parse(fixture('okx', 'rest_instruments_SPOT_excerpt_2022.json')) as Json & { data: Json[] };
    const instruments = (await get('/api/v5/public/instruments?instType=SPOT')).body as Json & { data: Json[] };
    expect(Object.keys(instruments)).toEqual(Object.keys(recordedInstruments));
    expect(Object.keys(instruments.data[0]!)).toEqual(Object.keys(recordedInstruments.data[0]!));
    expect(instruments.data.map((i) => [i.instId, i.baseCcy, i.quoteCcy, i.state])).toEqual([['BTC-USDT', 'BTC', 'USDT', 'live'], ['ETH-BTC', 'ETH', 'BTC', 'live']]);
    expect(((await get('/api/v5/public/instruments?instType=SPOT&instId=ETH-BTC')).body.data as Json[]).map((i) => i.instId)).toEqual(['ETH-BTC']);
    expect((await get('/api/v5/public/instruments')).status).toBe(400);
  });
});
