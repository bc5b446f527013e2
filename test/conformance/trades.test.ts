/**
 * Live trades, the same checks for every exchange with the `trades` capability, each against its
 * own simulator (`exchange.simulator`): everything sent stored exactly once, a malformed frame
 * skipped, a dropped connection a clear rejection, an abort a clean stop, one refused symbol
 * failing alone, and the keepalive its protocol speaks; and the frames no parser may trust, read
 * through its trades protocol. Exchange-specific behaviour stays in test/<exchange>-trades.test.ts.
 */
import { describe, expect, it, vi } from 'vitest';
import type { BinanceTradePayload } from '../../collectors/exchanges/binance/simulator/index.js';
import type { BitstampTradePayload } from '../../collectors/exchanges/bitstamp/simulator/index.js';
import type { BybitTradePayload } from '../../collectors/exchanges/bybit/simulator/index.js';
import type { CoinbaseMatchPayload } from '../../collectors/exchanges/coinbase/simulator/index.js';
import type { GateTradePayload } from '../../collectors/exchanges/gateio/simulator/index.js';
import type { KrakenTradeEntry } from '../../collectors/exchanges/kraken/simulator/index.js';
import type { OkxTradePayload } from '../../collectors/exchanges/okx/simulator/index.js';
import { tradesCollectorKind } from '../../collectors/kinds.js';
import type { ExchangeSimulator, SimulatorControls, SimulatorStartOptions } from '../../collectors/simulator/controls.js';
import type { TradeProtocol } from '../../collectors/trades/protocol.js';
import type { Trade } from '../../collectors/trades/trade.js';
import type { KeepaliveRules } from '../../collectors/ws/channel-protocol.js';
import { TradeStreamCollector } from '../../collectors/trades/trade-stream.js';
import { silentLogger } from '../../common/logger.js';
import { MemoryStorage } from '../../storage/memory.js';
import { fixture, fixtureLines, NO_FIXTURES } from '../support/fixtures.js';
import { trackRun } from '../support/run-tracking.js';
import { simulatedExchanges } from '../support/simulated-exchanges.js';
import { useSimulator } from '../support/simulator-harness.js';
import {
  collectEverythingSent,
  expectOnlySymbolFails,
  expectRejectsWhenConnectionDrops,
  expectResolvesWhenAborted,
  expectSkipsMalformedFrame,
  expectStoredExactlyAsSent,
} from '../support/trade-collection.js';
import { tradeFrameReaders } from '../support/trade-frames.js';
import type { SentTradeFacts } from '../support/trade-samples.js';

/** What these checks use of a simulator: the common controls, and what it counts of the keepalive. */
type TradesSimulator = ExchangeSimulator & SimulatorControls<unknown> & Partial<Record<KeepaliveCount, () => number>>;
type KeepaliveCount = 'pings' | 'pongs' | 'heartbeats';

/**
 * What reading a frame no parser may trust must give: a throw, which the engine counts as an
 * `unparsed` frame and goes on (its message matching where a RegExp is given); or, for a value
 * only the engine can judge (validation.ts), the trade read as given.
 */
type Reading = { unparsed: RegExp | 'whatever the reason' } | { reads: Partial<Trade> };

/**
 * A frame no parser may trust: the recorded frame cut short, altered (its first `from` replaced),
 * or read on a connection that subscribed other symbols; or one written out.
 */
type UntrustedFrame = ({ cutAt: number } | { replace: [from: string, to: string] } | { subscribed: string[] } | { text: string }) & { reading: Reading };

/** What differs per exchange and cannot be read off its Exchange object. */
interface Row<T> {
  /** The most symbols one connection carries: its published cap, or a cautious one (cited in its trades.ts). */
  symbolsPerConnection: number;
  /** How one trade the simulator sent reads. */
  read: (trade: T) => SentTradeFacts;
  /** How the exchange refuses the unlisted FOO: the failure's reason, and simulator options that make it refuse. */
  refusal: { reason: string; options?: Record<string, unknown> };
  /**
   * Its keepalive, run quick: simulator options (a server ping or heartbeat every 50-100 ms) and
   * what the simulator counts of it (the client's pings, its pongs, its heartbeats), each at least so many.
   */
  keepalive: { counts: Partial<Record<KeepaliveCount, number>>; options?: Record<string, unknown> };
  /**
   * Frames its trades protocol must not trust: derived from one recorded trade frame (a fixture
   * file, or one line of it; read only where the fixtures are) on a connection subscribed to
   * `subscribed`, or written out.
   */
  untrusted: { recorded: { file: string; line?: number; subscribed: string[] }; frames: UntrustedFrame[] };
}

const row = <T,>(r: Row<T>): Row<unknown> => r as Row<unknown>;
const takerSide = (buy: boolean): 1 | -1 => (buy ? 1 : -1);
const msOfIso = (iso: string): number => Date.parse(`${iso.slice(0, 23)}Z`);

const ROWS: Readonly<Record<string, Row<unknown>>> = {
  binance: row<BinanceTradePayload>({
    symbolsPerConnection: 1024,
    read: (t) => ({ time: t.T, price: Number(t.p), amount: t.q, takerSide: takerSide(!t.m) }),
    // Binance acknowledges an unlisted symbol (the simulator's default): refused only when asked.
    refusal: { options: { rejectUnknownSymbols: true }, reason: 'binance rejected the trades subscription for FOO-USDT (request 3): code 2: Invalid request: invalid stream' },
    // Its server pings every 250 ms: pongs count against its 5 messages a second.
    keepalive: { counts: { pongs: 8 }, options: { pingIntervalMs: 250 } },
    untrusted: {
      recorded: { file: 'ws_trade_current_format_2026-09-29.json', subscribed: ['BTC-USDT'] },
      frames: [
        { cutAt: 60, reading: { unparsed: 'whatever the reason' } },
        { replace: ['"p":"83034.29000000"', '"p":83034.29'], reading: { unparsed: /price/ } },
        { subscribed: ['ETH-USDT'], reading: { unparsed: /BTCUSDT, which this connection did not subscribe/ } },
        { text: '[1,2]', reading: { unparsed: /not a JSON object/ } },
      ],
    },
  }),
  okx: row<OkxTradePayload>({
    symbolsPerConnection: 300,
    read: (t) => ({ time: Number(t.ts), price: Number(t.px), amount: t.sz, takerSide: takerSide(t.side === 'buy'), count: Number(t.count) }),
    refusal: { reason: "okx rejected the trades subscription for FOO-USDT (request trades:FOO-USDT): code 60018: Wrong URL or channel:trades,instId:FOO-USDT doesn't exist." },
    // Fifty pings span 2.5 s: more than twice OKX's idle cut-off, with no trade at all.
    keepalive: { counts: { pings: 50 }, options: { idleTimeoutMs: 1_000 } },
    untrusted: {
      recorded: { file: 'ws_trades_BTC-USDT_2022_cmp.json', subscribed: ['BTC-USDT'] },
      frames: [
        { cutAt: 60, reading: { unparsed: 'whatever the reason' } },
        { replace: ['"px":"43474.1"', '"px":43474.1'], reading: { unparsed: /px \(price\)/ } },
        { replace: ['"side":"buy"', '"side":"b"'], reading: { unparsed: /side/ } },
        { replace: ['"ts":"1646311839593"', '"ts":1646311839593'], reading: { unparsed: /ts/ } },
        { text: '[1,2]', reading: { unparsed: /not a JSON object/ } },
        { text: '{"data":[]}', reading: { unparsed: /neither an event nor an arg/ } },
      ],
    },
  }),
  bybit: row<BybitTradePayload>({
    symbolsPerConnection: 200,
    read: (t) => ({ time: t.T, price: Number(t.p), amount: t.v, takerSide: takerSide(t.S === 'Buy') }),
    // Bybit refuses a whole request for one unlisted topic in it: the rest is subscribed again.
    refusal: { reason: 'bybit rejected the trades subscription for FOO-USDT (request trades1): Invalid symbol :[publicTrade.FOOUSDT]' },
    keepalive: { counts: { pings: 30 } },
    untrusted: {
      recorded: { file: 'ws_spot_publicTrade_BTCUSDT_2025-10-27.json', subscribed: ['BTC-USDT'] },
      frames: [
        { cutAt: 80, reading: { unparsed: 'whatever the reason' } },
        { replace: ['"p":"115440.7"', '"p":115440.7'], reading: { unparsed: /p \(price\)/ } },
        { replace: ['"S":"Buy"', '"S":"buy"'], reading: { unparsed: /S \(side\)/ } },
        { replace: ['"i":"2290000000923750370"', '"i":2290000000923750370'], reading: { unparsed: /trade id/ } },
        { subscribed: ['ETH-USDT'], reading: { unparsed: /BTCUSDT, which this connection did not subscribe/ } },
        { text: '{"data":[]}', reading: { unparsed: /neither a topic nor an op/ } },
      ],
    },
  }),
  coinbase: row<CoinbaseMatchPayload>({
    symbolsPerConnection: 50,
    // `side` is the maker's: the taker took the other side.
    read: (t) => ({ time: msOfIso(t.time), price: Number(t.price), amount: t.size, takerSide: takerSide(t.side === 'sell') }),
    refusal: { reason: 'coinbase rejected the trades subscription for FOO-USD: Failed to subscribe: FOO-USD is not a valid product' },
    // No client ping: the heartbeat channel alone keeps it alive.
    keepalive: { counts: { heartbeats: 30 }, options: { heartbeatIntervalMs: 50 } },
    untrusted: {
      // The session's first match, of SKL-BTC.
      recorded: { file: 'ws_full_session_2021-04-17.jsonl', line: 51, subscribed: ['SKL-BTC'] },
      frames: [
        { cutAt: 60, reading: { unparsed: 'whatever the reason' } },
        { replace: ['"price":"0.00001305"', '"price":0.00001305'], reading: { unparsed: /price/ } },
        { replace: ['"side":"sell"', '"side":"ask"'], reading: { unparsed: /side/ } },
        { subscribed: ['BTC-USD'], reading: { unparsed: /SKL-BTC, which this connection did not subscribe/ } },
        { text: '[1,2]', reading: { unparsed: /not a JSON object/ } },
        { text: '{"product_id":"BTC-USD"}', reading: { unparsed: /no type/ } },
      ],
    },
  }),
  kraken: row<KrakenTradeEntry>({
    symbolsPerConnection: 200,
    read: (t) => ({ time: msOfIso(t.timestamp), price: t.price, amount: t.qty, takerSide: takerSide(t.side === 'buy') }),
    refusal: { reason: 'kraken rejected the trades subscription for FOO-USD (request FOO/USD): Currency pair not supported FOO/USD' },
    // Pings answered with pongs, and heartbeats once subscribed.
    keepalive: { counts: { pings: 30, heartbeats: 1 }, options: { heartbeatIntervalMs: 100 } },
    untrusted: {
      // The session's one trade.
      recorded: { file: 'ws_v2_trade_session_status_ack_heartbeat_trade_2024-07-27.jsonl', line: 5, subscribed: ['BTC-USD'] },
      frames: [
        { cutAt: 60, reading: { unparsed: 'whatever the reason' } },
        { replace: ['"price":68580.0', '"price":"68580.0"'], reading: { unparsed: /price/ } },
        { replace: ['"qty":0.14225864', '"qty":"0.14225864"'], reading: { unparsed: /qty/ } },
        // A negative is read as it is: validation.ts refuses that one trade, not the frame.
        { replace: ['"qty":0.14225864', '"qty":-1'], reading: { reads: { amount: -1 } } },
        { subscribed: ['ETH-USD'], reading: { unparsed: /BTC\/USD, which this connection did not subscribe/ } },
        { text: '{"channel":"trade","type":"update"}', reading: { unparsed: /data array/ } },
        { text: '{"data":[]}', reading: { unparsed: /neither a method nor a channel/ } },
        { text: '[1,2]', reading: { unparsed: /not a JSON object/ } },
      ],
    },
  }),
  gateio: row<GateTradePayload>({
    symbolsPerConnection: 300,
    read: (t) => ({ time: Math.floor(Number(t.create_time_ms)), price: Number(t.price), amount: t.amount, takerSide: takerSide(t.side === 'buy') }),
    refusal: { reason: 'gateio rejected the trades subscription for FOO-USDT (request spot.trades#1): code 2: unknown currency pair: FOO_USDT' },
    keepalive: { counts: { pings: 30 } },
    untrusted: {
      recorded: { file: 'ws_trades_BTC_USDT_2021-09-16_cmp.json', subscribed: ['BTC-USDT'] },
      frames: [
        { cutAt: 60, reading: { unparsed: 'whatever the reason' } },
        { replace: ['"price":"47395.009"', '"price":47395.009'], reading: { unparsed: /price is not a decimal/ } },
        { replace: ['"side":"buy"', '"side":"b"'], reading: { unparsed: /side/ } },
        { replace: ['"create_time_ms":"1631824310261.896"', '"create_time_ms":1631824310261'], reading: { unparsed: /create_time_ms/ } },
        { replace: ['"id":1638417041', '"id":-1'], reading: { unparsed: /id is not a trade id/ } },
        { replace: ['BTC_USDT', 'ETH_USDT'], reading: { unparsed: /ETH_USDT, which this connection did not subscribe/ } },
        { text: '[1,2]', reading: { unparsed: /not a JSON object/ } },
        { text: '{"event":"update"}', reading: { unparsed: /no channel/ } },
      ],
    },
  }),
  bitstamp: row<BitstampTradePayload>({
    symbolsPerConnection: 100,
    read: (t) => ({ time: Math.floor(Number(t.microtimestamp) / 1000), price: Number(t.price_str), amount: t.amount_str, takerSide: takerSide(t.type === 0) }),
    refusal: { reason: 'bitstamp rejected the trades subscription for FOO-USD (request live_trades_foousd): Bad subscription string.' },
    // Its client ping is {"event":"bts:heartbeat"}, counted as a heartbeat.
    keepalive: { counts: { heartbeats: 30 } },
    untrusted: {
      recorded: { file: 'ws_live_trades_ethusd_2022-01-05.jsonl', line: 0, subscribed: ['ETH-USD'] },
      frames: [
        { cutAt: 80, reading: { unparsed: 'whatever the reason' } },
        { replace: ['"price_str":"3805.44"', '"price_str":3805.44'], reading: { unparsed: /price_str/ } },
        { replace: ['"type":0', '"type":"buy"'], reading: { unparsed: /type \(side\)/ } },
        { replace: ['"microtimestamp":"1641343699596000"', '"microtimestamp":1641343699596000'], reading: { unparsed: /microtimestamp/ } },
        { subscribed: ['BTC-USD'], reading: { unparsed: /ethusd, which this connection did not subscribe/ } },
        { text: '{"data":{}}', reading: { unparsed: /without an event/ } },
      ],
    },
  }),
};

const withTrades = simulatedExchanges('trades');

it('has a row for every exchange with trades and a simulator, and for no other', () => {
  expect(Object.keys(ROWS).sort()).toEqual(withTrades.map((e) => e.name).sort());
});

/** A frame of `untrusted` as a test title says it. */
function describeFrame(frame: UntrustedFrame, recorded: Row<unknown>['untrusted']['recorded']): string {
  const file = `${recorded.file}${recorded.line === undefined ? '' : ` line ${recorded.line + 1}`}`;
  if ('text' in frame) return frame.text;
  if ('cutAt' in frame) return `${file} cut at ${frame.cutAt} characters`;
  if ('replace' in frame) return `${file} with ${frame.replace[0]} as ${frame.replace[1]}`;
  return `${file} on a connection subscribed to ${frame.subscribed.join(', ')}`;
}

/** The keepalive run quick: a client ping every 50 ms where there is one, presumed dead after 1 s of silence. */
function quickKeepalive(rules: KeepaliveRules): KeepaliveRules {
  const ping = rules.clientPing;
  // A getter, so a ping that carries the time (Gate.io's) is written afresh each time.
  return { ...rules, silenceTimeoutMs: 1_000, ...(ping && { clientPing: { intervalMs: 50, get text() { return ping.text; } } }) };
}

describe.each(withTrades.map((e) => ({ ...e, row: ROWS[e.name]! })))('$name trades (conformance)', ({ name, exchange, btc, eth, symbol, start, row }) => {
  const simulator = useSimulator((options: SimulatorStartOptions & Record<string, unknown>) => start<TradesSimulator>(options));
  // Listed by no simulator.
  const foo = symbol('FOO');
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

  it(`splits ${row.symbolsPerConnection + 1} symbols over connections of ${row.symbolsPerConnection}`, () => {
    const symbols = Array.from({ length: row.symbolsPerConnection + 1 }, (_, i) => symbol(`C${i}`));
    const requirements = symbols.map((s) => ({ id: `trades:${name}:${s}`, collector: 'trades', exchange: name, symbol: s, keys: [] }));
    const collectors = tradesCollectorKind.create(requirements, { exchanges: {}, logger: silentLogger });
    expect(collectors.map((c) => [c.id, c.keys.length])).toEqual([[`trades:${name}`, row.symbolsPerConnection], [`trades:${name}#2`, 1]]);
  });

  describe('frames it cannot trust, read through its trades protocol', () => {
    const { contextFor, tradesOf } = tradeFrameReaders(protocol);
    const { recorded, frames } = row.untrusted;
    const recordedFrame = (): string => (recorded.line === undefined ? fixture(name, recorded.file) : fixtureLines(name, recorded.file)[recorded.line]!);

    for (const frame of frames) {
      const { reading } = frame;
      const outcome = 'reads' in reading ? `read as given, ${JSON.stringify(reading.reads)}` : `unparsed, ${reading.unparsed}`;
      it.skipIf(!('text' in frame) && NO_FIXTURES)(`${describeFrame(frame, recorded)}: ${outcome}`, () => {
        const original = 'text' in frame ? frame.text : recordedFrame();
        let text = original;
        if ('cutAt' in frame) text = original.slice(0, frame.cutAt);
        if ('replace' in frame) {
          text = original.replace(...frame.replace);
          expect(text, `the recorded frame holds ${frame.replace[0]}`).not.toBe(original);
        }
        const context = contextFor(...('subscribed' in frame ? frame.subscribed : recorded.subscribed));
        if ('reads' in reading) expect(tradesOf(text, context)).toEqual([expect.objectContaining(reading.reads)]);
        else if (reading.unparsed === 'whatever the reason') expect(() => tradesOf(text, context)).toThrow();
        else expect(() => tradesOf(text, context)).toThrow(reading.unparsed);
      });
    }
  });
});
