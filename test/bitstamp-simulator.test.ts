import { describe, expect, it } from 'vitest';
import { startBitstampSimulator } from '../collectors/exchanges/bitstamp/simulator/index.js';
import { fixtureLines, lazyFixture, NO_FIXTURES } from './support/fixtures.js';
import { useSimulator } from './support/simulator-harness.js';

type Json = Record<string, unknown>;
const recorded = lazyFixture(() => JSON.parse(fixtureLines('bitstamp', 'ws_live_trades_ethusd_2022-01-05.jsonl')[0]!) as Json & { data: Json });

describe('Bitstamp simulator fidelity', () => {
  const simulator = useSimulator(startBitstampSimulator, { probePath: '/' });

  it.skipIf(NO_FIXTURES)('acks a subscribe as recorded, then sends trade events in the recorded 2022 shape', async () => {
    await simulator.start({ symbols: ['ETH-USD'], tradesPerSecond: 300 });
    const client = await simulator.probe();
    const [subscribe] = fixtureLines('bitstamp', 'ws_client_sent_subscribe_2022-01-05.jsonl').filter((l) => l.includes('live_trades_ethusd'));
    client.socket.send(subscribe!);
    const ack = fixtureLines('bitstamp', 'ws_subscription_succeeded_2022-01-05.jsonl').find((l) => l.includes('live_trades_ethusd'));
    expect(await client.next()).toBe(ack);
    const ids: number[] = [];
    for (let i = 0; i < 30; i++) {
      const frame = JSON.parse(await client.next()) as Json & { data: Json };
      // Same keys, same order, same JSON types as Bitstamp sent on 2022-01-05.
      expect(Object.keys(frame)).toEqual(Object.keys(recorded()));
      expect(Object.keys(frame.data)).toEqual(Object.keys(recorded().data));
      for (const key of Object.keys(frame.data)) expect(typeof frame.data[key]).toBe(typeof recorded().data[key]);
      expect(frame).toMatchObject({ channel: 'live_trades_ethusd', event: 'trade' });
      expect(frame.data.price_str).toMatch(/^\d+\.\d{2}$/);
      expect(frame.data.amount_str).toMatch(/^\d+\.\d{8}$/);
      expect(frame.data.microtimestamp).toMatch(/^\d{16}$/);
      expect(String(frame.data.timestamp)).toBe(String(frame.data.microtimestamp).slice(0, 10));
      ids.push(frame.data.id as number);
    }
    expect(ids.every((id, i) => i === 0 || id > ids[i - 1]!)).toBe(true);
  });

  it('answers a heartbeat, refuses a pair it does not list and a frame that is not JSON', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USD'], tradesPerSecond: 0 });
    const client = await simulator.probe();
    client.socket.send('{"event":"bts:heartbeat"}');
    expect(JSON.parse(await client.next())).toEqual({ event: 'bts:heartbeat', channel: '', data: { status: 'success' } });
    client.socket.send('{"event":"bts:subscribe","data":{"channel":"live_trades_foousd"}}');
    expect(JSON.parse(await client.next())).toEqual({ event: 'bts:error', channel: 'live_trades_foousd', data: { code: null, message: 'Bad subscription string.' } });
    client.socket.send('{"event":');
    expect(JSON.parse(await client.next())).toEqual({ event: 'bts:error', channel: '', data: { code: null, message: 'Incorrect JSON format.' } });
    expect(sim.heartbeats()).toBe(1);
    const pairs = await simulator.getJson<Json[]>('/api/v2/trading-pairs-info/');
    expect(pairs.body.map((p) => [p.url_symbol, p.name, p.trading])).toEqual([['btcusd', 'BTC/USD', 'Enabled']]);
  });
});
