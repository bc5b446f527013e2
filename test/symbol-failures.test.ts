import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { binance } from '../collectors/exchanges/binance/index.js';
import { startBinanceSimulator } from '../collectors/exchanges/binance/simulator.js';
import { binanceTrades } from '../collectors/exchanges/binance/trades.js';
import { TradeStreamCollector } from '../collectors/trades/trade-stream.js';
import type { ServiceStatus } from '../src/data-collector.js';
import { MemoryStorage } from '../storage/memory.js';
import { collector, daemonTestbed, startCollectorDaemon } from './support/cli.js';
import { trackRun } from './support/run-tracking.js';
import { useSimulator } from './support/simulator-harness.js';
import { storedCount } from './support/trade-samples.js';

const WAIT = { timeout: 15_000 };

describe('a symbol the exchange does not list, in a running daemon', () => {
  const { dir, sims, daemons } = daemonTestbed('qc-symbol-');

  it('fails alone: the listed symbol keeps being stored, /status, /health and `collector status` show the unlisted one failed with the reason', async () => {
    const sim = await startBinanceSimulator({ symbols: ['BTC-USDT', 'ETH-USDT'], tradesPerSecond: 100 });
    sims.push(sim);
    const config = join(dir, 'unlisted.yaml');
    writeFileSync(
      config,
      `storage: { kind: sqlite, path: ./unlisted.db }
http: { listen: 127.0.0.1:0 }
exchanges:
  binance: { wsUrl: "${sim.wsUrl}", restUrl: "${sim.restUrl}" }
feeds:
  - { name: btc, exchange: binance, symbol: BTC-USDT, collect: [trades] }
  - { name: nope, exchange: binance, symbol: ZZZNOPE-USDT, collect: [trades] }
`,
    );
    const daemon = await startCollectorDaemon(['--config', config]);
    daemons.push(daemon);
    const status = async () => (await (await fetch(`${daemon.statusUrl}/status`)).json()) as ServiceStatus;

    // BTC-USDT is stored, and goes on being stored.
    await vi.waitFor(async () => expect((await status()).collectors[0]!.itemsStored).toBeGreaterThan(50), WAIT);
    const before = (await status()).collectors[0]!.itemsStored;
    await vi.waitFor(async () => expect((await status()).collectors[0]!.itemsStored).toBeGreaterThan(before + 50), WAIT);

    const [trades] = (await status()).collectors;
    expect(trades).toMatchObject({ id: 'trades:binance', state: 'running', restarts: 0, lastError: null });
    expect(trades!.failedSeries).toEqual([
      {
        key: 'trades:binance:ZZZNOPE-USDT',
        symbol: 'ZZZNOPE-USDT',
        state: 'failed',
        reason: 'binance does not list ZZZNOPE-USDT (ZZZNOPEUSDT); close listed ones: BTC-USDT, ETH-USDT',
        since: expect.any(String),
        nextRetryAt: expect.any(String),
      },
    ]);
    // Retried slowly: minutes after it failed, not at once.
    const { since, nextRetryAt } = trades!.failedSeries[0]!;
    expect(Date.parse(nextRetryAt) - Date.parse(since)).toBeGreaterThanOrEqual(4 * 60_000);

    const health = await fetch(`${daemon.statusUrl}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'degraded', degraded: ['trades:binance'] });

    const shown = await collector(['status', '--url', daemon.statusUrl]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/trades:binance\s+trades:binance:ZZZNOPE-USDT\s+\S+ ago\s+in \S+\s+binance does not list ZZZNOPE-USDT \(ZZZNOPEUSDT\); close listed ones: BTC-USDT, ETH-USDT/);

    daemon.child.kill('SIGINT');
    expect(await daemon.exited).toBe(0);
  }, 60_000);
});

describe('a symbol delisted while collected', () => {
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

describe('a symbol refused at subscribe', () => {
  const simulator = useSimulator(startBinanceSimulator);
  const collectorFor = (symbols: string[]) =>
    new TradeStreamCollector({ id: 'trades:binance', protocol: binanceTrades, symbols, wsUrl: simulator.current().wsUrl, symbolRetryMs: 300 });

  it('is retried on the live connection and collected once the exchange accepts it, the others collecting throughout', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USDT', 'ETH-USDT'], tradesPerSecond: 100 });
    sim.refuseSymbol('ETH-USDT', 1_500);
    const trades = collectorFor(['BTC-USDT', 'ETH-USDT']);
    const storage = new MemoryStorage();
    const abort = new AbortController();
    const running = trackRun(trades.run(storage, abort.signal));
    try {
      await vi.waitFor(() => expect(trades.progress.failures.list()).toMatchObject([{ symbol: 'ETH-USDT', reason: expect.stringMatching(/^binance rejected the trades subscription for ETH-USDT \(request \d+\): code 2: Invalid request: invalid stream$/) }]), WAIT);
      await vi.waitFor(async () => expect(await storedCount(storage, 'trades:binance:BTC-USDT')).toBeGreaterThan(0), WAIT);
      expect(await storedCount(storage, 'trades:binance:ETH-USDT')).toBe(0);
      // The refusal ends: a retry subscribes it, on the same connection.
      await vi.waitFor(async () => expect(await storedCount(storage, 'trades:binance:ETH-USDT')).toBeGreaterThan(0), WAIT);
      expect(trades.progress.failures.list()).toEqual([]);
      expect(sim.connectionsOpened()).toBe(1);
      expect(running.settled()).toBe(false);
    } finally {
      abort.abort();
      await running.run;
    }
  });

  it('every symbol refused: the run fails naming each with its reason', async () => {
    const sim = await simulator.start({ symbols: ['BTC-USDT', 'ETH-USDT'], tradesPerSecond: 10 });
    sim.refuseSubscriptions();
    const trades = collectorFor(['BTC-USDT', 'ETH-USDT']);
    await expect(trades.run(new MemoryStorage(), new AbortController().signal)).rejects.toThrow(
      'binance rejected the trades subscription for BTC-USDT (request 2): code 2: Invalid request: invalid stream; binance rejected the trades subscription for ETH-USDT (request 3): code 2: Invalid request: invalid stream',
    );
    expect(trades.progress.failures.list().map((f) => f.key)).toEqual(['trades:binance:BTC-USDT', 'trades:binance:ETH-USDT']);
  });
});
