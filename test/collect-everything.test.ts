import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startBinanceSimulator } from '../collectors/exchanges/binance/simulator/index.js';
import { loadConfig } from '../src/config/load.js';
import { createContainer } from '../src/container.js';
import { startDaemon, type Daemon } from '../src/daemon.js';
import { silentLogger } from '../common/logger.js';
import type { DataCollectionStorage } from '../storage/types.js';
import { simulatedExchanges } from './support/simulated-exchanges.js';
import { writeConfig } from './support/config-files.js';

// Everything a feed can collect from an exchange: trades, klines and its book over WebSocket.
const exchanges = simulatedExchanges('trades', 'klines', 'book');

const dir = mkdtempSync(join(tmpdir(), 'qc-everything-'));
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Starts a daemon in this process on a config written from `yaml`. */
async function daemonOn(name: string, yaml: string): Promise<Daemon> {
  const file = join(dir, `${name}.yaml`);
  writeConfig(file, yaml);
  const container = createContainer({ logger: silentLogger });
  const daemon = await startDaemon(await loadConfig(file, container), container, silentLogger);
  cleanups.push(() => daemon.stop());
  return daemon;
}

/** Waits until every key has samples, or fails naming those that have none. */
async function untilStored(storage: DataCollectionStorage, keys: string[], ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const empty: string[] = [];
    for (const key of keys) if ((await storage.fetch(key, 0, Date.now() + 3_600_000)).length === 0) empty.push(key);
    if (empty.length === 0) return;
    if (Date.now() > end) throw new Error(`nothing stored for ${empty.join(', ')}`);
    await sleep(200);
  }
}

describe.each(exchanges)('a feed collecting everything on $name', ({ name: exchange, btc: symbol, start }) => {
  it('collect: [klines:1m, "candles:1m,5m,1h", liquidity] runs end to end against the simulator: trades, klines with history, candles and book snapshots stored, no collector failing', async () => {
    const sim = await start({ symbols: [symbol], tradesPerSecond: 20 });
    cleanups.push(() => sim.close());
    const daemon = await daemonOn(
      exchange,
      `storage: { kind: memory }
exchanges:
  ${exchange}: { wsUrl: "${sim.wsUrl}", restUrl: "${sim.restUrl}" }
feeds:
  - { name: everything, exchange: ${exchange}, symbol: ${symbol}, history: 1h, collect: ["klines:1m", "candles:1m,5m,1h", liquidity] }
`,
    );
    const keys = [`trades:${exchange}:${symbol}`, `klines:${exchange}:${symbol}:1m`, `candles:${exchange}:${symbol}:1m`, `candles:${exchange}:${symbol}:1h`, `liquidity:${exchange}:${symbol}`];
    await untilStored(daemon.storage, keys, 20_000);
    const klines = await daemon.storage.fetch(`klines:${exchange}:${symbol}:1m`, Date.now() - 3_600_000, Date.now());
    expect(klines.length).toBeGreaterThanOrEqual(55);
    const [, book] = (await daemon.storage.fetch(`liquidity:${exchange}:${symbol}`, 0, Date.now() + 1000)).at(-1)!;
    const b = book as Record<string, number>;
    expect(b.bid).toBeLessThan(b.ask!);
    expect(b.mid).toBeCloseTo((b.bid! + b.ask!) / 2, 6);
    const status = daemon.collector.status();
    expect(status.collectors.map((c) => c.kind).sort()).toEqual(['candles', 'klines', 'liquidity', 'trades']);
    expect(status.collectors.filter((c) => c.state !== 'running' || c.restarts > 0).map((c) => `${c.id}: ${c.lastError}`)).toEqual([]);
  });
});

describe('candles computed from trades agree with the klines the exchange serves', () => {
  it('Binance 1s: every closed bucket after the first trades has the same open, high, low, close, volume and trade count', async () => {
    const sim = await startBinanceSimulator({ symbols: ['BTC-USDT'], tradesPerSecond: 40 });
    cleanups.push(() => sim.close());
    const daemon = await daemonOn(
      'agree',
      `storage: { kind: memory }
exchanges:
  binance: { wsUrl: "${sim.wsUrl}", restUrl: "${sim.restUrl}" }
feeds:
  - { name: btc, exchange: binance, symbol: BTC-USDT, collect: ["klines:1s", "candles:1s"] }
`,
    );
    await untilStored(daemon.storage, ['candles:binance:BTC-USDT:1s'], 10_000);
    const firstCandle = (await daemon.storage.fetch('candles:binance:BTC-USDT:1s', 0, Date.now()))[0]![0];
    // The bucket the subscription started in saw only part of its trades; the next ones saw all.
    const from = firstCandle + 1000;
    const to = from + 5000;
    while (Date.now() < to + 4000) await sleep(200);
    const candles = await daemon.storage.fetch('candles:binance:BTC-USDT:1s', from, to);
    const klines = new Map(await daemon.storage.fetch('klines:binance:BTC-USDT:1s', from, to));
    expect(candles.length).toBe(6);
    for (const [t, candle] of candles) {
      const c = candle as Record<string, number>;
      const k = klines.get(t) as Record<string, number> | undefined;
      expect(k, `kline at ${t}`).toBeDefined();
      expect({ t, open: c.open, high: c.high, low: c.low, close: c.close, trades: c.trades }).toEqual({ t, open: k!.open, high: k!.high, low: k!.low, close: k!.close, trades: k!.trades });
      expect(c.volume).toBeCloseTo(k!.volume!, 8);
    }
  });
});
