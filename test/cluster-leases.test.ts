/**
 * High availability, the lease side (plain Redis, so CI runs it): leases and their fencing
 * tokens, membership, the balanced and sticky assignment, and daemons' coordinators sharing
 * units in one process against a real redis-server. The whole daemons (kill -9, SIGSTOP, stored
 * == generated) are test/cluster.test.ts, which needs Redis TimeSeries.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../common/logger.js';
import { planAssignment, shardOf } from '../src/cluster/assignment.js';
import { LeaseCoordinator } from '../src/cluster/coordinator.js';
import { LeaseStore } from '../src/cluster/lease-store.js';
import { workUnits } from '../src/cluster/units.js';
import { formatClusterStatus } from '../src/cli/format.js';
import { DataCollector } from '../src/data-collector.js';
import { evaluateHealth } from '../src/health.js';
import { startStatusServer } from '../src/http/status-server.js';
import { MemoryStorage } from '../storage/memory.js';
import { connectRedis, type RedisConnection } from '../storage/redis-timeseries/index.js';
import { ScriptedCollector } from './support/scripted-collector.js';
import { disposeRedisServers, RedisServer } from './support/redis-server.js';

const connections: RedisConnection[] = [];
afterAll(async () => {
  connections.forEach((c) => c.destroy());
  await disposeRedisServers();
});

async function leaseStore(url: string): Promise<LeaseStore> {
  const { connection } = await connectRedis({ url, connectTimeoutMs: 5_000 });
  connections.push(connection);
  return new LeaseStore(connection);
}

/** Runs planAssignment for every member in turn, applying releases then acquisitions, until nothing changes. */
function settle(units: string[], members: string[], owners: Map<string, string>): number {
  let moves = 0;
  for (let round = 0; round < 20; round++) {
    let changed = false;
    for (const self of members) {
      const plan = planAssignment({ self, members, units, owners });
      for (const unit of plan.release) {
        owners.delete(unit);
        changed = true;
      }
      for (const unit of plan.acquire) {
        if (owners.has(unit)) continue;
        owners.set(unit, self);
        moves += 1;
        changed = true;
      }
    }
    if (!changed) return moves;
  }
  throw new Error('the assignment did not settle in 20 rounds');
}

const count = (owners: Map<string, string>, member: string) => [...owners.values()].filter((m) => m === member).length;

describe('assignment', () => {
  const units = Array.from({ length: 300 }, (_, i) => `trades:x#${i + 1}`);

  it('spreads 300 units evenly over 3 daemons, and a 4th joining takes only its share; nothing moves back', () => {
    const owners = new Map<string, string>();
    expect(settle(units, ['a', 'b', 'c'], owners)).toBe(300);
    expect(['a', 'b', 'c'].map((m) => count(owners, m))).toEqual([100, 100, 100]);
    const before = new Map(owners);
    settle(units, ['a', 'b', 'c', 'd'], owners);
    expect(['a', 'b', 'c', 'd'].map((m) => count(owners, m))).toEqual([75, 75, 75, 75]);
    const moved = units.filter((u) => before.get(u) !== owners.get(u));
    expect(moved.length).toBe(75);
    expect(moved.every((u) => owners.get(u) === 'd')).toBe(true);
    // Settled: another round changes nothing.
    const settled = new Map(owners);
    expect(settle(units, ['a', 'b', 'c', 'd'], owners)).toBe(0);
    expect(owners).toEqual(settled);
  });

  it("a dead daemon's units go to the others, evenly", () => {
    const owners = new Map<string, string>();
    settle(units, ['a', 'b', 'c'], owners);
    for (const [unit, member] of owners) if (member === 'c') owners.delete(unit); // its leases ran out
    settle(units, ['a', 'b'], owners);
    expect([count(owners, 'a'), count(owners, 'b')]).toEqual([150, 150]);
  });

  it('static shards split the units about evenly, and growing 3 → 4 shards moves about a quarter', () => {
    const three = units.map((u) => shardOf(u, 3));
    for (let shard = 1; shard <= 3; shard++) expect(three.filter((s) => s === shard).length).toBeGreaterThan(70);
    const four = units.map((u) => shardOf(u, 4));
    const moved = units.filter((_, i) => three[i] !== four[i]).length;
    expect(moved).toBeGreaterThan(40);
    expect(moved).toBeLessThan(110);
    // Whatever moved went to the new shard.
    expect(units.every((_, i) => three[i] === four[i] || four[i] === 4)).toBe(true);
  });

  it('candles join the unit of the trades they are built from', () => {
    const trades = new ScriptedCollector('trades:x', [{ then: 'run-until-abort' }]);
    const other = new ScriptedCollector('trades:y', [{ then: 'run-until-abort' }]);
    const candles = Object.assign(new ScriptedCollector('candles:x', [{ then: 'run-until-abort' }]), { inputs: trades.keys });
    expect(workUnits([trades, other, candles]).map((u) => u.collectors.map((c) => c.id))).toEqual([['trades:x', 'candles:x'], ['trades:y']]);
  });
});

describe('leases in Redis', () => {
  it('one holder at a time; tokens only grow, also after Redis loses its data; renew, release, membership', async () => {
    const redis = await RedisServer.start();
    const store = await leaseStore(redis.url);
    const first = await store.acquire('u', 'a', 5_000);
    expect(first).toBeDefined();
    expect(await store.acquire('u', 'b', 5_000)).toBeUndefined();
    expect(await store.renew([first!], 5_000)).toEqual([]);
    await store.release(first!);
    const second = await store.acquire('u', 'b', 5_000);
    expect(second!.token).toBeGreaterThan(first!.token);
    // a's lease is b's now: a's renewal says so.
    expect(await store.renew([first!], 5_000)).toEqual(['u']);
    expect((await store.holders(['u', 'v'])).get('u')).toMatchObject({ node: 'b', token: second!.token });

    await store.heartbeat('a', 300, 'plan-1');
    expect(await store.heartbeat('b', 5_000, 'plan-1')).toEqual(new Map([['a', 'plan-1'], ['b', 'plan-1']]));
    await sleep(400);
    expect(await store.heartbeat('b', 5_000, 'plan-2')).toEqual(new Map([['b', 'plan-2']]));

    // Redis restarted without its data: b's renewal puts its lease back, a new lease gets a bigger token.
    await store.acquire('w', 'a', 5_000);
    const w = (await store.holders(['w'])).get('w')!;
    await redis.stop({ save: false });
    await redis.restart();
    for (let i = 0; i < 50 && !(await store.renew([second!], 5_000).then(() => true, () => false)); i++) await sleep(100);
    expect((await store.holders(['u'])).get('u')).toMatchObject({ node: 'b', token: second!.token });
    const after = await store.acquire('w', 'c', 5_000);
    expect(after!.token).toBeGreaterThan(w.token);
  });
});

describe('coordinators sharing units', () => {
  /** A daemon's orchestrator and coordinator over `units` scripted collectors, each storing a sample every 20 ms. */
  async function daemon(url: string, node: string, units: number, { start = true } = {}) {
    const collectors = Array.from({ length: units }, (_, i) => new ScriptedCollector(`unit-${i + 1}`, [{ samples: 1e9, everyMs: 20, then: 'run-until-abort' }]));
    const storage = new MemoryStorage();
    const collector = new DataCollector(collectors, storage, { managed: true, logger: silentLogger });
    collector.start();
    const coordinator = new LeaseCoordinator({ node, leaseTtlMs: 1_500, leases: await leaseStore(url), units: workUnits(collectors), collector, storage, logger: silentLogger });
    if (start) await coordinator.start();
    const running = () => collector.status().collectors.filter((c) => c.state === 'running').map((c) => c.id);
    return { collector, coordinator, running };
  }

  async function until(what: string, done: () => boolean, ms = 8_000): Promise<void> {
    const end = Date.now() + ms;
    while (!done()) {
      if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
      await sleep(50);
    }
  }

  it('split 12 units 6/6, never run one twice; a clean stop hands its units over at once; a third daemon takes its share', async () => {
    const redis = await RedisServer.start();
    const a = await daemon(redis.url, 'a', 12);
    const b = await daemon(redis.url, 'b', 12);
    let overlap = 0;
    const watch = setInterval(() => {
      const both = a.running().filter((id) => b.running().includes(id));
      overlap = Math.max(overlap, both.length);
    }, 20);
    try {
      await until('12 units running, 6 on each', () => a.running().length === 6 && b.running().length === 6);
      await sleep(600); // one more heartbeat: each has seen the other's units
      // What an operator sees: `collector status --cluster` and /metrics.
      const source = { status: () => ({ ...a.collector.status(), cluster: a.coordinator.status() }) };
      const text = formatClusterStatus(source.status());
      expect(text).toMatch(/this daemon is a, runs 6 of 12 units; 0 takeovers, 0 leases lost, 0 stale writes refused/);
      expect(text).toMatch(/^a \(this daemon\)\s+6$/m);
      expect(text).toMatch(/^b\s+6$/m);
      expect(text.match(/^unit-\d+\s+[ab]\s+\d{13}\s/gm)).toHaveLength(12);
      const { server, url } = await startStatusServer(source, '127.0.0.1', 0);
      try {
        const metrics = await (await fetch(`${url}/metrics`)).text();
        expect(metrics).toMatch(/^cluster_members 2$/m);
        expect(metrics).toMatch(/^cluster_units_owned 6$/m);
        expect(metrics).toMatch(/^cluster_lease_age_seconds\{unit="unit-\d+"\} \d/m);
        const health = (await (await fetch(`${url}/health`)).json()) as { status: string };
        // Units run by the other daemon (standby here) are not this daemon's problem.
        expect(health.status).toBe('ok');
      } finally {
        server.close();
      }
      const c = await daemon(redis.url, 'c', 12);
      await until('4 units on each of 3', () => [a, b, c].every((d) => d.running().length === 4));
      const stoppedAt = Date.now();
      await c.coordinator.stop();
      await until('c units taken over', () => a.running().length + b.running().length === 12);
      // Released, not run out: well under the TTL (1.5 s) plus a renewal interval.
      expect(Date.now() - stoppedAt).toBeLessThan(1_500);
      expect(overlap).toBe(0);
      await Promise.all([a.coordinator.stop(), b.coordinator.stop()]);
      await Promise.all([a.collector.stop(), b.collector.stop()]);
    } finally {
      clearInterval(watch);
    }
  }, 30_000);

  it('members whose configs make other units take and hand over nothing until they agree; /health says why', async () => {
    const redis = await RedisServer.start();
    // A rolling config change: b's config has one more unit, so unit ids would cover other series.
    const [a, b] = await Promise.all([daemon(redis.url, 'a', 6, { start: false }), daemon(redis.url, 'b', 7, { start: false })]);
    await Promise.all([a.coordinator.start(), b.coordinator.start()]);
    await sleep(1_500); // three renewal intervals
    expect([a.running().length, b.running().length]).toEqual([0, 0]);
    expect(a.coordinator.status().differentConfig).toEqual(['b']);
    const report = evaluateHealth({ ...a.collector.status(), cluster: a.coordinator.status() });
    expect(report.status).toBe('degraded');
    expect(report.reasons).toContainEqual(expect.stringMatching(/^cluster members b run a config that makes other units/));
    expect(formatClusterStatus({ ...a.collector.status(), cluster: a.coordinator.status() })).toMatch(/members with ANOTHER CONFIG \(nothing taken over\): b/);
    await b.coordinator.stop();
    await until('a runs all 6 once b has left', () => a.running().length === 6);
    expect(a.coordinator.status().differentConfig).toEqual([]);
    await a.coordinator.stop();
    await Promise.all([a.collector.stop(), b.collector.stop()]);
  }, 30_000);

  it('a daemon that cannot reach Redis stops its units before its leases run out, and takes them again once Redis is back', async () => {
    const leases = await RedisServer.start();
    const a = await daemon(leases.url, 'a', 6);
    await until('a runs all 6', () => a.running().length === 6);
    await leases.stop({ save: true });
    const cutAt = Date.now();
    await until('a stops its units', () => a.running().length === 0, 3_000);
    // Before the TTL (1.5 s) from the last renewal: at most TTL after the cut.
    expect(Date.now() - cutAt).toBeLessThan(1_500);
    await leases.restart();
    await until('a runs them again once Redis is back', () => a.running().length === 6, 8_000);
    await a.coordinator.stop();
    await a.collector.stop();
  }, 30_000);
});
