import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { startBinanceSimulator } from '../collectors/exchanges/binance/simulator/index.js';
import { collector, daemonTestbed, expectEverySentTradeStored, startCollectorDaemon } from './support/cli.js';
import { RedisServer, SKIP_MESSAGE, timeSeriesTarget } from './support/redis-server.js';
import { writeConfig } from './support/config-files.js';

const { dir, sims, daemons } = daemonTestbed('qc-daemon-');

type TradeRow = [number, { price: number; amount: number; count: number; buy_amount: number; notional: number }];

const timeSeries = timeSeriesTarget();
if (!timeSeries) console.warn(`${SKIP_MESSAGE} (daemon end to end on redis-timeseries)`);

/** The storage block of a config for each backend another process can read. */
const backends: Array<{ name: string; skip?: string; storage: () => Promise<string> }> = [
  { name: 'sqlite', storage: async () => '{ kind: sqlite, path: ./sim.db }' },
  {
    name: 'redis-timeseries',
    skip: timeSeries ? undefined : SKIP_MESSAGE,
    storage: async () => {
      const url = timeSeries!.url ?? (await RedisServer.start({ module: timeSeries!.module })).url;
      return `{ kind: redis-timeseries, url: "${url}" }`;
    },
  },
];

describe.each(backends)('the daemon end to end against a simulated Binance, into $name', ({ name, skip, storage }) => {
  it.skipIf(skip !== undefined)('stores every trade sent, serves it to other processes while running, and loses nothing on Ctrl-C', async () => {
    const sim = await startBinanceSimulator({ symbols: ['BTC-USDT', 'ETH-USDT'], tradesPerSecond: 200, pingIntervalMs: 1_000 });
    sims.push(sim);
    const config = join(dir, `${name}.yaml`);
    writeConfig(
      config,
      `storage: ${await storage()}
http: { listen: 127.0.0.1:0 }
exchanges:
  binance: { wsUrl: "${sim.wsUrl}", restUrl: "${sim.restUrl}" }
feeds:
  - { name: btc-vwap, kind: trades-vwap, exchange: binance, symbol: BTC-USDT, window: 10s, staleAfter: 30s }
  - { name: btc-raw, exchange: binance, symbol: BTC-USDT, collect: [trades] }
  - { name: eth, exchange: binance, symbol: ETH-USDT, collect: [trades] }
`,
    );
    const daemon = await startCollectorDaemon(['--config', config]);
    daemons.push(daemon);

    // While it runs, another process reads what it stored.
    let rows: TradeRow[] = [];
    for (let i = 0; i < 100 && rows.length < 20; i++) {
      await sleep(100);
      rows = JSON.parse((await collector(['fetch', 'trades:binance:BTC-USDT', '-1h', 'now', '-c', config, '-f', 'json'])).stdout) as TradeRow[];
    }
    expect(rows.length).toBeGreaterThanOrEqual(20);
    const price = JSON.parse((await collector(['price', 'btc-vwap', '-c', config, '-f', 'json'])).stdout) as [number, number];
    expect(price[1]).toBeGreaterThan(0);
    const status = (await (await fetch(`${daemon.statusUrl}/status`)).json()) as { collectors: Array<{ id: string; state: string; keys: string[] }> };
    // Three feeds, two symbols, one exchange: one shared collector.
    expect(status.collectors).toHaveLength(1);
    expect(status.collectors[0]).toMatchObject({ id: 'trades:binance', state: 'running' });
    expect(status.collectors[0]!.keys.sort()).toEqual(['trades:binance:BTC-USDT', 'trades:binance:ETH-USDT']);

    // Stop the market, let the last frames arrive, then Ctrl-C: everything sent must be stored.
    await expectEverySentTradeStored(daemon, sim, config, ['BTC-USDT', 'ETH-USDT']);
  }, 90_000); // a daemon and several CLI processes, each its own Node start-up
});
