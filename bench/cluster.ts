/**
 * Cluster bench (`npm run bench -- cluster`), three figures of issue 14:
 * - takeover time: a daemon of two is killed with SIGKILL; time until the other holds the leases
 *   of every unit it ran, and until each of those units stores its first sample (after backfilling
 *   the missed trades over REST within Binance's weight limit), p50/p99 over BENCH_KILLS kills,
 *   against the bound the design promises for the leases (lease TTL + one renewal interval);
 * - lease traffic: Redis commands per second per 1,000 units, 3 coordinators holding 1,000 units
 *   in steady state (a plain redis-server's own command counter);
 * - aggregate trades/s of 1, 2 and 3 daemons against the same simulator, against what it
 *   generates. On this 2-core machine this shows the overhead of splitting, not the scale.
 * Real daemons write into Redis TimeSeries: without the module the bench prints SKIPPED.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { builtInExchanges } from '../collectors/exchanges/index.js';
import type { ExchangeSimulator, SimulatorControls } from '../collectors/simulator/controls.js';
import { CollectorProgress, type DataSourceCollector } from '../collectors/types.js';
import { silentLogger } from '../common/logger.js';
import { LeaseCoordinator } from '../src/cluster/coordinator.js';
import { LeaseStore } from '../src/cluster/lease-store.js';
import { workUnits } from '../src/cluster/units.js';
import { DataCollector, type ServiceStatus } from '../src/data-collector.js';
import { MemoryStorage } from '../storage/memory.js';
import { connectRedis } from '../storage/redis-timeseries/index.js';
import { disposeRedisServers, rawCommand, RedisServer, timeSeriesTarget } from './support/redis-server.js';
import { envInt, percentile, printJson, printTable, progress, row, type BenchRow } from './support/report.js';

const KILLS = envInt('BENCH_KILLS', 20);
const TTL_MS = envInt('BENCH_LEASE_TTL_MS', 3_000);
const LEASE_UNITS = 1_000;
const UNIT_SYMBOLS = 5;
const PAUSE_MS = envInt('BENCH_KILL_PAUSE_MS', 5_000);
const RATE_SECONDS = envInt('BENCH_RATE_SECONDS', 10);
const BIN = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'bin', 'collector.js');

type Simulator = ExchangeSimulator & Pick<SimulatorControls<unknown>, 'generated'>;

interface Daemon {
  child: ChildProcessWithoutNullStreams;
  url: string;
  exited: Promise<unknown>;
}

function startDaemon(config: string): Promise<Daemon> {
  const child = spawn(process.execPath, [BIN, 'run', '--config', config], { env: { ...process.env, LOG_LEVEL: 'info' } });
  const exited = new Promise((resolve) => child.on('close', resolve));
  let stderr = '';
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      const m = /status at (http:\/\/\S+)\/status/.exec(stderr);
      if (m) resolve({ child, url: m[1]!, exited });
    });
    void exited.then(() => reject(new Error(`daemon exited before starting:\n${stderr}`)));
  });
}

async function status(daemon: Daemon): Promise<ServiceStatus | undefined> {
  try {
    return (await (await fetch(`${daemon.url}/status`, { signal: AbortSignal.timeout(1_000) })).json()) as ServiceStatus;
  } catch {
    return undefined;
  }
}

/** Unit → owner, for units whose collectors all run and have stored data since `since`. */
async function delivering(daemons: readonly Daemon[], since = 0): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const d of daemons) {
    const s = await status(d);
    for (const u of s?.cluster?.units ?? []) {
      if (u.owner !== s!.cluster!.node) continue;
      const ok = u.collectors.every((id) => {
        const c = s!.collectors.find((x) => x.id === id);
        return c?.state === 'running' && c.lastDataAt !== null && Date.parse(c.lastDataAt) > since;
      });
      if (ok) out.set(u.unit, s!.cluster!.node);
    }
  }
  return out;
}

async function until(done: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(50);
  }
}

function configFile(dir: string, name: string, body: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, body);
  return file;
}

/** Per kill: when the survivor held every unit of the killed daemon, and per unit when it first stored a sample. */
interface Takeover {
  leasesMs: number;
  firstSampleMs: number[];
}

/** Kill → the survivor holds the killed daemon's units (leases), and each stores its first sample, KILLS times. */
async function takeovers(dir: string, storageUrl: string, leaseUrl: string, sim: Simulator, symbols: readonly string[]): Promise<Takeover[]> {
  const feeds = symbols.map((s) => `  - { name: ${s}, exchange: binance, symbol: ${s}, collect: [trades] }`).join('\n');
  const config = (node: string) =>
    configFile(
      dir,
      node,
      `storage: { kind: redis-timeseries, url: "${storageUrl}" }\nhttp: { listen: 127.0.0.1:0 }\n` +
        `cluster: { url: "${leaseUrl}", node: ${node}, leaseTtl: ${TTL_MS}ms, unitSymbols: ${UNIT_SYMBOLS} }\n` +
        `exchanges:\n  binance: { wsUrl: "${sim.wsUrl}", restUrl: "${sim.restUrl}" }\nfeeds:\n${feeds}\n`,
    );
  let serial = 0;
  const daemons = [await startDaemon(config(`n${++serial}`)), await startDaemon(config(`n${++serial}`))];
  const results: Takeover[] = [];
  const units = symbols.length / UNIT_SYMBOLS;
  try {
    for (let kill = 1; kill <= KILLS; kill++) {
      await until(async () => [...(await delivering(daemons)).values()].filter((o) => o === `n${serial}`).length === units / 2, 30_000, 'half the units on each daemon');
      // The exchange's REST weight budget refills between kills: each takeover backfills its symbols.
      await sleep(PAUSE_MS);
      const victim = daemons.shift()!;
      const lost = [...(await delivering([victim])).keys()];
      victim.child.kill('SIGKILL');
      const killedAt = Date.now();
      await victim.exited;
      const firstSample = new Map<string, number>();
      let leasesMs: number | undefined;
      await until(async () => {
        const s = await status(daemons[0]!);
        const held = new Set(s?.cluster?.units.filter((u) => u.owner === s.cluster!.node).map((u) => u.unit));
        if (leasesMs === undefined && lost.every((u) => held.has(u))) leasesMs = Date.now() - killedAt;
        for (const unit of (await delivering(daemons, killedAt)).keys()) if (!firstSample.has(unit)) firstSample.set(unit, Date.now() - killedAt);
        return lost.every((u) => firstSample.has(u));
      }, 60_000, 'takeover');
      const result = { leasesMs: leasesMs!, firstSampleMs: lost.map((u) => firstSample.get(u)!) };
      results.push(result);
      progress(`kill ${kill}/${KILLS}: leases held after ${result.leasesMs} ms, first samples after ${result.firstSampleMs.join(', ')} ms`);
      daemons.push(await startDaemon(config(`n${++serial}`)));
    }
  } finally {
    daemons.forEach((d) => d.child.kill('SIGKILL'));
    await Promise.all(daemons.map((d) => d.exited));
  }
  return results;
}

/**
 * Lease traffic per 1,000 units, 3 coordinators in this process sharing LEASE_UNITS idle units:
 * round trips the daemons send, and commands Redis runs (those inside the scripts included).
 */
async function leaseTraffic(): Promise<{ roundTrips: number; redisCommands: number }> {
  const redis = await RedisServer.start();
  const stops: Array<() => Promise<unknown>> = [];
  try {
    const idle = (id: string): DataSourceCollector => ({
      id,
      kind: 'idle',
      keys: [`idle:${id}`],
      progress: new CollectorProgress(),
      run: (_storage, signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true })),
    });
    const coordinators: LeaseCoordinator[] = [];
    for (const node of ['a', 'b', 'c']) {
      const collectors = Array.from({ length: LEASE_UNITS }, (_, i) => idle(`unit-${i}`));
      const storage = new MemoryStorage();
      const collector = new DataCollector(collectors, storage, { managed: true, logger: silentLogger });
      collector.start();
      const { connection } = await connectRedis({ url: redis.url, connectTimeoutMs: 5_000 });
      const coordinator = new LeaseCoordinator({ node, leaseTtlMs: TTL_MS, leases: new LeaseStore(connection), units: workUnits(collectors), collector, storage, logger: silentLogger });
      await coordinator.start();
      coordinators.push(coordinator);
      stops.push(async () => {
        await coordinator.stop();
        await collector.stop();
        connection.destroy();
      });
    }
    // Settled: every unit held, then count over whole renewal intervals.
    await sleep(TTL_MS * 3);
    const commands = async () => Number(/total_commands_processed:(\d+)/.exec(await rawCommand(redis.port, ['INFO', 'stats']))![1]);
    const roundTrips = () => coordinators.reduce((n, c) => n + c.status().leaseCommands, 0);
    const [before, tripsBefore] = [await commands(), roundTrips()];
    const started = Date.now();
    await sleep(RATE_SECONDS * 1000);
    const seconds = (Date.now() - started) / 1000;
    const per1000 = LEASE_UNITS / 1000;
    return { roundTrips: (roundTrips() - tripsBefore) / seconds / per1000, redisCommands: ((await commands()) - before - 1) / seconds / per1000 };
  } finally {
    for (const stop of stops) await stop();
    await redis.dispose();
  }
}

/** Trades stored per second by `count` daemons sharing the simulator's symbols. */
async function aggregate(dir: string, count: number, storageUrl: string, leaseUrl: string, sim: Simulator, symbols: readonly string[]): Promise<number> {
  const feeds = symbols.map((s) => `  - { name: ${s}, exchange: binance, symbol: ${s}, collect: [trades] }`).join('\n');
  const daemons: Daemon[] = [];
  try {
    for (let i = 1; i <= count; i++) {
      const file = configFile(
        dir,
        `agg-${count}-${i}`,
        `storage: { kind: redis-timeseries, url: "${storageUrl}" }\nhttp: { listen: 127.0.0.1:0 }\n` +
          `cluster: { url: "${leaseUrl}", node: agg-${count}-${i}, leaseTtl: ${TTL_MS}ms, unitSymbols: 5 }\n` +
          `exchanges:\n  binance: { wsUrl: "${sim.wsUrl}", restUrl: "${sim.restUrl}" }\nfeeds:\n${feeds}\n`,
      );
      daemons.push(await startDaemon(file));
    }
    await until(async () => (await delivering(daemons)).size === symbols.length / 5 && new Set((await delivering(daemons)).values()).size === count, 30_000, 'units spread');
    const written = async () => (await Promise.all(daemons.map(status))).reduce((n, s) => n + (s?.collectors ?? []).reduce((m, c) => m + c.itemsStored, 0), 0);
    const before = await written();
    const started = Date.now();
    await sleep(RATE_SECONDS * 1000);
    return ((await written()) - before) / ((Date.now() - started) / 1000);
  } finally {
    for (const d of daemons) d.child.kill('SIGINT');
    await Promise.all(daemons.map((d) => d.exited));
  }
}

async function main(): Promise<void> {
  const target = timeSeriesTarget();
  if (!target) {
    console.log('SKIPPED cluster bench: set REDIS_TIMESERIES_MODULE=/path/to/redistimeseries.so (the daemons store into Redis TimeSeries)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'qc-bench-cluster-'));
  const storageUrl = target.url ?? (await RedisServer.start({ module: target.module })).url;
  const leases = await RedisServer.start();
  const symbols = Array.from({ length: 20 }, (_, i) => `C${i}-USDT`);
  const sim = (await builtInExchanges.get('binance').simulator!({ symbols, tradesPerSecond: 5 })) as Simulator;
  try {
    const kills = await takeovers(dir, storageUrl, leases.url, sim, symbols);
    const leaseTimes = kills.map((k) => k.leasesMs);
    const sampleTimes = kills.flatMap((k) => k.firstSampleMs);
    const traffic = await leaseTraffic();
    // The generation rate is the ceiling; 3 daemons on 2 cores show the cost of splitting.
    const fast = (await builtInExchanges.get('binance').simulator!({ symbols, tradesPerSecond: 100 })) as Simulator;
    const rates: number[] = [];
    try {
      for (const count of [1, 2, 3]) {
        rates.push(await aggregate(dir, count, storageUrl, leases.url, fast, symbols));
        progress(`${count} daemon(s): ${Math.round(rates.at(-1)!)} trades/s`);
      }
    } finally {
      await fast.close();
    }
    const generated = symbols.length * 100;
    const bound = TTL_MS + TTL_MS / 3;
    const rows: BenchRow[] = [
      row(`takeover p50: kill -9 → the survivor holds every lease, ${KILLS} kills`, percentile(leaseTimes, 50), 'ms', { name: 'design bound: lease TTL + one renewal interval', value: bound }),
      row('takeover p99: leases held', percentile(leaseTimes, 99), 'ms', { name: 'design bound', value: bound }),
      row(`takeover p50: kill -9 → first sample stored by the new owner, per unit (${sampleTimes.length})`, percentile(sampleTimes, 50), 'ms', { name: 'design bound', value: bound }),
      row('takeover p99: first sample (after REST backfill within Binance\'s weight limit)', percentile(sampleTimes, 99), 'ms', { name: 'design bound', value: bound }),
      row('lease traffic, 3 daemons, steady state: round trips', traffic.roundTrips, 'requests/s per 1,000 units'),
      row('lease traffic: commands Redis runs (in the scripts too)', traffic.redisCommands, 'commands/s per 1,000 units'),
      ...rates.map((rate, i) => row(`aggregate, ${i + 1} daemon(s)`, rate, 'trades/s', { name: 'generated by the simulator', value: generated })),
    ];
    printTable(`cluster bench — lease TTL ${TTL_MS} ms; node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'unknown'} (2 cores: overhead, not scale)`, rows);
    printJson('cluster', { kills: KILLS, ttlMs: TTL_MS, takeovers: kills, leaseTrafficPer1000Units: traffic, tradesPerSecond: rates }, rows);
  } finally {
    await sim.close();
    await disposeRedisServers();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
