/**
 * High availability with whole daemons: 3 `collector run` processes share 300 trade streams of
 * 2 simulated exchanges through leases in a plain redis-server, storing into Redis TimeSeries.
 * One is killed with SIGKILL, one paused (SIGSTOP) past its lease, a fourth joins, the lease
 * Redis restarts without its data; in the end every series holds every generated trade once:
 * Binance and OKX serve past trades by id, so every gap is backfilled over REST; Bybit does not,
 * so its series hold every trade but those inside its gap records, exactly.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { builtInExchanges } from '../collectors/exchanges/index.js';
import type { ExchangeSimulator, SimulatorControls } from '../collectors/simulator/controls.js';
import type { ServiceStatus } from '../src/data-collector.js';
import { RedisTimeSeriesStorage } from '../storage/redis-timeseries/index.js';
import { daemonTestbed, startCollectorDaemon, type RunningDaemon } from './support/cli.js';
import { RedisServer, SKIP_MESSAGE, timeSeriesTarget } from './support/redis-server.js';
import { writeConfig } from './support/config-files.js';

// Binance and OKX serve past trades by id (every gap backfilled); Bybit does not (gap records).
const EXCHANGES = ['binance', 'okx', 'bybit'] as const;
const SYMBOLS_OF: Record<(typeof EXCHANGES)[number], number> = { binance: 125, okx: 125, bybit: 50 };
const SYMBOLS = Array.from({ length: 125 }, (_, i) => `C${i}-USDT`);
const symbolsOf = (exchange: (typeof EXCHANGES)[number]) => SYMBOLS.slice(0, SYMBOLS_OF[exchange]);
const TTL_MS = 3_000;
const UNIT_SYMBOLS = 25; // 5 + 5 + 2 units, 12 in all

type Simulator = ExchangeSimulator & Pick<SimulatorControls<unknown>, 'generated' | 'generatedTrades' | 'pause' | 'resume'>;

const bed = daemonTestbed('qc-cluster-');
const timeSeries = timeSeriesTarget();
if (!timeSeries) console.warn(`${SKIP_MESSAGE} (cluster of daemons)`);

async function status(daemon: RunningDaemon): Promise<ServiceStatus> {
  const res = await fetch(`${daemon.statusUrl}/status`, { signal: AbortSignal.timeout(2_000) });
  return (await res.json()) as ServiceStatus;
}

/** Units running with data stored since their start, per live daemon. */
async function runningUnits(daemons: readonly RunningDaemon[]): Promise<Map<string, string>> {
  const running = new Map<string, string>();
  for (const daemon of daemons) {
    const s = await status(daemon).catch(() => undefined);
    for (const unit of s?.cluster?.units ?? []) {
      if (unit.owner !== s!.cluster!.node) continue;
      const delivering = unit.collectors.every((id) => s!.collectors.find((c) => c.id === id)?.state === 'running');
      if (delivering) running.set(unit.unit, s!.cluster!.node);
    }
  }
  return running;
}

async function until(what: string, done: () => Promise<boolean>, ms: number): Promise<number> {
  const start = Date.now();
  while (!(await done())) {
    if (Date.now() - start > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(100);
  }
  return Date.now() - start;
}

describe('a cluster of daemons', () => {
  it.skipIf(!timeSeries)(
    'keeps 300 streams collected through kill -9, SIGSTOP past the lease, a fourth daemon and a lease-store restart: every trade stored once',
    async () => {
      const storageRedis = timeSeries!.url ?? (await RedisServer.start({ module: timeSeries!.module })).url;
      const leaseRedis = await RedisServer.start();
      const sims: Simulator[] = [];
      for (const exchange of EXCHANGES) {
        const sim = (await builtInExchanges.get(exchange).simulator!({ symbols: symbolsOf(exchange), tradesPerSecond: 1 })) as Simulator;
        sim.pause();
        sims.push(sim);
        bed.sims.push(sim);
      }
      const exchanges = EXCHANGES.map((e, i) => `  ${e}: { wsUrl: "${sims[i]!.wsUrl}", restUrl: "${sims[i]!.restUrl}" }`).join('\n');
      const feeds = EXCHANGES.flatMap((e) => symbolsOf(e).map((s) => `  - { name: ${e}-${s}, exchange: ${e}, symbol: ${s}, collect: [trades] }`)).join('\n');
      const configOf = (node: string) => {
        const file = join(bed.dir, `${node}.yaml`);
        writeConfig(
          file,
          `storage: { kind: redis-timeseries, url: "${storageRedis}" }\nhttp: { listen: 127.0.0.1:0 }\n` +
            `cluster: { url: "${leaseRedis.url}", node: ${node}, leaseTtl: ${TTL_MS}ms, unitSymbols: ${UNIT_SYMBOLS} }\n` +
            `exchanges:\n${exchanges}\nfeeds:\n${feeds}\n`,
        );
        return file;
      };
      const start = async (node: string) => {
        const daemon = await startCollectorDaemon(['--config', configOf(node)]);
        bed.daemons.push(daemon);
        return daemon;
      };
      const live = [await start('d1'), await start('d2'), await start('d3')];
      await until('12 units running, 4 on each daemon', async () => {
        const running = await runningUnits(live);
        return running.size === 12 && ['d1', 'd2', 'd3'].every((n) => [...running.values()].filter((o) => o === n).length === 4);
      }, 20_000);
      await sleep(1_000); // subscribed
      sims.forEach((sim) => sim.resume());
      await sleep(2_000);

      // kill -9: the others run its units within the TTL plus a few seconds.
      live[0]!.child.kill('SIGKILL');
      await live[0]!.exited;
      live.shift();
      const takeover = await until('every unit running again', async () => (await runningUnits(live)).size === 12, TTL_MS + 5_000);
      console.log(`takeover after kill -9: ${takeover} ms (lease TTL ${TTL_MS} ms)`);

      // SIGSTOP past the lease: the others take over; once resumed it writes nothing (fenced) and stops its units.
      const paused = live[0]!;
      paused.child.kill('SIGSTOP');
      const others = live.slice(1);
      others.push(await start('d4'));
      await until('the paused daemon’s units running elsewhere', async () => (await runningUnits(others)).size === 12, TTL_MS + 8_000);
      await sleep(1_000);
      paused.child.kill('SIGCONT');
      await until('the resumed daemon gives its units up', async () => (await status(paused)).cluster!.leasesLost > 0, 5_000);
      const all = [paused, ...others];
      await until('every unit running once', async () => (await runningUnits(all)).size === 12, 10_000);

      // The lease store restarts without its data: the daemons keep going.
      await leaseRedis.stop({ save: false });
      await sleep(500);
      await leaseRedis.restart();
      await sleep(TTL_MS);
      await until('every unit running after the lease store restarted', async () => (await runningUnits(all)).size === 12, 10_000);
      // Balanced again: 4 units on each of the 3 live daemons.
      await until('4 units on each live daemon', async () => {
        const owners = [...(await runningUnits(all)).values()];
        return ['d2', 'd3', 'd4'].every((n) => owners.filter((o) => o === n).length === 4);
      }, 10_000).catch(async (err: unknown) => {
        const views = await Promise.all(all.map(async (d) => JSON.stringify((await status(d)).cluster?.members)));
        throw new Error(`${(err as Error).message}: ${views.join(' | ')}`);
      });

      // The market stops; each series must hold every generated trade exactly once.
      await sleep(2_000);
      sims.forEach((sim) => sim.pause());
      const storage = await RedisTimeSeriesStorage.open({ url: storageRedis, readOnly: true });
      try {
        const gapsOf = async (exchange: string, symbol: string) =>
          (await storage.fetch(`gaps:${exchange}:${symbol}`, 0, Date.now() + 60_000)).map(([, v]) => [(v as Record<string, number>).from_time!, (v as Record<string, number>).to_time!] as const);
        // Generated trades the exchange's history could not give back: those strictly inside a gap record.
        const expected = async (i: number, symbol: string) => {
          const gaps = EXCHANGES[i] === 'bybit' ? await gapsOf('bybit', symbol) : [];
          const kept = sims[i]!.generatedTrades(symbol).filter((t) => !gaps.some(([from, to]) => t.time > from && t.time < to));
          return { count: kept.length, amount: kept.reduce((sum, t) => sum + Number(t.amount), 0) };
        };
        const tally = async (exchange: string, symbol: string) => {
          const rows = await storage.fetch(`trades:${exchange}:${symbol}`, 0, Date.now() + 60_000);
          let count = 0;
          let amount = 0;
          for (const [, v] of rows) {
            const r = v as Record<string, number>;
            count += r.count!;
            amount += r.amount!;
          }
          return { count, amount };
        };
        const short = async () => {
          for (const [i, exchange] of EXCHANGES.entries()) {
            for (const symbol of symbolsOf(exchange)) if ((await tally(exchange, symbol)).count < (await expected(i, symbol)).count) return `${exchange} ${symbol}`;
          }
          return undefined;
        };
        // Every handover backfills its symbols over REST within the exchange's weight budget (Binance:
        // historicalTrades weighs 25 of 6,000 a minute), shared by all daemons: the last can take a minute.
        await until('every trade stored', async () => (await short()) === undefined, 120_000).catch(async (err: unknown) => {
          const which = await short();
          const [exchange, symbol] = which?.split(' ') ?? [];
          const i = EXCHANGES.indexOf(exchange as 'binance');
          // What the daemons said about it, to tell a lost trade from a refused or unfetched one.
          const said = bed.daemons.flatMap((d) => d.stderr().split('\n')).filter((line) => line.includes(`"${symbol}"`) || /"level":(40|50)/.test(line));
          const stored = await tally(exchange!, symbol!);
          const want = await expected(i, symbol!);
          throw new Error(
            `${(err as Error).message}: ${which} is short: stored ${stored.count} of ${want.count}, gaps ${JSON.stringify(await gapsOf(exchange!, symbol!))}\n${said.slice(-40).join('\n')}`,
          );
        });
        await Promise.all(all.map(async (d) => (d.child.kill('SIGINT'), expect(await d.exited).toBe(0))));
        let generatedTrades = 0;
        let gapRecords = 0;
        for (const [i, exchange] of EXCHANGES.entries()) {
          for (const symbol of symbolsOf(exchange)) {
            generatedTrades += sims[i]!.generated(symbol).count;
            gapRecords += (await gapsOf(exchange, symbol)).length;
            const want = await expected(i, symbol);
            const got = await tally(exchange, symbol);
            expect({ series: `${exchange}:${symbol}`, count: got.count }).toEqual({ series: `${exchange}:${symbol}`, count: want.count });
            expect(got.amount).toBeCloseTo(want.amount, 6);
          }
        }
        expect(generatedTrades).toBeGreaterThan(300 * 10);
        // The killed and the paused daemons left Bybit gaps; the exchanges with history none.
        expect(gapRecords).toBeGreaterThan(0);
        for (const exchange of ['binance', 'okx']) for (const symbol of symbolsOf(exchange as 'binance')) expect(await gapsOf(exchange, symbol)).toEqual([]);
      } finally {
        await storage.close();
      }
    },
    330_000,
  );

  it.skipIf(!timeSeries)('static shards: two daemons with shard 1/2 and 2/2 run disjoint units that together are all of them', async () => {
    const storageRedis = timeSeries!.url ?? (await RedisServer.start({ module: timeSeries!.module })).url;
    const symbols = SYMBOLS.slice(0, 40);
    const sim = (await builtInExchanges.get('binance').simulator!({ symbols, tradesPerSecond: 2 })) as Simulator;
    bed.sims.push(sim);
    const feeds = symbols.map((s) => `  - { name: ${s}, exchange: binance, symbol: ${s}, collect: [trades] }`).join('\n');
    const shard = async (index: number) => {
      const file = join(bed.dir, `shard-${index}.yaml`);
      writeConfig(
        file,
        `storage: { kind: redis-timeseries, url: "${storageRedis}" }\nhttp: { listen: 127.0.0.1:0 }\ncluster: { shard: ${index}/2, unitSymbols: 5 }\n` +
          `exchanges:\n  binance: { wsUrl: "${sim.wsUrl}", restUrl: "${sim.restUrl}" }\nfeeds:\n${feeds}\n`,
      );
      const daemon = await startCollectorDaemon(['--config', file]);
      bed.daemons.push(daemon);
      return daemon;
    };
    const daemons = [await shard(1), await shard(2)];
    await until('8 units running', async () => (await runningUnits(daemons)).size === 8, 15_000);
    const [one, two] = await Promise.all(daemons.map(status));
    const mine = (s: ServiceStatus) => s.cluster!.units.filter((u) => u.owner === s.cluster!.node).map((u) => u.unit);
    expect(one!.cluster).toMatchObject({ mode: 'static', shard: '1/2' });
    expect([...mine(one!), ...mine(two!)].sort()).toEqual(one!.cluster!.units.map((u) => u.unit).sort());
    expect(mine(one!).length).toBeGreaterThan(0);
    expect(mine(two!).length).toBeGreaterThan(0);
    // What shard 2 runs is standby on shard 1.
    for (const unit of mine(two!)) expect(one!.collectors.find((c) => c.id === unit)?.state).toBe('standby');
    await Promise.all(daemons.map(async (d) => (d.child.kill('SIGINT'), expect(await d.exited).toBe(0))));
  }, 60_000);
});
