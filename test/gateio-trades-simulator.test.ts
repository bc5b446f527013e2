import { describe, expect, it, vi } from 'vitest';
import { startGateioSimulator } from '../collectors/exchanges/gateio/simulator/index.js';
import { gateioTrades } from '../collectors/exchanges/gateio/trades.js';
import { tradesCollectorKind } from '../collectors/kinds.js';
import { SymbolTable } from '../collectors/ws/symbol-table.js';
import { silentLogger } from '../common/logger.js';
import { MemoryStorage } from '../storage/memory.js';
import { dropAndReconnect, runRestarting, untilStored } from './support/backfill.js';
import { docsExample, fixtureLines, lazyFixture, NO_FIXTURES } from './support/fixtures.js';
import type { ProbeClient } from './support/probe-client.js';
import { useSimulator } from './support/simulator-harness.js';

type Json = Record<string, unknown>;
// The newest recorded spot.trades frame (2023, with time_ms).
const recorded = lazyFixture(() => JSON.parse(fixtureLines('gateio', 'ws_v4_trades_book_ticker_order_book_update_2023-04-28_tardis.jsonl')[0]!) as Json & { result: Json });

/** The next frame that is not a trade update. */
const nextReply = (client: ProbeClient): Promise<string> => client.nextWhere((text) => !text.includes('"event":"update"'));

describe('Gate.io simulator fidelity', () => {
  const simulator = useSimulator(startGateioSimulator, { probePath: '/ws/v4/' });

  it.skipIf(NO_FIXTURES)('pushes spot.trades updates in the recorded 2023 shape, one trade each, ids increasing per pair but never consecutive', async () => {
    await simulator.start({ symbols: ['BTC-USDT', 'ETH-USDT'], tradesPerSecond: 300 });
    const client = await simulator.probe();
    client.socket.send('{"time":1,"id":7,"channel":"spot.trades","event":"subscribe","payload":["BTC_USDT"]}');
    expect(JSON.parse(await client.next())).toEqual({
      time: expect.any(Number), time_ms: expect.any(Number), id: 7, conn_id: expect.stringMatching(/^[0-9a-f]{16}$/),
      channel: 'spot.trades', event: 'subscribe', payload: ['BTC_USDT'], result: { status: 'success' },
    });
    const frames: Array<Json & { result: Json }> = [];
    for (let i = 0; i < 30; i++) frames.push(JSON.parse(await client.next()) as Json & { result: Json });
    for (const frame of frames) {
      expect(Object.keys(frame)).toEqual(Object.keys(recorded()));
      expect(Object.keys(frame.result)).toEqual(Object.keys(recorded().result));
      expect(frame.result.currency_pair).toBe('BTC_USDT');
      expect(typeof frame.result.id).toBe('number');
      expect(frame.result.create_time_ms).toMatch(/^\d{13}\.\d+$/);
    }
    const ids = frames.map((f) => f.result.id as number);
    ids.slice(1).forEach((id, i) => expect(id - ids[i]!).toBeGreaterThan(1));
    // Each is a trade the collector can read.
    expect(gateioTrades.onMessage(JSON.stringify(frames[0]), { symbols: new SymbolTable(['BTC-USDT'], gateioTrades.connection.toExchangeSymbol), receivedAt: 1 }).trades).toHaveLength(1);
  });

  it.skipIf(NO_FIXTURES)('answers spot.ping with the documented spot.pong and refuses bad requests with Gate error replies', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USDT'], tradesPerSecond: 0 });
    const client = await simulator.probe();
    client.socket.send(gateioTrades.connection.keepalive.clientPing!.text);
    const pong = JSON.parse(await client.next()) as Json;
    expect(Object.keys(pong)).toEqual(Object.keys(JSON.parse(docsExample('gateio', 'spot_pong_response')) as Json));
    expect(pong).toMatchObject({ channel: 'spot.pong', event: '', error: null, result: null });
    expect(sim.pings()).toBe(1);
    const documented = Object.keys(JSON.parse(docsExample('gateio', 'spot_obu_duplicate_subscribe_error')) as Json).filter((k) => k !== 'trace_id');
    client.socket.send('{"time":1,"id":2,"channel":"spot.trades","event":"subscribe","payload":["BTC_USDT","FOO_USDT"]}');
    const refused = JSON.parse(await nextReply(client)) as Json;
    expect(Object.keys(refused)).toEqual(documented);
    expect(refused).toMatchObject({ id: 2, error: { code: 2, message: 'unknown currency pair: FOO_USDT' }, result: { status: 'fail' } });
    client.socket.send('{"time":1,"channel":"spot.trades","event":"subscribe"');
    expect(JSON.parse(await nextReply(client))).toMatchObject({ error: { code: 1, message: 'Invalid request body format' } });
    client.socket.send('{"time":1,"id":3,"channel":"spot.trades","event":"unsubscribe","payload":["BTC_USDT"]}');
    expect(JSON.parse(await nextReply(client))).toMatchObject({ id: 3, event: 'unsubscribe', result: { status: 'success' } });
  });

  it('serves /spot/trades by last_id (above it, or below with reverse), newest first, with 429 TOO_MANY_REQUESTS over the budget', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USDT', 'ETH-USDT'], tradesPerSecond: 500, restRequestLimit: { requests: 4, windowMs: 60_000 } });
    await vi.waitFor(() => expect(sim.generatedTrades('BTC-USDT').length).toBeGreaterThan(20));
    sim.pause();
    type Page = Array<{ id: string; sequence_id: string; create_time_ms: string; amount: string }>;
    const latest = await simulator.getJson<Page>('/api/v4/spot/trades?currency_pair=BTC_USDT&limit=3');
    const generated = sim.generatedTrades('BTC-USDT');
    expect(latest.body.map((t) => Number(t.sequence_id))).toEqual([generated.at(-1)!.id, generated.at(-2)!.id, generated.at(-3)!.id]);
    const pivot = latest.body[2]!.id;
    const above = await simulator.getJson<Page>(`/api/v4/spot/trades?currency_pair=BTC_USDT&limit=5&last_id=${pivot}`);
    expect(above.body.map((t) => t.id)).toEqual([latest.body[0]!.id, latest.body[1]!.id]);
    const below = await simulator.getJson<Page>(`/api/v4/spot/trades?currency_pair=BTC_USDT&limit=2&last_id=${pivot}&reverse=true`);
    expect(below.body.map((t) => Number(t.sequence_id))).toEqual([generated.at(-4)!.id, generated.at(-5)!.id]);
    expect(await simulator.getJson('/api/v4/spot/trades?currency_pair=FOO_USDT')).toEqual({ status: 400, body: { label: 'INVALID_CURRENCY_PAIR', message: 'Invalid currency pair FOO_USDT' } });
    expect(await simulator.getJson('/api/v4/spot/trades?currency_pair=BTC_USDT')).toEqual({ status: 429, body: { label: 'TOO_MANY_REQUESTS', message: 'Request Rate limit Exceeded' } });
    expect(sim.rateLimited()).toBe(1);
    const pairs = await simulator.getJson<Array<Json>>('/api/v4/spot/currency_pairs');
    expect(pairs.body.map((p) => [p.id, p.trade_status])).toEqual([['BTC_USDT', 'tradable'], ['ETH_USDT', 'tradable']]);
    expect((await simulator.getJson<Json>('/api/v4/spot/time')).body.server_time).toEqual(expect.any(Number));
  });
});

describe('Gate.io trades collector against its simulator', () => {
  const simulator = useSimulator(startGateioSimulator);

  it('records a gap for a disconnect when REST history cannot be had (ids do not show what was missed)', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USDT'], tradesPerSecond: 300 });
    const [collector] = tradesCollectorKind.create(
      [{ id: 'trades:gateio:BTC-USDT', collector: 'trades', exchange: 'gateio', symbol: 'BTC-USDT', keys: [] }],
      { exchanges: { gateio: { wsUrl: sim.wsUrl, restUrl: `${sim.restUrl}/nowhere` } }, logger: silentLogger },
    );
    const storage = new MemoryStorage();
    const abort = new AbortController();
    const running = runRestarting(collector!, storage, abort.signal);
    try {
      await untilStored(storage, 'trades:gateio:BTC-USDT', 20);
      await dropAndReconnect(sim);
      await untilStored(storage, 'trades:gateio:BTC-USDT', 20);
      await vi.waitFor(() => expect(collector!.progress.gaps).toBe(1), { timeout: 10_000 });
      expect(collector!.progress.tradesBackfilled).toBe(0);
    } finally {
      abort.abort();
    }
    await running;
  });
});
