/**
 * Live trades, the same checks for every exchange with the `trades` capability, each against its
 * own simulator (`exchange.simulator`): everything sent stored exactly once, a malformed frame
 * skipped, a dropped connection a clear rejection, an abort a clean stop, one refused symbol
 * failing alone, and the keepalive its protocol speaks. Exchange-specific behaviour stays in
 * test/<exchange>-trades.test.ts.
 */
import { describe, expect, it, vi } from 'vitest';
import type { Exchange } from '../../collectors/exchange.js';
import { exchanges } from '../../collectors/exchanges/index.js';
import type { BinanceTradePayload } from '../../collectors/exchanges/binance/simulator.js';
import type { BitstampTradePayload } from '../../collectors/exchanges/bitstamp/simulator.js';
import type { BybitTradePayload } from '../../collectors/exchanges/bybit/simulator.js';
import type { CoinbaseMatchPayload } from '../../collectors/exchanges/coinbase/simulator.js';
import type { GateTradePayload } from '../../collectors/exchanges/gateio/simulator.js';
import type { KrakenTradeEntry } from '../../collectors/exchanges/kraken/simulator.js';
import type { OkxTradePayload } from '../../collectors/exchanges/okx/simulator.js';
import type { ExchangeSimulator, SimulatorControls, SimulatorStartOptions } from '../../collectors/simulator/controls.js';
import type { TradeProtocol } from '../../collectors/trades/protocol.js';
import type { KeepaliveRules } from '../../collectors/ws/channel-protocol.js';
import { TradeStreamCollector } from '../../collectors/trades/trade-stream.js';
import { MemoryStorage } from '../../storage/memory.js';
import { trackRun } from '../support/run-tracking.js';
import { useSimulator } from '../support/simulator-harness.js';
import {
  collectEverythingSent,
  expectOnlySymbolFails,
  expectRejectsWhenConnectionDrops,
  expectResolvesWhenAborted,
  expectSkipsMalformedFrame,
  expectStoredExactlyAsSent,
} from '../support/trade-collection.js';
import type { SentTradeFacts } from '../support/trade-samples.js';

/** What these checks use of a simulator: the common controls, and what it counts of the keepalive. */
type TradesSimulator = ExchangeSimulator & SimulatorControls<unknown> & Partial<Record<KeepaliveCount, () => number>>;
type KeepaliveCount = 'pings' | 'pongs' | 'heartbeats';

/** What differs per exchange and cannot be read off its Exchange object. */
interface Row<T> {
  /** The quote of the symbols its simulator lists (BTC-<quote>, ETH-<quote>, FOO-<quote> unlisted). */
  quote: 'USDT' | 'USD';
  /** How one trade the simulator sent reads. */
  read: (trade: T) => SentTradeFacts;
  /** How the exchange refuses the unlisted FOO: the failure's reason, and simulator options that make it refuse. */
  refusal: { reason: string; options?: Record<string, unknown> };
  /**
   * Its keepalive, run quick: simulator options (a server ping or heartbeat every 50-100 ms) and
   * what the simulator counts of it (the client's pings, its pongs, its heartbeats), each at least so many.
   */
  keepalive: { counts: Partial<Record<KeepaliveCount, number>>; options?: Record<string, unknown> };
}

const row = <T,>(r: Row<T>): Row<unknown> => r as Row<unknown>;
const takerSide = (buy: boolean): 1 | -1 => (buy ? 1 : -1);
const msOfIso = (iso: string): number => Date.parse(`${iso.slice(0, 23)}Z`);

const ROWS: Readonly<Record<string, Row<unknown>>> = {
  binance: row<BinanceTradePayload>({
    quote: 'USDT',
    read: (t) => ({ time: t.T, price: Number(t.p), amount: t.q, takerSide: takerSide(!t.m) }),
    // Binance acknowledges an unlisted symbol (the simulator's default): refused only when asked.
    refusal: { options: { rejectUnknownSymbols: true }, reason: 'binance rejected the trades subscription for FOO-USDT (request 3): code 2: Invalid request: invalid stream' },
    // Its server pings every 250 ms: pongs count against its 5 messages a second.
    keepalive: { counts: { pongs: 8 }, options: { pingIntervalMs: 250 } },
  }),
  okx: row<OkxTradePayload>({
    quote: 'USDT',
    read: (t) => ({ time: Number(t.ts), price: Number(t.px), amount: t.sz, takerSide: takerSide(t.side === 'buy'), count: Number(t.count) }),
    refusal: { reason: "okx rejected the trades subscription for FOO-USDT (request trades:FOO-USDT): code 60018: Wrong URL or channel:trades,instId:FOO-USDT doesn't exist." },
    // Fifty pings span 2.5 s: more than twice OKX's idle cut-off, with no trade at all.
    keepalive: { counts: { pings: 50 }, options: { idleTimeoutMs: 1_000 } },
  }),
  bybit: row<BybitTradePayload>({
    quote: 'USDT',
    read: (t) => ({ time: t.T, price: Number(t.p), amount: t.v, takerSide: takerSide(t.S === 'Buy') }),
    // Bybit refuses a whole request for one unlisted topic in it: the rest is subscribed again.
    refusal: { reason: 'bybit rejected the trades subscription for FOO-USDT (request trades1): Invalid symbol :[publicTrade.FOOUSDT]' },
    keepalive: { counts: { pings: 30 } },
  }),
  coinbase: row<CoinbaseMatchPayload>({
    quote: 'USD',
    // `side` is the maker's: the taker took the other side.
    read: (t) => ({ time: msOfIso(t.time), price: Number(t.price), amount: t.size, takerSide: takerSide(t.side === 'sell') }),
    refusal: { reason: 'coinbase rejected the trades subscription for FOO-USD: Failed to subscribe: FOO-USD is not a valid product' },
    // No client ping: the heartbeat channel alone keeps it alive.
    keepalive: { counts: { heartbeats: 30 }, options: { heartbeatIntervalMs: 50 } },
  }),
  kraken: row<KrakenTradeEntry>({
    quote: 'USD',
    read: (t) => ({ time: msOfIso(t.timestamp), price: t.price, amount: t.qty, takerSide: takerSide(t.side === 'buy') }),
    refusal: { reason: 'kraken rejected the trades subscription for FOO-USD (request FOO/USD): Currency pair not supported FOO/USD' },
    // Pings answered with pongs, and heartbeats once subscribed.
    keepalive: { counts: { pings: 30, heartbeats: 1 }, options: { heartbeatIntervalMs: 100 } },
  }),
  gateio: row<GateTradePayload>({
    quote: 'USDT',
    read: (t) => ({ time: Math.floor(Number(t.create_time_ms)), price: Number(t.price), amount: t.amount, takerSide: takerSide(t.side === 'buy') }),
    refusal: { reason: 'gateio rejected the trades subscription for FOO-USDT (request spot.trades#1): code 2: unknown currency pair: FOO_USDT' },
    keepalive: { counts: { pings: 30 } },
  }),
  bitstamp: row<BitstampTradePayload>({
    quote: 'USD',
    read: (t) => ({ time: Math.floor(Number(t.microtimestamp) / 1000), price: Number(t.price_str), amount: t.amount_str, takerSide: takerSide(t.type === 0) }),
    refusal: { reason: 'bitstamp rejected the trades subscription for FOO-USD (request live_trades_foousd): Bad subscription string.' },
    // Its client ping is {"event":"bts:heartbeat"}, counted as a heartbeat.
    keepalive: { counts: { heartbeats: 30 } },
  }),
};

const withTrades = (exchanges as readonly Exchange[]).filter((exchange) => exchange.capabilities.trades !== undefined && exchange.simulator !== undefined);

it('has a row for every exchange with trades and a simulator, and for no other', () => {
  expect(Object.keys(ROWS).sort()).toEqual(withTrades.map((e) => e.name).sort());
});

/** The keepalive run quick: a client ping every 50 ms where there is one, presumed dead after 1 s of silence. */
function quickKeepalive(rules: KeepaliveRules): KeepaliveRules {
  const ping = rules.clientPing;
  // A getter, so a ping that carries the time (Gate.io's) is written afresh each time.
  return { ...rules, silenceTimeoutMs: 1_000, ...(ping && { clientPing: { intervalMs: 50, get text() { return ping.text; } } }) };
}

describe.each(withTrades.map((exchange: Exchange) => ({ name: exchange.name, exchange, row: ROWS[exchange.name]! })))('$name trades (conformance)', ({ name, exchange, row }) => {
  const start = async (options: SimulatorStartOptions & Record<string, unknown>) => (await exchange.simulator!(options)) as TradesSimulator;
  const simulator = useSimulator(start);
  const [btc, eth, foo] = ['BTC', 'ETH', 'FOO'].map((base) => `${base}-${row.quote}`) as [string, string, string];
  const protocol = exchange.capabilities.trades!;
  const collectorFor = (symbols: string[], p: TradeProtocol = protocol): TradeStreamCollector =>
    new TradeStreamCollector({ id: `trades:${name}`, protocol: p, symbols, wsUrl: simulator.current().wsUrl });

  it('stores exactly what was sent after subscribing, in batches: per-millisecond price, count, amount and taker-buy amount', async () => {
    const symbols = [btc, eth];
    const sim = await simulator.start({ symbols, tradesPerSecond: 400 });
    // Trades exist before the collector subscribes (Coinbase then sends a last_match it must not store).
    await vi.waitFor(() => expect(sim.generated(eth).count).toBeGreaterThan(0));
    const storage = new MemoryStorage();
    const storeMany = vi.spyOn(storage, 'storeMany');
    const store = vi.spyOn(storage, 'store');
    const collector = await collectEverythingSent({
      exchange: name, simulator: sim, symbols, storage,
      // Enough trades to share milliseconds and span several batches.
      waitBeforePausing: [() => expect(sim.sent(eth).count).toBeGreaterThan(600)],
    });
    let newest = 0;
    for (const { sent, stored } of await expectStoredExactlyAsSent(storage, name, sim, symbols, row.read)) {
      expect(stored.size).toBeLessThan(sent.count); // several trades shared a millisecond and were merged
      expect(new Set(sent.trades.map((t) => row.read(t).takerSide)).size).toBe(2); // both taker sides read
      newest = Math.max(newest, row.read(sent.trades.at(-1)).time);
    }
    expect(store).not.toHaveBeenCalled();
    expect(storeMany.mock.calls.length).toBeLessThan(symbols.reduce((sum, s) => sum + sim.sent(s).count, 0));
    expect(collector.progress.lastDataTime).toBe(newest);
    expect((collector as TradeStreamCollector).unparsedFrames).toBe(0);
    expect((await storage.keys()).find((s) => s.key === `trades:${name}:${btc}`)).toMatchObject({
      fields: { price: 'last', amount: 'sum', count: 'sum', buy_amount: 'sum' },
      labels: { kind: 'trades', exchange: name, symbol: btc },
    });
  });

  it(`keeps a quiet connection alive the way its protocol says (${Object.keys(row.keepalive.counts).join(' and ')} counted), each answer read as a heartbeat`, async () => {
    const sim = await simulator.start({ symbols: [btc], tradesPerSecond: 50, ...row.keepalive.options });
    sim.pause();
    const collector = collectorFor([btc], { ...protocol, connection: { ...protocol.connection, keepalive: quickKeepalive(protocol.connection.keepalive) } });
    const abort = new AbortController();
    const running = trackRun(collector.run(new MemoryStorage(), abort.signal));
    try {
      // Well past the 1 s silence timeout, with no trade at all.
      for (const [count, atLeast] of Object.entries(row.keepalive.counts) as Array<[KeepaliveCount, number]>) {
        await vi.waitFor(() => expect(sim[count]!()).toBeGreaterThanOrEqual(atLeast), { timeout: 20_000 });
      }
      expect(sim.connections()).toBe(1);
      expect(running.settled()).toBe(false);
      expect(collector.unparsedFrames).toBe(0); // every answer was understood
      expect(collector.progress.lastHeartbeatAt).toBeDefined();
    } finally {
      abort.abort();
      await running.run;
    }
  });

  it('skips a malformed frame and keeps collecting', async () => {
    const sim = await simulator.start({ symbols: [btc], tradesPerSecond: 200 });
    await expectSkipsMalformedFrame(sim, collectorFor([btc]), name, btc);
  });

  it('rejects with a clear error when the connection drops', async () => {
    const sim = await simulator.start({ symbols: [btc], tradesPerSecond: 200 });
    await expectRejectsWhenConnectionDrops(sim, collectorFor([btc]), name, btc, new RegExp(`^trades:${name}: connection closed by the server \\(code 1006\\)$`));
  });

  it('fails only the symbol it refuses, naming it and the reason; the others collect', async () => {
    await simulator.start({ symbols: [btc, eth], tradesPerSecond: 50, ...row.refusal.options });
    const { stop } = await expectOnlySymbolFails(collectorFor([btc, foo, eth]), {
      collecting: [`trades:${name}:${btc}`, `trades:${name}:${eth}`],
      failed: foo,
      reason: row.refusal.reason,
    });
    await stop();
  });

  it('resolves when aborted and closes its connection; an already-aborted run does not connect', async () => {
    const sim = await simulator.start({ symbols: [btc], tradesPerSecond: 100 });
    const collector = collectorFor([btc]);
    const aborted = await expectResolvesWhenAborted(sim, collector);
    await expect(collector.run(new MemoryStorage(), aborted)).resolves.toBeUndefined();
    expect(sim.connections()).toBe(0);
  });
});
