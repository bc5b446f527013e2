import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { binance } from '../collectors/exchanges/binance/index.js';
import { startBinanceSimulator } from '../collectors/exchanges/binance/simulator/index.js';
import { binanceTrades } from '../collectors/exchanges/binance/trades.js';
import type { ExchangeSimulator, SimulatorControls, SimulatorStartOptions } from '../collectors/simulator/controls.js';
import { TradeStreamCollector } from '../collectors/trades/trade-stream.js';
import type { CollectorStatus, ServiceStatus } from '../src/data-collector.js';
import { MemoryStorage } from '../storage/memory.js';
import { collector, daemonTestbed, startCollectorDaemon } from './support/cli.js';
import { trackRun } from './support/run-tracking.js';
import { simulatedExchanges, type SimulatedExchange } from './support/simulated-exchanges.js';
import { useSimulator } from './support/simulator-harness.js';
import { storedCount } from './support/trade-samples.js';
import { writeConfig } from './support/config-files.js';

const WAIT = { timeout: 15_000 };

type TradesSimulator = ExchangeSimulator & SimulatorControls<unknown>;

describe('a symbol the exchange does not list, in a running daemon collecting from every exchange with an instrument list', () => {
  const { dir, sims, daemons } = daemonTestbed('qc-symbol-');
  const listing = simulatedExchanges('trades', 'instruments');

  it('fails alone on each: the listed symbol keeps being stored, /status, /health and `collector status` show the unlisted one failed with the reason', async () => {
    const started = await Promise.all(listing.map(({ btc, eth, start }) => start<TradesSimulator>({ symbols: [btc, eth], tradesPerSecond: 100 })));
    sims.push(...started);
    const config = join(dir, 'unlisted.yaml');
    const exchanges = listing.map(({ name }, i) => `  ${name}: { wsUrl: "${started[i]!.wsUrl}", restUrl: "${started[i]!.restUrl}" }`);
    const feeds = listing.flatMap(({ name, btc, symbol }) => [
      `  - { name: ${name}-btc, exchange: ${name}, symbol: ${btc}, collect: [trades] }`,
      `  - { name: ${name}-nope, exchange: ${name}, symbol: ${symbol('ZZZNOPE')}, collect: [trades] }`,
    ]);
    writeConfig(config, `storage: { kind: sqlite, path: ./unlisted.db }\nhttp: { listen: 127.0.0.1:0 }\nexchanges:\n${exchanges.join('\n')}\nfeeds:\n${feeds.join('\n')}\n`);
    const daemon = await startCollectorDaemon(['--config', config]);
    daemons.push(daemon);
    const status = async () => (await (await fetch(`${daemon.statusUrl}/status`)).json()) as ServiceStatus;
    const tradesOf = async (name: string): Promise<CollectorStatus> => (await status()).collectors.find((c) => c.id === `trades:${name}`)!;
    /** Why `name` fails ZZZNOPE: it does not list it, in its own spelling where that differs; its two listed symbols are the close ones. */
    const reasonOf = ({ name, exchange, btc, eth, symbol }: SimulatedExchange): string => {
      const [unified, spelled] = [symbol('ZZZNOPE'), exchange.symbols.toExchange(symbol('ZZZNOPE'))];
      return `${name} does not list ${unified}${spelled === unified ? '' : ` (${spelled})`}; close listed ones: ${btc}, ${eth}`;
    };

    // Each BTC symbol is stored, and goes on being stored.
    await Promise.all(
      listing.map(async ({ name }) => {
        await vi.waitFor(async () => expect((await tradesOf(name)).itemsStored).toBeGreaterThan(50), WAIT);
        const before = (await tradesOf(name)).itemsStored;
        await vi.waitFor(async () => expect((await tradesOf(name)).itemsStored).toBeGreaterThan(before + 50), WAIT);
      }),
    );

    for (const exchange of listing) {
      const { name } = exchange;
      const trades = await tradesOf(name);
      expect(trades).toMatchObject({ id: `trades:${name}`, state: 'running', restarts: 0, lastError: null });
      expect(trades.failedSeries).toEqual([
        {
          key: `trades:${name}:${exchange.symbol('ZZZNOPE')}`,
          symbol: exchange.symbol('ZZZNOPE'),
          state: 'failed',
          reason: reasonOf(exchange),
          since: expect.any(String),
          nextRetryAt: expect.any(String),
        },
      ]);
      // Retried slowly: minutes after it failed, not at once.
      const { since, nextRetryAt } = trades.failedSeries[0]!;
      expect(Date.parse(nextRetryAt) - Date.parse(since)).toBeGreaterThanOrEqual(4 * 60_000);
    }

    const health = await fetch(`${daemon.statusUrl}/health`);
    expect(health.status).toBe(200);
    const { status: healthStatus, degraded } = (await health.json()) as { status: string; degraded: string[] };
    expect({ status: healthStatus, degraded: [...degraded].sort() }).toEqual({ status: 'degraded', degraded: listing.map(({ name }) => `trades:${name}`).sort() });

    const shown = await collector(['status', '--url', daemon.statusUrl]);
    expect(shown.code).toBe(0);
    const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    for (const exchange of listing) {
      const key = `trades:${exchange.name}:${exchange.symbol('ZZZNOPE')}`;
      expect(shown.stdout).toMatch(new RegExp(`trades:${exchange.name}\\s+${escape(key)}\\s+\\S+ ago\\s+in \\S+\\s+${escape(reasonOf(exchange))}`));
    }

    daemon.child.kill('SIGINT');
    expect(await daemon.exited).toBe(0);
  }, 60_000);
});

// Binance's alone: its simulator is the one that can delist a symbol.
describe('a symbol delisted while collected (Binance)', () => {
  const simulator = useSimulator(startBinanceSimulator);

  it('fails alone once the instrument list no longer lists it; the others go on', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USDT', 'ETH-USDT'], tradesPerSecond: 100 });
    const trades = new TradeStreamCollector({ id: 'trades:binance', protocol: binanceTrades, history: binance.capabilities.tradeHistory, instruments: binance.capabilities.instruments, symbols: ['BTC-USDT', 'ETH-USDT'], wsUrl: sim.wsUrl, restUrl: sim.restUrl, symbolRetryMs: 300 });
    const storage = new MemoryStorage();
    const abort = new AbortController();
    const running = trackRun(trades.run(storage, abort.signal));
    try {
      await vi.waitFor(async () => expect(await storedCount(storage, 'trades:binance:ETH-USDT')).toBeGreaterThan(0), WAIT);
      sim.delist('ETH-USDT');
      await vi.waitFor(() => expect(trades.progress.failures.list()).toMatchObject([{ key: 'trades:binance:ETH-USDT', reason: 'binance does not list ETH-USDT (ETHUSDT); close listed ones: BTC-USDT' }]), WAIT);
      const before = await storedCount(storage, 'trades:binance:BTC-USDT');
      await vi.waitFor(async () => expect(await storedCount(storage, 'trades:binance:BTC-USDT')).toBeGreaterThan(before), WAIT);
      expect(running.settled()).toBe(false);
    } finally {
      abort.abort();
      await running.run;
    }
  });
});

describe.each(simulatedExchanges('trades'))('$name: a symbol refused at subscribe', ({ name, exchange, btc, eth, start }) => {
  const simulator = useSimulator((options: SimulatorStartOptions) => start<TradesSimulator>(options));
  const collectorFor = (symbols: string[]) =>
    new TradeStreamCollector({ id: `trades:${name}`, protocol: exchange.capabilities.trades!, symbols, wsUrl: simulator.current().wsUrl, symbolRetryMs: 300 });
  const refusal = (symbol: string) => `${name} rejected the trades subscription for ${symbol}`;

  it('is retried on the live connection and collected once the exchange accepts it, the others collecting throughout', async () => {
    const sim = await simulator.start({ symbols: [btc, eth], tradesPerSecond: 100 });
    sim.refuseSymbol(eth); // until lifted below
    const trades = collectorFor([btc, eth]);
    const storage = new MemoryStorage();
    const abort = new AbortController();
    const running = trackRun(trades.run(storage, abort.signal));
    try {
      await vi.waitFor(() => expect(trades.progress.failures.list()).toMatchObject([{ symbol: eth, reason: expect.stringContaining(refusal(eth)) }]), WAIT);
      await vi.waitFor(async () => expect(await storedCount(storage, `trades:${name}:${btc}`)).toBeGreaterThan(0), WAIT);
      expect(await storedCount(storage, `trades:${name}:${eth}`)).toBe(0);
      // The refusal ends: a retry subscribes it, on the same connection (a run ends with its
      // connection, and none was rotated in).
      sim.refuseSymbol(eth, 0);
      await vi.waitFor(async () => expect(await storedCount(storage, `trades:${name}:${eth}`)).toBeGreaterThan(0), WAIT);
      expect(trades.progress.failures.list()).toEqual([]);
      expect(running.settled()).toBe(false);
      expect(trades.connectionRotations).toBe(0);
      expect(sim.connections()).toBe(1);
    } finally {
      abort.abort();
      await running.run;
    }
  });

  it('every symbol refused: the run fails naming each with its reason', async () => {
    const sim = await simulator.start({ symbols: [btc, eth], tradesPerSecond: 10 });
    sim.refuseSubscriptions();
    const trades = collectorFor([btc, eth]);
    const failed = await trades.run(new MemoryStorage(), new AbortController().signal).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failed).toBeInstanceOf(Error);
    const reasons = (failed as Error).message.split('; ');
    expect(reasons).toEqual([expect.stringContaining(refusal(btc)), expect.stringContaining(refusal(eth))]);
    expect(trades.progress.failures.list().map((f) => f.key)).toEqual([`trades:${name}:${btc}`, `trades:${name}:${eth}`]);
  });
});
