/**
 * The Redis TimeSeries backend on a Redis Cluster: the whole contract suite against a real
 * three-master cluster of our own, plus what only a cluster shows (series spread over the
 * masters, every series in one slot, Pub/Sub across nodes, the start-up check on every
 * master) and the cluster configuration (`urls`, `cluster: true`).
 */
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { StorageError } from '../storage/errors.js';
import { redisTimeSeriesStorageKind } from '../storage/kinds.js';
import { noTimeSeriesMessage } from '../storage/redis-timeseries/connect.js';
import { ackKey, checkpointKey, fenceKey, fieldKey, schemaKey, SERIES_SET } from '../storage/redis-timeseries/layout.js';
import { RedisTimeSeriesStorage, type RedisTimeSeriesOptions } from '../storage/redis-timeseries/storage.js';
import { silentLogger } from '../common/logger.js';
import { storageContract } from './storage-contract.js';
import { CLUSTER_SKIP_MESSAGE, RedisClusterHarness } from './support/redis-cluster.js';
import { disposeRedisServers, RedisServer, timeSeriesTarget } from './support/redis-server.js';
import { capturingLogger, errorOf } from './support/assertions.js';

const module = timeSeriesTarget()?.module;
if (!module) console.warn(CLUSTER_SKIP_MESSAGE);

const MAX_TS = Number.MAX_SAFE_INTEGER;

/** Storages opened by a test, closed after it. */
const opened: RedisTimeSeriesStorage[] = [];
async function open(options: RedisTimeSeriesOptions): Promise<RedisTimeSeriesStorage> {
  const s = await RedisTimeSeriesStorage.open({ connectTimeoutMs: 2000, ...options });
  opened.push(s);
  return s;
}
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close().catch(() => undefined);
});
afterAll(disposeRedisServers, 30_000);

describe('redis-timeseries cluster configuration', () => {
  const config = redisTimeSeriesStorageKind.config;

  it('accepts urls (seed nodes) or url with cluster: true, and refuses url with urls naming both', () => {
    const urls = ['redis://h1:7000', 'redis://h2:7001'];
    expect(config.parse({ kind: 'redis-timeseries', urls })).toEqual({ kind: 'redis-timeseries', urls, publish: false });
    expect(config.parse({ kind: 'redis-timeseries', url: 'redis://h1:7000', cluster: true })).toEqual({
      kind: 'redis-timeseries',
      url: 'redis://h1:7000',
      cluster: true,
      publish: false,
    });
    // The parsed config parses again unchanged (the daemon checks it, then opens it).
    expect(config.parse(config.parse({ kind: 'redis-timeseries', urls }))).toEqual({ kind: 'redis-timeseries', urls, publish: false });

    const both = config.safeParse({ kind: 'redis-timeseries', url: 'redis://u:s3cret@h1:7000', urls });
    expect(both.success).toBe(false);
    const message = both.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
    expect(message).toMatch(/urls: give either url .* or urls .*, not both/);
    expect(message).not.toContain('s3cret');
    expect(config.safeParse({ kind: 'redis-timeseries', urls, cluster: false }).error?.issues[0]?.message).toMatch(/cluster is false/);
    expect(config.safeParse({ kind: 'redis-timeseries', urls: [] }).success).toBe(false);
    expect(config.safeParse({ kind: 'redis-timeseries', urls: 'redis://h1:7000' }).success).toBe(false);
  });

  it('refuses contradictory or unusable cluster urls when opening, credentials masked', async () => {
    const both = await errorOf(RedisTimeSeriesStorage.open({ url: 'redis://h:1', urls: ['redis://h:2'] }));
    expect(both.message).toMatch(/either url .* or urls .*not both/);
    const db = await errorOf(RedisTimeSeriesStorage.open({ urls: ['redis://u:db-secret@127.0.0.1:7000/2'] }));
    expect(db.message).toBe('bad Redis url redis://u:***@127.0.0.1:7000/2: a Redis Cluster has only database 0');
    const users = await errorOf(RedisTimeSeriesStorage.open({ urls: ['redis://a:one-secret@127.0.0.1:7000', 'redis://a:two-secret@127.0.0.1:7001'] }));
    expect(users.message).toMatch(/one user and password/);
    const schemes = await errorOf(RedisTimeSeriesStorage.open({ urls: ['redis://127.0.0.1:7000', 'rediss://127.0.0.1:7001'] }));
    expect(schemes.message).toMatch(/redis:\/\/ for every cluster node or rediss:\/\/ for every one/);
    for (const err of [both, db, users, schemes]) expect(err).toBeInstanceOf(StorageError);
    expect(db.message + users.message).not.toContain('secret');
  });

  it('masks credentials when no seed node answers, naming every seed', async () => {
    const err = await errorOf(
      RedisTimeSeriesStorage.open({ urls: ['redis://u:seed-secret@127.0.0.1:1', 'redis://u:seed-secret@127.0.0.1:2'], password: 'cfg-secret', connectTimeoutMs: 300 }),
    );
    expect(err).toBeInstanceOf(StorageError);
    expect(err.message).toMatch(/^cannot connect to Redis Cluster at redis:\/\/u:\*\*\*@127\.0\.0\.1:1, redis:\/\/u:\*\*\*@127\.0\.0\.1:2: /);
    expect(err.message).not.toContain('secret');
  });

  it('says so when cluster: true names a single server', async () => {
    const plain = await RedisServer.start();
    const err = await errorOf(RedisTimeSeriesStorage.open({ url: plain.url, cluster: true, connectTimeoutMs: 2000 }));
    expect(err.message).toMatch(/cluster support disabled.*it is a single server: configure url without cluster: true/);
  });
});

describe.skipIf(!module)('redis-timeseries on a Redis Cluster', () => {
  let cluster: RedisClusterHarness;
  beforeAll(async () => {
    cluster = await RedisClusterHarness.start({ module: module! });
  }, 60_000);
  afterAll(() => cluster?.dispose());

  storageContract('redis-timeseries (cluster)', async () => {
    await cluster.flushAll();
    return {
      storage: await RedisTimeSeriesStorage.open({ urls: cluster.urls }),
      openReader: () => RedisTimeSeriesStorage.open({ urls: cluster.urls, readOnly: true }),
      childSpec: { kind: 'redis-timeseries', urls: cluster.urls },
      cleanup: () => cluster.flushAll(),
    };
  });

  describe('layout across the masters', () => {
    afterEach(() => cluster.flushAll());

    it('spreads series over every master, keeps each series in one slot, and reads them all back', async () => {
      const s = await open({ urls: cluster.urls });
      const keys = Array.from({ length: 24 }, (_, i) => `spread:binance:S${i}`);
      for (const key of keys) await s.declare({ key, fields: { price: 'last', amount: 'sum' } });
      await s.storeMany(keys.flatMap((key, i) => [1, 2].map((t) => ({ key, value: { price: i + t / 10, amount: t }, timestamp: t * 1000 }))));
      await s.flush();

      // Every master holds series data: no node is left out, none holds everything.
      const port = cluster.nodes[0]!.port;
      const perNode = await Promise.all(cluster.nodes.map(async (n) => (await cluster.command(n.port, 'KEYS', 'ts:{*')).split('\n').filter(Boolean)));
      expect(perNode.every((k) => k.length > 0)).toBe(true);
      expect(perNode.flat().sort()).toEqual(keys.flatMap((k) => [fieldKey(k, 'amount'), fieldKey(k, 'price')]).sort());
      // A series' keys (fields, schema hash, batch marker, checkpoints, write fences) share its slot.
      for (const key of keys.slice(0, 6)) {
        const perSeries = [fieldKey(key, 'price'), fieldKey(key, 'amount'), schemaKey(key), ackKey(key, 'w'), checkpointKey(key), fenceKey(key)];
        const slots = new Set(await Promise.all(perSeries.map((k) => cluster.command(port, 'CLUSTER', 'KEYSLOT', k))));
        expect(slots.size).toBe(1);
      }

      // Another process (a read-only open from a single seed) reads every series and lists them.
      const reader = await open({ url: cluster.urls[2]!, cluster: true, readOnly: true });
      for (const [i, key] of keys.entries()) {
        expect(await reader.fetch(key, 0, MAX_TS)).toEqual([
          [1000, { price: i + 0.1, amount: 1 }],
          [2000, { price: i + 0.2, amount: 2 }],
        ]);
      }
      const listed = await reader.keys();
      expect(listed.map((k) => k.key)).toEqual([...keys].sort());
      expect(listed[0]).toMatchObject({ fields: { price: 'last', amount: 'sum' }, count: 2, first: 1000, last: 2000 });
      // The series set is one key on one node; nothing else had to share its slot.
      expect(Number(await cluster.command(port, '-c', 'SCARD', SERIES_SET))).toBe(keys.length);
    });

    it('keeps declarations across reopen (schema hashes on every master, read back one by one)', async () => {
      const first = await open({ urls: cluster.urls });
      const keys = Array.from({ length: 9 }, (_, i) => `reopen:${i}`);
      for (const key of keys) await first.declare({ key, fields: { amount: 'sum' }, retentionMs: 60_000, labels: { n: key } });
      await first.store(keys[0]!, { amount: 1 }, 5);
      await first.close();
      const second = await open({ urls: cluster.urls });
      await second.store(keys[0]!, { amount: 2 }, 5);
      expect(await second.fetch(keys[0]!, 0, 10)).toEqual([[5, { amount: 3 }]]);
      await expect(second.declare({ key: keys[8]!, fields: { amount: 'last' } })).rejects.toThrow(/reopen:8/);
      expect((await second.keys()).map((k) => [k.key, k.retentionMs, k.labels.n])).toEqual(keys.map((k) => [k, 60_000, k]));
    });

    it('publishes each batch in its MULTI; a subscriber on any node hears it', async () => {
      const channel = 'live:binance:BTC-USDT';
      const subscribers = await Promise.all(
        cluster.urls.map(async (url) => {
          const client = createClient({ url });
          client.on('error', () => undefined);
          await client.connect();
          return client;
        }),
      );
      const heard = subscribers.map(() => [] as unknown[]);
      try {
        await Promise.all(subscribers.map((c, i) => c.subscribe(channel, (message) => heard[i]!.push(JSON.parse(message)))));
        const s = await open({ urls: cluster.urls, publish: true });
        await s.store(channel, { price: 2, amount: 0.5 }, 1_000);
        await s.flush();
        const expected = { key: channel, samples: [[1_000, { price: 2, amount: 0.5 }]] };
        await vi.waitFor(() => expect(heard).toEqual(subscribers.map(() => [expected])));
      } finally {
        for (const c of subscribers) c.destroy();
      }
    });

    it('opens through the storage kind with urls and with url + cluster: true', async () => {
      for (const raw of [
        { kind: 'redis-timeseries', urls: cluster.urls },
        { kind: 'redis-timeseries', url: cluster.urls[1], cluster: true },
      ]) {
        const config = redisTimeSeriesStorageKind.config.parse(raw);
        const s = (await redisTimeSeriesStorageKind.open(config, { logger: silentLogger, configDir: '.' })) as RedisTimeSeriesStorage;
        opened.push(s);
        await s.storeMany([
          { key: 'kind:a', value: 1, timestamp: 1 },
          { key: 'kind:b', value: 2, timestamp: 1 },
        ]);
        const reader = (await redisTimeSeriesStorageKind.open(config, { logger: silentLogger, configDir: '.', readOnly: true })) as RedisTimeSeriesStorage;
        opened.push(reader);
        await s.flush();
        expect(await reader.fetch('kind:b', 0, 10)).toEqual([[1, 2]]);
        expect(s.url).toBe(raw.urls ? cluster.urls.join(', ') : cluster.urls[1]);
        await cluster.flushAll();
      }
    });

    it('keeps collector state on the cluster too (one key per command, no cross-slot MULTI)', async () => {
      const s = await open({ urls: cluster.urls });
      const records = ['trades:binance', 'trades:okx', 'trades:kraken', 'trades:bybit'].map((collector, i) => ({
        collector,
        state: 'running',
        restarts: i,
        lastError: null,
        updatedAt: 1_000 + i,
        checkpoints: [{ key: `trades:${collector}:BTC-USDT`, lastTimestamp: 5, lastTradeId: String(2 ** 60 + i) }],
      }));
      for (const record of records) await s.collectorState.save(record);
      const reader = await open({ urls: cluster.urls, readOnly: true });
      expect(await reader.collectorState.list()).toEqual([...records].sort((a, b) => (a.collector < b.collector ? -1 : 1)));
      expect(await reader.collectorState.load('trades:okx')).toEqual(records[1]);
    });

    it('explains a cluster node configured as a single server instead of retrying MOVED forever', async () => {
      // The node that does not hold the start-up probe's key: the check meets MOVED at once.
      const answers = await Promise.all(cluster.nodes.map((n) => cluster.command(n.port, 'TS.INFO', 'tsmeta:probe:none')));
      const node = cluster.nodes[answers.findIndex((a) => a.startsWith('MOVED'))]!;
      const err = await errorOf(RedisTimeSeriesStorage.open({ url: `redis://127.0.0.1:${node.port}` }));
      expect(err).toBeInstanceOf(StorageError);
      expect(err.message).toBe(
        `Redis at redis://127.0.0.1:${node.port} is a node of a Redis Cluster (it answered MOVED): configure cluster: true, or urls: [...] with its nodes`,
      );
    });
  });

  describe('a master restarting', () => {
    afterEach(() => cluster.flushAll());

    it('loses nothing when a master stops and restarts in the middle of a write stream', async () => {
      const s = await open({ urls: cluster.urls, flushIntervalMs: 10, flushTimeoutMs: 500, maxBuffered: 5000 });
      const keys = Array.from({ length: 6 }, (_, i) => `restart:${i}`);
      let accepted = 0;
      let stop = false;
      const stream = (async () => {
        for (let t = 0; !stop; t++) {
          accepted += (await s.storeMany(keys.map((key) => ({ key, value: t, timestamp: t })))).accepted;
          if (t % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      await vi.waitFor(() => expect(s.stats().written).toBeGreaterThan(600), { timeout: 10_000 });
      // Some of the series live on the master that stops.
      expect(Number(await cluster.command(cluster.nodes[1]!.port, 'DBSIZE'))).toBeGreaterThan(0);
      await cluster.stopNode(1);
      await vi.waitFor(() => expect(s.stats().connected).toBe(false), { timeout: 10_000 });
      const writtenAtStop = s.stats().written;
      await expect(s.flush()).rejects.toThrow(/cannot flush to Redis at redis:\/\/127\.0\.0\.1:\d+, .*stay buffered/);

      await cluster.startNode(1);
      await vi.waitFor(() => expect(s.stats().written).toBeGreaterThan(writtenAtStop + 6000), { timeout: 20_000 });
      stop = true;
      await stream;
      await s.flush();
      expect(s.stats()).toMatchObject({ buffered: 0, rejected: 0, written: accepted, connected: true });
      expect(s.stats().errors).toBeGreaterThan(0);
      for (const key of keys) {
        const samples = await s.fetch(key, 0, MAX_TS);
        expect(samples).toHaveLength(accepted / keys.length);
        expect(samples.every(([t, v], i) => t === i && v === i)).toBe(true);
      }
    }, 60_000);
  });

  describe('with a password', () => {
    const password = 'cl-pa55/secret';
    let secured: RedisClusterHarness | undefined;
    beforeAll(async () => {
      secured = await RedisClusterHarness.start({ module: module!, password });
    }, 60_000);
    afterAll(() => secured?.dispose());

    it('uses one password for every node, from the config or from one seed url, and masks it', async () => {
      const { logger, lines } = capturingLogger();
      const s = await open({ urls: secured!.urls, password, logger });
      const keys = Array.from({ length: 12 }, (_, i) => `auth:${i}`); // spread over all three nodes
      await s.storeMany(keys.map((key, i) => ({ key, value: i, timestamp: 1 })));
      await s.flush();
      expect((await secured!.keysPerNode()).every((n) => n > 0)).toBe(true);
      // The password in only the first seed's URL reaches the nodes the client discovers.
      const [first, ...rest] = secured!.urls;
      const withUrlPassword = [first!.replace('redis://', `redis://default:${encodeURIComponent(password)}@`), ...rest];
      const reader = await open({ urls: withUrlPassword, readOnly: true });
      expect(reader.url).toBe([first!.replace('redis://', 'redis://default:***@'), ...rest].join(', '));
      for (const [i, key] of keys.entries()) expect(await reader.fetch(key, 0, 10)).toEqual([[1, i]]);

      const wrong = await errorOf(RedisTimeSeriesStorage.open({ urls: secured!.urls, password: 'wrong-secret', logger, connectTimeoutMs: 500 }));
      expect(wrong).toBeInstanceOf(StorageError);
      expect(wrong.message).toMatch(/^cannot connect to Redis Cluster at redis:\/\/127\.0\.0\.1:\d+, .*(WRONGPASS|invalid username-password)/);
      for (const text of [wrong.message, JSON.stringify(lines)]) expect(text).not.toMatch(/secret|pa55/);
    });
  });

  describe('start-up check on every master', () => {
    let partial: RedisClusterHarness | undefined;
    afterAll(() => partial?.dispose());

    it('refuses a cluster whose one master lacks the module, naming that node', async () => {
      partial = await RedisClusterHarness.start({ module: module!, withoutModule: [1] });
      const missing = `redis://127.0.0.1:${partial.nodes[1]!.port}`;
      // Whichever seed it starts from, every master is asked.
      for (const urls of [partial.urls, [partial.urls[0]!]]) {
        const err = await errorOf(RedisTimeSeriesStorage.open({ urls }));
        expect(err).toBeInstanceOf(StorageError);
        expect(err.message).toBe(noTimeSeriesMessage(missing));
      }
    }, 60_000);
  });
});
