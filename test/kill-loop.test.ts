/**
 * Exactly once under crashes: a daemon collecting trades from every exchange that serves past
 * trades by id is killed with SIGKILL at random moments and restarted on the same storage; in the
 * end each series holds every trade the exchange generated, once (count and summed amount).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import type { ExchangeSimulator, SimulatorControls } from '../collectors/simulator/controls.js';
import { collector, startCollectorDaemon, type RunningDaemon } from './support/cli.js';
import { disposeRedisServers, RedisServer, SKIP_MESSAGE, timeSeriesTarget } from './support/redis-server.js';
import { simulatedExchanges } from './support/simulated-exchanges.js';
import { writeConfig } from './support/config-files.js';

// The exchanges whose trades can be fetched by id after an outage (the others record gaps), each collected on its BTC symbol.
const EXCHANGES = simulatedExchanges('trades', 'tradeHistory');
const KILLS = 10;

type Simulator = ExchangeSimulator & Pick<SimulatorControls<unknown>, 'generated' | 'connections'>;
type TradeRow = [number, { amount: number; count: number }];

const dir = mkdtempSync(join(tmpdir(), 'qc-kill-loop-'));
const sims: Simulator[] = [];
let daemon: RunningDaemon | undefined;
afterAll(async () => {
  daemon?.child.kill('SIGKILL');
  await Promise.all(sims.map((s) => s.close()));
  await disposeRedisServers();
});

const timeSeries = timeSeriesTarget();
if (!timeSeries) console.warn(`${SKIP_MESSAGE} (kill -9 loop on redis-timeseries)`);

const backends: Array<{ name: string; skip?: string; storage: () => Promise<string> }> = [
  { name: 'sqlite', storage: async () => '{ kind: sqlite, path: ./kill-loop.db }' },
  {
    name: 'redis-timeseries',
    skip: timeSeries ? undefined : SKIP_MESSAGE,
    storage: async () => {
      const url = timeSeries!.url ?? (await RedisServer.start({ module: timeSeries!.module })).url;
      return `{ kind: redis-timeseries, url: "${url}" }`;
    },
  },
];

describe.each(backends)('kill -9 in a loop, into $name', ({ name, skip, storage }) => {
  it.skipIf(skip !== undefined)(
    `stores every generated trade exactly once through ${KILLS} kills at random moments (count and summed amount per series)`,
    async () => {
      const started: Simulator[] = [];
      for (const { btc, start } of EXCHANGES) {
        const sim = await start<Simulator>({ symbols: [btc], tradesPerSecond: 40 });
        sim.pause(); // nothing generated before the first daemon has subscribed
        started.push(sim);
        sims.push(sim);
      }
      const config = join(dir, `${name}.yaml`);
      const exchanges = EXCHANGES.map((e, i) => `  ${e.name}: { wsUrl: "${started[i]!.wsUrl}", restUrl: "${started[i]!.restUrl}" }`).join('\n');
      const feeds = EXCHANGES.map((e) => `  - { name: ${e.name}, exchange: ${e.name}, symbol: ${e.btc}, collect: [trades] }`).join('\n');
      writeConfig(config, `storage: ${await storage()}\nhttp: { listen: 127.0.0.1:0 }\nexchanges:\n${exchanges}\nfeeds:\n${feeds}\n`);

      daemon = await startCollectorDaemon(['--config', config]);
      for (const sim of started) while (sim.connections() === 0) await sleep(50);
      await sleep(1_500); // subscribed (acks come within milliseconds on loopback)
      started.forEach((sim) => sim.resume());

      for (let kill = 0; kill < KILLS; kill++) {
        // Random moments: mid-stream, mid-backfill, right after start.
        await sleep(500 + Math.random() * 3_000);
        daemon.child.kill('SIGKILL');
        await daemon.exited;
        daemon = await startCollectorDaemon(['--config', config]);
      }

      // The last run catches up, then the market stops and the daemon stops cleanly.
      await sleep(3_000);
      started.forEach((sim) => sim.pause());
      const stored = async (i: number) => {
        const key = `trades:${EXCHANGES[i]!.name}:${EXCHANGES[i]!.btc}`;
        const { stdout } = await collector(['fetch', key, '0', 'now', '-c', config, '-f', 'json']);
        const rows = JSON.parse(stdout) as TradeRow[];
        return { count: rows.reduce((n, [, v]) => n + v.count, 0), amount: rows.reduce((n, [, v]) => n + v.amount, 0) };
      };
      // Each read is a CLI process: the series are read side by side.
      await Promise.all(
        EXCHANGES.map(async ({ btc }, i) => {
          const want = started[i]!.generated(btc).count;
          for (let wait = 0; wait < 40 && (await stored(i)).count < want; wait++) await sleep(250);
        }),
      );
      daemon.child.kill('SIGINT');
      expect(await daemon.exited).toBe(0);
      daemon = undefined;

      const final = await Promise.all(EXCHANGES.map((_, i) => stored(i)));
      for (let i = 0; i < EXCHANGES.length; i++) {
        const generated = started[i]!.generated(EXCHANGES[i]!.btc);
        const got = final[i]!;
        expect(generated.count).toBeGreaterThan(100);
        expect({ exchange: EXCHANGES[i]!.name, count: got.count }).toEqual({ exchange: EXCHANGES[i]!.name, count: generated.count });
        expect(got.amount).toBeCloseTo(generated.amount, 6);
      }
    },
    180_000,
  );
});
