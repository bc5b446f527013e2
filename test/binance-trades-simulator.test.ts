import { describe, expect, it, vi } from 'vitest';
import { startBinanceSimulator } from '../collectors/exchanges/binance/simulator/index.js';
import { fixture, lazyFixture, NO_FIXTURES } from './support/fixtures.js';
import type { ProbeClient } from './support/probe-client.js';
import { useSimulator } from './support/simulator-harness.js';

type Json = Record<string, unknown>;
const current = lazyFixture(() => JSON.parse(fixture('binance', 'ws_trade_current_format_2026-09-29.json')) as { stream: string; data: Json });

/** The next frame that is not a trade (replies can interleave with trade frames). */
const nextReply = (client: ProbeClient): Promise<string> => client.nextWhere((text) => !text.includes('"e":"trade"'));

describe('Binance simulator fidelity', () => {
  const simulator = useSimulator(startBinanceSimulator);

  it.skipIf(NO_FIXTURES)('sends combined trade frames in the recorded current format, with sequential ids', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USDT'], tradesPerSecond: 300 });
    const client = await simulator.probe('/stream?streams=btcusdt@trade');
    const frames = [];
    for (let i = 0; i < 20; i++) frames.push(JSON.parse(await client.next()) as { stream: string; data: Json });
    for (const frame of frames) {
      expect(Object.keys(frame)).toEqual(Object.keys(current()));
      expect(frame.stream).toBe('btcusdt@trade');
      // Same keys, same order, same JSON types as the frame Binance sent on 2026-09-29.
      expect(Object.keys(frame.data)).toEqual(Object.keys(current().data));
      for (const key of Object.keys(current().data)) expect(typeof frame.data[key]).toBe(typeof current().data[key]);
      expect(frame.data).toMatchObject({ e: 'trade', s: 'BTCUSDT', M: true });
      expect(frame.data.p).toMatch(/^\d+\.\d{8}$/);
      expect(frame.data.q).toMatch(/^\d+\.\d{8}$/);
      expect(frame.data.E as number).toBeGreaterThanOrEqual(frame.data.T as number);
    }
    const ids = frames.map((f) => f.data.t as number);
    expect(ids).toEqual(ids.map((_, i) => ids[0]! + i));
    expect(sim.generated('BTC-USDT').count).toBeGreaterThanOrEqual(sim.sent('BTCUSDT').count);
  });

  it('answers SUBSCRIBE, LIST_SUBSCRIPTIONS and properties on /ws as documented', async () => {
    await simulator.start({ symbols: ['BTC-USDT', 'ETH-USDT'], tradesPerSecond: 100 });
    const client = await simulator.probe('/ws');
    client.socket.send(JSON.stringify({ method: 'SUBSCRIBE', params: ['btcusdt@trade', 'ethusdt@depth'], id: 1 }));
    expect(await nextReply(client)).toBe('{"result":null,"id":1}');
    const raw = JSON.parse(await client.next()) as Json;
    expect(raw).toMatchObject({ e: 'trade', s: 'BTCUSDT' }); // /ws payloads are not wrapped
    client.socket.send(JSON.stringify({ method: 'LIST_SUBSCRIPTIONS', id: 2 }));
    expect(await nextReply(client)).toBe('{"result":["btcusdt@trade","ethusdt@depth"],"id":2}');
    client.socket.send(JSON.stringify({ method: 'SET_PROPERTY', params: ['combined', true], id: 'abc' }));
    expect(await nextReply(client)).toBe('{"result":null,"id":"abc"}');
    client.socket.send(JSON.stringify({ method: 'GET_PROPERTY', params: ['combined'], id: 4 }));
    expect(await nextReply(client)).toBe('{"result":true,"id":4}');
    const wrapped = JSON.parse(await client.next()) as Json;
    expect(wrapped).toMatchObject({ stream: 'btcusdt@trade', data: { e: 'trade' } });
  });

  it('replies with Binance error frames to bad requests', async () => {
    await simulator.start({ symbols: ['BTC-USDT'], tradesPerSecond: 10 });
    const first = await simulator.probe('/ws');
    first.socket.send('{"method":"SUBSCRIBE","params":["not asdfads"],"id":3}');
    expect(await nextReply(first)).toBe('{"error":{"code":2,"msg":"Invalid request: invalid stream"},"id":3}');
    first.socket.send('{"method":"SUBSCRIBE",');
    expect(JSON.parse(await nextReply(first))).toMatchObject({ error: { code: 3, msg: expect.stringMatching(/^Invalid JSON: expected value at line 1 column \d+$/) }, id: null });
    first.socket.send('{"method":"SUBSCRIB","params":[],"id":1}');
    expect(JSON.parse(await nextReply(first))).toMatchObject({ error: { code: 2, msg: expect.stringMatching(/^Invalid request: unknown variant `SUBSCRIB`, expected one of `SUBSCRIBE`/) } });
    first.socket.send('{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":{"n":1}}');
    expect(await nextReply(first)).toBe('{"error":{"code":2,"msg":"Invalid request: request ID must be an unsigned integer"},"id":null}');
    const second = await simulator.probe('/ws');
    second.socket.send('{"method":"SET_PROPERTY","params":["compressed",true],"id":5}');
    expect(await nextReply(second)).toBe('{"error":{"code":0,"msg":"Unknown property"},"id":5}');
    second.socket.send('{"method":"SET_PROPERTY","params":["combined","yes"],"id":6}');
    expect(await nextReply(second)).toBe('{"error":{"code":1,"msg":"Invalid value type: expected Boolean"},"id":6}');
  });

  it('acknowledges an unlisted symbol and sends nothing for it, unless told to reject it', async () => {
    let sim = await simulator.start({ symbols: ['BTC-USDT'], tradesPerSecond: 200 });
    const lenient = await simulator.probe('/ws');
    lenient.socket.send('{"method":"SUBSCRIBE","params":["foousdt@trade"],"id":1}');
    expect(await lenient.next()).toBe('{"result":null,"id":1}');
    await vi.waitFor(() => expect(sim.generated('BTC-USDT').count).toBeGreaterThan(20));
    lenient.socket.send('{"method":"LIST_SUBSCRIPTIONS","id":2}');
    // No trade frame came before the reply.
    expect(await lenient.next()).toBe('{"result":["foousdt@trade"],"id":2}');
    await sim.close();

    sim = await simulator.start({ symbols: ['BTC-USDT'], tradesPerSecond: 10, rejectUnknownSymbols: true });
    const strict = await simulator.probe('/ws');
    strict.socket.send('{"method":"SUBSCRIBE","params":["btcusdt@trade","foousdt@trade"],"id":7}');
    expect(await strict.next()).toBe('{"error":{"code":2,"msg":"Invalid request: invalid stream"},"id":7}');
  });

  it('disconnects a client over 5 messages a second, one that does not pong, and a malformed stream URL', async () => {
    await simulator.start({ symbols: ['BTC-USDT'], tradesPerSecond: 10, pingIntervalMs: 100, pongTimeoutMs: 300 });
    const chatty = await simulator.probe('/ws');
    for (let id = 1; id <= 6; id++) chatty.socket.send(JSON.stringify({ method: 'LIST_SUBSCRIPTIONS', id }));
    expect(await chatty.closed).toEqual({ code: 1008, reason: 'Too many requests' });
    const deaf = await simulator.probe('/ws', { autoPong: false });
    expect((await deaf.closed).code).toBe(1006);
    const badUrl = await simulator.probe('/stream?streams=BTCUSDT@trades');
    expect(await badUrl.closed).toEqual({ code: 1008, reason: '{"code":-1,"msg":"Illegal format ws or stream"}' });
  });

  it("takes ccxt's `/ws/<stream index>` connection (a listen-key path, no data) and streams what it then SUBSCRIBEs to", async () => {
    await simulator.start({ symbols: ['BTC-USDT'], tradesPerSecond: 200 });
    const ccxtLike = await simulator.probe('/ws/0');
    ccxtLike.socket.send('{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1}');
    expect(await ccxtLike.next()).toBe('{"result":null,"id":1}');
    expect(JSON.parse(await ccxtLike.next())).toMatchObject({ e: 'trade', s: 'BTCUSDT' });
  });

  it('serves a third-party client: ccxt.pro watchTrades, pointed at it, gets the trades with consecutive ids', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USDT'], tradesPerSecond: 200 });
    const { default: ccxt } = await import('ccxt');
    const exchange = new ccxt.pro.binance();
    (exchange.urls.api['ws'] as Record<string, unknown>)['spot'] = `${sim.wsUrl}/ws`;
    // Markets from the simulator's exchangeInfo (ccxt's loadMarkets would also ask for margin pairs).
    exchange.options['crossMarginPairsData'] = [];
    exchange.options['isolatedMarginPairsData'] = [];
    const info = (await simulator.getJson<{ symbols: unknown[] }>('/api/v3/exchangeInfo')).body;
    exchange.setMarkets(info.symbols.map((symbol) => exchange.parseMarket(symbol as Record<string, unknown>)));
    await exchange.loadHttpProxyAgent(); // ccxt refuses a plain ws:// URL until it is loaded
    try {
      const ids: number[] = [];
      while (ids.length < 20) for (const trade of await exchange.watchTrades('BTC/USDT')) ids.push(Number(trade.id));
      expect(ids.every((id, i) => i === 0 || id === ids[i - 1]! + 1)).toBe(true);
    } finally {
      await exchange.close();
    }
  });

  it.skipIf(NO_FIXTURES)('serves ping, time and exchangeInfo shaped like the recordings', async () => {
    await simulator.start({ symbols: ['BTC-USDT', 'ETH-BTC'], tradesPerSecond: 1 });
    const get = simulator.getJson;
    expect(await get('/api/v3/ping')).toEqual({ status: 200, body: JSON.parse(fixture('binance', 'rest_ping.json')) });
    const time = await get('/api/v3/time');
    expect(Object.keys(time.body)).toEqual(Object.keys(JSON.parse(fixture('binance', 'rest_time.json')) as Json));
    const recorded = JSON.parse(fixture('binance', 'rest_exchangeInfo_2021_excerpt.json')) as Json & { symbols: Json[] };
    const info = (await get('/api/v3/exchangeInfo')).body as Json & { symbols: Json[] };
    expect(Object.keys(info)).toEqual(Object.keys(recorded));
    expect(info.symbols.map((s) => [s.symbol, s.baseAsset, s.quoteAsset])).toEqual([['BTCUSDT', 'BTC', 'USDT'], ['ETHBTC', 'ETH', 'BTC']]);
    expect(Object.keys(info.symbols[0]!)).toEqual(Object.keys(recorded.symbols[0]!));
    const filterTypes = (s: Json): unknown[] => (s.filters as Json[]).map((f) => f.filterType);
    expect(filterTypes(info.symbols[0]!)).toEqual(filterTypes(recorded.symbols[0]!));
    const one = (await get('/api/v3/exchangeInfo?symbols=%5B%22ETHBTC%22%5D')).body as { symbols: Json[] };
    expect(one.symbols.map((s) => s.symbol)).toEqual(['ETHBTC']);
    expect(await get('/api/v3/exchangeInfo?symbol=FOOUSDT')).toEqual({ status: 400, body: { code: -1121, msg: 'Invalid symbol.' } });
  });
});
