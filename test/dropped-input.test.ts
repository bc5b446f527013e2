/**
 * What every exchange's collectors do with input no real market sends, end to end through a
 * daemon on each exchange's simulator: impossible values are never stored and are counted as
 * `invalid`, a binary frame is skipped, a frame over the exchange's size limit is dropped unread
 * and the connection reopened, each counted where an operator looks (/status, /metrics).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { builtInExchanges } from '../collectors/exchanges/index.js';
import type { SimulatorControls } from '../collectors/simulator/controls.js';
import type { PlantedValues } from '../collectors/simulator/market.js';
import type { DropCounts } from '../collectors/types.js';
import { loadConfig } from '../src/config/load.js';
import { createContainer } from '../src/container.js';
import { startDaemon, type Daemon } from '../src/daemon.js';
import type { CollectorStatus, ServiceStatus } from '../src/data-collector.js';
import { silentLogger } from '../common/logger.js';
import type { MemoryStorage } from '../storage/memory.js';
import { simulatedExchanges } from './support/simulated-exchanges.js';
import { storedCount, storedSamples, toLots } from './support/trade-samples.js';
import { writeConfig } from './support/config-files.js';

type Simulator = SimulatorControls<unknown>;

/** Each exchange with the capability and a simulator, and the symbol it is tested with. */
const having = (capability: 'trades' | 'klines') => simulatedExchanges(capability).map(({ name, btc }) => ({ exchange: name, symbol: btc }));

// Each planted price differs from the market's (~10,000-100,000) and from the others, so no
// exchange merges a planted trade with a real one (OKX aggregates an order's fills at one price).
const OVERFLOWING_PRICE = `${'9'.repeat(400)}.00000000`;
const BAD_TRADES: readonly PlantedValues[] = [
  { price: '0.00000000' },
  { price: '1.00000000', amount: '0' },
  { price: '2.00000000', amount: '0.00000000' },
  { price: '-5.00000000' },
  // 400 digits: a double overflows to Infinity.
  { price: OVERFLOWING_PRICE },
];

const WAIT = { timeout: 20_000, interval: 50 };
const dir = mkdtempSync(join(tmpdir(), 'qc-dropped-'));
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function simulator(exchange: string, symbol: string, options: { klineHoles?: { invertedEvery: number } } = {}): Promise<Simulator> {
  const sim = (await builtInExchanges.get(exchange).simulator!({ symbols: [symbol], tradesPerSecond: 40, ...options })) as unknown as Simulator;
  cleanups.push(() => sim.close());
  return sim;
}

/** A daemon in this process with a status server on a free loopback port, storing in memory. */
async function daemonFor(name: string, exchange: string, sim: Simulator, feed: string): Promise<Daemon & { statusUrl: string }> {
  const file = join(dir, `${name}.yaml`);
  writeConfig(
    file,
    `storage: { kind: memory }
http: { listen: "127.0.0.1:0" }
collector: { restart: { initialDelay: 50ms, maxDelay: 200ms } }
exchanges:
  ${exchange}: { wsUrl: "${sim.wsUrl}", restUrl: "${sim.restUrl}" }
feeds:
  - ${feed}
`,
  );
  const container = createContainer({ logger: silentLogger });
  const daemon = await startDaemon(await loadConfig(file, container), container, silentLogger);
  cleanups.push(() => daemon.stop());
  if (daemon.statusUrl === undefined) throw new Error('the daemon serves no status');
  return daemon as Daemon & { statusUrl: string };
}

/** One collector of `kind` as GET /status shows it. */
async function collectorStatus(daemon: { statusUrl: string }, kind: string): Promise<CollectorStatus> {
  const status = (await (await fetch(`${daemon.statusUrl}/status`)).json()) as ServiceStatus;
  const collector = status.collectors.find((c) => c.kind === kind);
  if (!collector) throw new Error(`no ${kind} collector in /status`);
  return collector;
}

/** The collector_dropped_total samples of GET /metrics for one collector, by reason. */
async function droppedMetrics(daemon: { statusUrl: string }, collector: string): Promise<Partial<DropCounts>> {
  const text = await (await fetch(`${daemon.statusUrl}/metrics`)).text();
  const counts: Partial<DropCounts> = {};
  for (const [, id, reason, value] of text.matchAll(/^collector_dropped_total\{collector="([^"]+)",kind="[^"]+",reason="([^"]+)"\} (\d+)$/gm)) {
    if (id === collector) counts[reason as keyof DropCounts] = Number(value);
  }
  return counts;
}

describe.each(having('trades'))('$exchange trades: input no market sends', ({ exchange, symbol }) => {
  const tradesKey = `trades:${exchange}:${symbol}`;

  it('stores no trade priced or sized 0, negative or beyond a double, keeps every other trade, and counts them as invalid in /status and /metrics', async () => {
    const sim = await simulator(exchange, symbol);
    const daemon = await daemonFor(`${exchange}-values`, exchange, sim, `{ name: t, exchange: ${exchange}, symbol: ${symbol}, collect: [trades] }`);
    const storage = daemon.storage as MemoryStorage;
    await vi.waitFor(async () => expect(await storedCount(storage, tradesKey)).toBeGreaterThan(0), WAIT);

    const bad = BAD_TRADES;
    sim.plantTradeValues(symbol, bad);
    const planted = new Set(bad.map((v) => v.price));
    await vi.waitFor(() => expect(sim.generatedTrades(symbol).filter((t) => planted.has(t.price))).toHaveLength(bad.length), WAIT);
    // Some good trades after the planted ones, then everything sent must be in.
    const after = sim.sent(symbol).count;
    await vi.waitFor(() => expect(sim.sent(symbol).count).toBeGreaterThan(after + 10), WAIT);
    sim.pause();
    const sent = sim.sent(symbol);
    const refused = sim.generatedTrades(symbol).filter((t) => planted.has(t.price));
    await vi.waitFor(async () => expect(await storedCount(storage, tradesKey)).toBe(sent.count - bad.length), WAIT);

    const samples = [...(await storedSamples(storage, tradesKey)).values()];
    expect(samples.reduce((sum, s) => sum + s.lots, 0)).toBe(toLots(sent.amount) - refused.reduce((sum, t) => sum + toLots(t.amount), 0));
    expect(samples.filter((s) => !(s.price > 100 && Number.isFinite(s.price)))).toEqual([]);

    const status = await collectorStatus(daemon, 'trades');
    expect(status.dropped).toEqual({ unparsed: 0, invalid: bad.length, oversized: 0, binary: 0, duplicate: 0 });
    expect(status.restarts).toBe(0);
    expect(await droppedMetrics(daemon, status.id)).toEqual({ unparsed: 0, invalid: bad.length, oversized: 0, binary: 0, duplicate: 0 });
  });

  it('skips a binary frame, drops a frame over its size limit unread and reconnects, counting both, and stores the trades after', async () => {
    const sim = await simulator(exchange, symbol);
    const daemon = await daemonFor(`${exchange}-frames`, exchange, sim, `{ name: t, exchange: ${exchange}, symbol: ${symbol}, collect: [trades] }`);
    const storage = daemon.storage as MemoryStorage;
    await vi.waitFor(async () => expect(await storedCount(storage, tradesKey)).toBeGreaterThan(0), WAIT);

    sim.sendBinary(Buffer.from([0x93, 0x01, 0xff, 0x00]));
    await vi.waitFor(async () => expect((await collectorStatus(daemon, 'trades')).dropped.binary).toBe(1), WAIT);
    expect((await collectorStatus(daemon, 'trades')).restarts).toBe(0);

    // One byte over the limit; ws reads the length from the frame header and refuses the payload unread.
    sim.sendMalformed(Buffer.alloc(builtInExchanges.get(exchange).maxFrameBytes + 1, 0x20));
    await vi.waitFor(async () => {
      const status = await collectorStatus(daemon, 'trades');
      expect(status.dropped.oversized).toBe(1);
      expect(status.state).toBe('running');
    }, WAIT);
    const status = await collectorStatus(daemon, 'trades');
    expect(status.restarts).toBe(1);
    expect(status.lastError).toMatch(/dropped a frame over the size limit.*reconnecting/);

    const before = await storedCount(storage, tradesKey);
    await vi.waitFor(async () => expect(await storedCount(storage, tradesKey)).toBeGreaterThan(before + 10), WAIT);
    expect(await droppedMetrics(daemon, status.id)).toMatchObject({ binary: 1, oversized: 1, unparsed: 0, invalid: 0 });
  });
});

describe.each(having('klines'))('$exchange klines: input no market sends', ({ exchange, symbol }) => {
  it('refuses a candle whose low is above its high, stores the others, and counts it as invalid', async () => {
    const sim = await simulator(exchange, symbol, { klineHoles: { invertedEvery: 7 } });
    const daemon = await daemonFor(`${exchange}-klines`, exchange, sim, `{ name: k, exchange: ${exchange}, symbol: ${symbol}, history: 1h, collect: ["klines:1m"] }`);
    const key = `klines:${exchange}:${symbol}:1m`;
    const stored = async () => daemon.storage.fetch(key, Date.now() - 3_600_000, Date.now());
    await vi.waitFor(async () => {
      expect((await collectorStatus(daemon, 'klines')).dropped.invalid).toBeGreaterThan(0);
      expect((await stored()).length).toBeGreaterThan(40);
    }, WAIT);
    const klines = await stored();
    const inverted = klines.filter(([, v]) => {
      const k = v as Record<string, number>;
      return k.low! > k.high!;
    });
    expect(inverted).toEqual([]);
    expect(klines.filter(([t]) => Math.floor(t / 60_000) % 7 === 0)).toEqual([]);
  });
});

describe('order books', () => {
  it('coinbase: a book update with a negative size is refused level by level and counted as invalid; the book stays in sync', async () => {
    const sim = await simulator('coinbase', 'BTC-USD');
    const daemon = await daemonFor('coinbase-book', 'coinbase', sim, '{ name: b, exchange: coinbase, symbol: BTC-USD, collect: [liquidity] }');
    const key = 'liquidity:coinbase:BTC-USD';
    const snapshots = async () => (await daemon.storage.fetch(key, 0, Date.now() + 1000)).length;
    await vi.waitFor(async () => expect(await snapshots()).toBeGreaterThan(0), WAIT);

    // An l2update as Coinbase frames it (ws_level2_snapshot_and_l2update_NU-GBP.jsonl), one change impossible.
    const time = new Date().toISOString();
    sim.sendMalformed(JSON.stringify({ type: 'l2update', product_id: 'BTC-USD', changes: [['buy', '1.00', '-0.5']], time }));
    await vi.waitFor(async () => expect((await collectorStatus(daemon, 'liquidity')).dropped.invalid).toBe(1), WAIT);
    const status = await collectorStatus(daemon, 'liquidity');
    expect(status.resyncs).toBe(0);
    expect(status.dropped).toEqual({ unparsed: 0, invalid: 1, oversized: 0, binary: 0, duplicate: 0 });
    const before = await snapshots();
    await vi.waitFor(async () => expect(await snapshots()).toBeGreaterThan(before + 1), WAIT);
  });
});
