import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { StorageClosedError, StorageError } from '../storage/errors.js';
import { MemoryStorage } from '../storage/memory.js';
import { redisTimeSeriesStorageKind } from '../storage/kinds.js';
import { noTimeSeriesMessage } from '../storage/redis-timeseries/connect.js';
import { fenceKey, fieldKey, formatDouble, schemaKey, SERIES_SET } from '../storage/redis-timeseries/layout.js';
import { RedisTimeSeriesStorage, type RedisTimeSeriesOptions } from '../storage/redis-timeseries/storage.js';
import { batchCut, buildMadd, type QueuedSample } from '../storage/redis-timeseries/writer.js';
import type { CollectorCheckpoint, Point, SeriesDeclaration, WriteFence } from '../storage/types.js';
import { silentLogger } from '../common/logger.js';
import { storageContract, type LossyLink } from './storage-contract.js';
import {
  deleteCollectorKeys,
  disposeRedisServers,
  RedisServer,
  ReplyLosingProxy,
  SKIP_MESSAGE,
  timeSeriesTarget,
  withRedis,
} from './support/redis-server.js';
import { capturingLogger, errorOf } from './support/assertions.js';

const target = timeSeriesTarget();
if (!target) console.warn(SKIP_MESSAGE);
const ownServerNeeded = 'needs a redis-server of our own: set REDIS_TIMESERIES_MODULE=/path/to/redistimeseries.so';
if (target && !target.module) console.warn(`SKIPPED redis-timeseries restart/lost-reply tests: ${ownServerNeeded}`);

afterAll(disposeRedisServers, 30_000);

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

/** A storage that reaches Redis at `port` through a ReplyLosingProxy (for the contract's lost-reply tests). */
async function lossyLink(port: number): Promise<LossyLink> {
  const proxy = await ReplyLosingProxy.start(port);
  const storage = await RedisTimeSeriesStorage.open({ url: `redis://127.0.0.1:${proxy.port}`, flushTimeoutMs: 5000 });
  return {
    storage,
    loseNextReply: () => proxy.loseNextReply(),
    cuts: () => proxy.cuts,
    close: async () => {
      await storage.close().catch(() => undefined);
      await proxy.close();
    },
  };
}

describe('redis-timeseries layout', () => {
  it('merges adjacent same-ms samples into one TS.MADD value per last/first/min/max field, never sum ones', () => {
    const samples: Array<{ ts: number; fields: Record<string, number> }> = [
      { ts: 1, fields: { l: 1, lo: 5, s: 0.1 } },
      { ts: 1, fields: { l: 2, lo: 3, s: 0.2 } },
      { ts: 2, fields: { l: 9, s: 1 } },
      { ts: 1, fields: { l: 4, s: 0.3 } }, // not adjacent: its own values, after ts 2
      { ts: 3, fields: { l: 5, hi: 0 } },
      { ts: 3, fields: { hi: -0, f: 7 } },
      { ts: 3, fields: { l: 6, f: 8, hi: -1 } },
    ];
    const { madd, answerOf } = buildMadd('k', samples, { l: 'last', lo: 'min', hi: 'max', f: 'first', s: 'sum' });
    const triples = [];
    for (let i = 1; i < madd.length; i += 3) triples.push(madd.slice(i, i + 3).join(' '));
    expect(triples).toEqual([
      'ts:{k}:l 1 2', 'ts:{k}:lo 1 3', 'ts:{k}:s 1 0.1', 'ts:{k}:s 1 0.2',
      'ts:{k}:l 2 9', 'ts:{k}:s 2 1',
      'ts:{k}:l 1 4', 'ts:{k}:s 1 0.3',
      'ts:{k}:l 3 6', 'ts:{k}:hi 3 -0', 'ts:{k}:f 3 7', // max keeps the newer of 0 and -0, as TimeSeries does
    ]);
    // One answer index per (sample, field) in accept order; merged ones share theirs.
    expect(answerOf).toEqual([0, 1, 2, 0, 1, 3, 4, 5, 6, 7, 8, 9, 9, 10, 8, 10, 9]);
  });

  it('sends doubles as the shortest text that parses back to the same bits, -0 included', () => {
    for (const x of [0.1 + 0.2, 5e-324, -0, 0, 1e21, 1.7976931348623157e308, -1.7976931348623157e308, 1 / 3, 2.2250738585072014e-308]) {
      expect(Number(formatDouble(x))).toBe(x); // toBe is Object.is: -0 is not 0
    }
    expect(formatDouble(-0)).toBe('-0');
  });

  it('cuts a batch where the fence changes, and still never between samples and their checkpoint', () => {
    const a: WriteFence = { unit: 'u', token: 1 };
    const b: WriteFence = { unit: 'u', token: 2 };
    const checkpoint = new Map<string, CollectorCheckpoint>([['u', { key: 'k' }]]);
    // f: a fence or none; c: carries a checkpoint.
    const queue = (...spec: Array<[WriteFence | undefined, boolean?]>): QueuedSample[] =>
      spec.map(([fence, c], i) => ({ seq: i, ts: i, fields: { v: i }, retried: false, fence: fence && { ...fence }, ...(c ? { checkpoints: checkpoint } : {}) }));
    expect(batchCut(queue([undefined], [undefined], [undefined]), 10)).toBe(3);
    expect(batchCut(queue([a], [a], [b], [b]), 10)).toBe(2); // equal fences need not be one object
    expect(batchCut(queue([undefined], [a], [a]), 10)).toBe(1);
    expect(batchCut(queue([b], [b], [b], [a]), 2)).toBe(2);
    // Past batchSize the batch runs on to the next checkpoint of its fence, not into another fence.
    expect(batchCut(queue([a], [a], [a], [a, true], [a]), 2)).toBe(4);
    expect(batchCut(queue([a], [a], [a], [b, true], [b]), 2)).toBe(2);
    expect(batchCut(queue([a, true], [a], [a], [a, true]), 2)).toBe(1);
  });

  it('keeps a whole series in one hash slot', () => {
    expect(fieldKey('trades:binance:BTC-USDT', 'amount')).toBe('ts:{trades:binance:BTC-USDT}:amount');
    expect(schemaKey('trades:binance:BTC-USDT')).toBe('tsmeta:{trades:binance:BTC-USDT}');
    expect(fenceKey('trades:binance:BTC-USDT')).toBe('tsfence:{trades:binance:BTC-USDT}');
  });
});

describe('redis-timeseries storage kind', () => {
  it('parses its config strictly, with a default url', () => {
    const config = redisTimeSeriesStorageKind.config;
    expect(redisTimeSeriesStorageKind.name).toBe('redis-timeseries');
    expect(config.parse({ kind: 'redis-timeseries' })).toEqual({ kind: 'redis-timeseries', url: 'redis://127.0.0.1:6379', publish: false });
    const full = { kind: 'redis-timeseries', url: 'rediss://u:p@h:6380/2', password: 'x', flushIntervalMs: 20, maxBuffered: 10, connectTimeoutMs: 500, publish: true };
    expect(config.parse(full)).toEqual(full);
    expect(() => config.parse({ kind: 'redis-timeseries', extra: 1 })).toThrow();
    expect(() => config.parse({ kind: 'redis-timeseries', flushIntervalMs: 0 })).toThrow();
    expect(() => config.parse({ kind: 'redis-timeseries', maxBuffered: 1.5 })).toThrow();
    expect(() => config.parse({ kind: 'sqlite' })).toThrow();
  });
});

// A plain redis-server (no module) is always there: CI installs it.
describe('redis-timeseries start-up checks (plain redis-server)', () => {
  const password = 'pa55-w0rd/secret';
  let plain: RedisServer;
  beforeAll(async () => {
    plain = await RedisServer.start({ password });
  });

  it('refuses a server without TimeSeries with one message naming the fixes, credentials masked', async () => {
    const url = `redis://default:${encodeURIComponent(password)}@127.0.0.1:${plain.port}/0`;
    const err = await errorOf(RedisTimeSeriesStorage.open({ url }));
    expect(err).toBeInstanceOf(StorageError);
    const masked = `redis://default:***@127.0.0.1:${plain.port}/0`;
    expect(err.message).toBe(noTimeSeriesMessage(masked));
    expect(err.message).toContain('use Redis 8 or later (TimeSeries built in), Redis Stack, or load the module (redis-server --loadmodule /path/to/redistimeseries.so)');
    expect(err.message).not.toContain('secret');
  });

  it('accepts the password from the config instead of the URL (the kind path)', async () => {
    const config = redisTimeSeriesStorageKind.config.parse({ kind: 'redis-timeseries', url: `redis://127.0.0.1:${plain.port}`, password });
    const err = await errorOf(redisTimeSeriesStorageKind.open(config, { logger: silentLogger, configDir: '.' }));
    // Authenticated (else NOAUTH), then refused for the missing module.
    expect(err.message).toBe(noTimeSeriesMessage(`redis://127.0.0.1:${plain.port}`));
  });

  it('masks credentials in connection and authentication errors and in logs', async () => {
    const { logger, lines } = capturingLogger();
    const wrong = await errorOf(RedisTimeSeriesStorage.open({ url: `redis://default:wrong-secret@127.0.0.1:${plain.port}`, logger, connectTimeoutMs: 500 }));
    expect(wrong).toBeInstanceOf(StorageError);
    expect(wrong.message).toContain(`redis://default:***@127.0.0.1:${plain.port}`);
    expect(wrong.message).not.toContain('wrong-secret');

    const closedPort = plain.port + 1 === 65536 ? plain.port - 1 : plain.port + 1;
    const refused = await errorOf(
      RedisTimeSeriesStorage.open({ url: `redis://admin:top-secret@127.0.0.1:${closedPort}`, password: 'config-secret', logger, connectTimeoutMs: 300 }),
    );
    expect(refused.message).toMatch(/^cannot connect to Redis at redis:\/\/admin:\*\*\*@127\.0\.0\.1:\d+: /);
    for (const text of [wrong.message, refused.message, JSON.stringify(lines)]) {
      expect(text).not.toContain('secret');
    }

    // TLS to a plain server: the handshake fails; still masked.
    const tls = await errorOf(RedisTimeSeriesStorage.open({ url: `rediss://u:tls-secret@127.0.0.1:${plain.port}`, logger, connectTimeoutMs: 300 }));
    expect(tls.message).toMatch(/^cannot connect to Redis at rediss:\/\/u:\*\*\*@127\.0\.0\.1:\d+: /);
    expect(tls.message + JSON.stringify(lines)).not.toContain('secret');

    const badUrl = await errorOf(RedisTimeSeriesStorage.open({ url: 'http://user:url-secret@host' }));
    expect(badUrl.message).toContain('http://user:***@host');
    expect(badUrl.message).not.toContain('url-secret');
  });
});

describe.skipIf(!target)('redis-timeseries with TimeSeries', () => {
  let server: RedisServer | undefined;
  let url: string;

  beforeAll(async () => {
    if (target!.url) url = target!.url;
    else {
      server = await RedisServer.start({ module: target!.module });
      url = server.url;
    }
  }, 30_000);

  storageContract('redis-timeseries', async () => {
    await deleteCollectorKeys(url);
    return {
      storage: await RedisTimeSeriesStorage.open({ url }),
      openReader: () => RedisTimeSeriesStorage.open({ url, readOnly: true }),
      childSpec: { kind: 'redis-timeseries', url },
      cleanup: () => deleteCollectorKeys(url),
      // The proxy reaches our own server on loopback (a REDIS_TIMESERIES_URL server may be elsewhere).
      lossyLink: server ? () => lossyLink(server!.port) : undefined,
    };
  });

  describe('RedisTimeSeriesStorage', () => {
    beforeAll(() => deleteCollectorKeys(url));
    afterEach(() => deleteCollectorKeys(url));

    it('lays a series out as one TimeSeries key per field with labels, policies and a schema hash', async () => {
      const s = await open({ url });
      const labels = { kind: 'trades', exchange: 'binance', symbol: 'BTC-USDT' };
      await s.declare({ key: 'trades:binance:BTC-USDT', fields: { amount: 'sum', price: 'last' }, retentionMs: 3_600_000, labels });
      await s.store('trades:binance:BTC-USDT', { amount: 1.5, price: 100 }, 1000);
      await s.flush();
      await withRedis(url, async (r) => {
        const info = (await r.sendCommand(['TS.INFO', 'ts:{trades:binance:BTC-USDT}:amount'])) as unknown[];
        const byName = Object.fromEntries(Array.from({ length: info.length / 2 }, (_, i) => [info[2 * i], info[2 * i + 1]]));
        expect(byName).toMatchObject({ duplicatePolicy: 'sum', retentionTime: 3_600_000, chunkType: 'compressed', chunkSize: 16_384, totalSamples: 1 });
        expect(Object.fromEntries(byName.labels as Array<[string, string]>)).toEqual({ series: 'trades:binance:BTC-USDT', field: 'amount', ...labels });
        const filtered = (await r.sendCommand(['TS.MRANGE', '-', '+', 'FILTER', 'exchange=binance', 'field=price'])) as unknown[][];
        expect(filtered.map((row) => row[0])).toEqual(['ts:{trades:binance:BTC-USDT}:price']);
        expect(await r.sendCommand(['SMEMBERS', SERIES_SET])).toEqual(['trades:binance:BTC-USDT']);
        expect(await r.sendCommand(['HGET', schemaKey('trades:binance:BTC-USDT'), 'fields'])).toBe('{"amount":"sum","price":"last"}');
        // Keys are created once per process: more declarations and writes send no TS.CREATE.
        const creates = async () => Number(/cmdstat_ts\.create:calls=(\d+)/.exec(String(await r.sendCommand(['INFO', 'commandstats'])))?.[1]);
        const before = await creates();
        await s.declare({ key: 'trades:binance:BTC-USDT', fields: { amount: 'sum', price: 'last' }, retentionMs: 3_600_000, labels });
        await s.storeMany([1, 2, 3].map((t) => ({ key: 'trades:binance:BTC-USDT', value: { amount: t, price: t }, timestamp: 2000 + t })));
        await s.flush();
        expect(await creates()).toBe(before);
        expect(((await r.sendCommand(['KEYS', '*trades:binance:BTC-USDT*'])) as string[]).sort()).toEqual([
          'ts:{trades:binance:BTC-USDT}:amount',
          'ts:{trades:binance:BTC-USDT}:price',
          expect.stringMatching(/^tsack:\{trades:binance:BTC-USDT\}:[0-9a-f]+$/), // the writer's batch marker
          'tsmeta:{trades:binance:BTC-USDT}',
        ]);
      });
    });

    it('keeps data and declared policies across close and reopen', async () => {
      const first = await open({ url });
      await first.declare({ key: 'reopen:x', fields: { amount: 'sum', price: 'last' } });
      await first.store('reopen:x', { amount: 1.5, price: 100 }, 1000);
      await first.close();
      const second = await open({ url });
      await second.store('reopen:x', { amount: 2.5, price: 101 }, 1000);
      expect(await second.fetch('reopen:x', 0, 2000)).toEqual([[1000, { amount: 4, price: 101 }]]);
      await expect(second.declare({ key: 'reopen:x', fields: { amount: 'last' } })).rejects.toThrow(/reopen:x/);
      await expect(second.store('reopen:x', { side: 1 }, 1000)).rejects.toThrow(StorageError);
    });

    it('reports a key with another duplicate policy at declare, naming key, field and both policies', async () => {
      await withRedis(url, (r) => r.sendCommand(['TS.CREATE', fieldKey('dup:x', 'amount'), 'DUPLICATE_POLICY', 'MAX']));
      await withRedis(url, (r) => r.sendCommand(['TS.CREATE', fieldKey('dup:none', 'value')]));
      const s = await open({ url });
      const err = await errorOf(s.declare({ key: 'dup:x', fields: { amount: 'sum', price: 'last' } }));
      expect(err).toBeInstanceOf(StorageError);
      expect(err.message).toContain('ts:{dup:x}:amount');
      expect(err.message).toMatch(/DUPLICATE_POLICY MAX.*merges with sum \(DUPLICATE_POLICY SUM\)/);
      // Nothing was declared: the price key was not created, the catalog unchanged.
      await withRedis(url, async (r) => expect(await r.sendCommand(['EXISTS', fieldKey('dup:x', 'price')])).toBe(0));
      await s.declare({ key: 'dup:x', fields: { amount: 'max' } }); // the policy it has is fine
      // A key created without a policy follows the server default (BLOCK): reported too.
      await expect(s.declare({ key: 'dup:none', fields: { value: 'last' } })).rejects.toThrow(/ts:\{dup:none\}:value.*none \(the server default\)/);
    });

    it('counts and reports per-sample TS.MADD refusals with their key; the rest of the batch is written', async () => {
      const { logger, lines } = capturingLogger();
      const s = await open({ url, logger });
      await s.declare({ key: 'rej:rec', fields: { a: 'last', b: 'last' } });
      await s.store('rej:ok', 1, 1);
      await s.flush();
      // Behind the backend's back, field b becomes a plain string: TS.MADD answers an error
      // for each of its samples inside an otherwise successful reply.
      await withRedis(url, async (r) => {
        await r.sendCommand(['DEL', fieldKey('rej:rec', 'b')]);
        await r.sendCommand(['SET', fieldKey('rej:rec', 'b'), 'not a series']);
      });
      const result = await s.storeMany([
        { key: 'rej:rec', value: { a: 1, b: 2 }, timestamp: 10 },
        { key: 'rej:rec', value: { a: 3 }, timestamp: 20 },
        { key: 'rej:ok', value: 2, timestamp: 2 },
      ]);
      expect(result).toEqual({ accepted: 3, rejected: [] }); // valid at call time
      await s.flush();
      expect(s.stats()).toMatchObject({ rejected: 1, written: 3, errors: 0, buffered: 0 });
      const rejections = s.rejections();
      expect(rejections).toHaveLength(1);
      expect(rejections[0]).toMatchObject({ key: 'rej:rec', timestamp: 10 });
      expect(rejections[0]!.reason).toContain('ts:{rej:rec}:b');
      const warning = lines.find((l) => String(l.msg).includes('refused'));
      expect(warning).toMatchObject({ key: 'rej:rec', level: 40 });
      // Reading a series with a broken key fails clearly; once repaired, the accepted fields are there.
      await expect(s.fetch('rej:rec', 0, 100)).rejects.toThrow(/rej:rec/);
      await withRedis(url, (r) => r.sendCommand(['DEL', fieldKey('rej:rec', 'b')]));
      expect(await s.fetch('rej:rec', 0, 100)).toEqual([[10, { a: 1 }], [20, { a: 3 }]]);
      expect(await s.fetch('rej:ok', 0, 100)).toEqual([[1, 1], [2, 2]]);
    });

    it('re-creates a field key deleted behind its back and writes the samples (nothing refused)', async () => {
      const s = await open({ url });
      await s.declare({ key: 'gone:x', fields: { value: 'sum' } });
      await s.store('gone:x', 1, 1);
      await s.flush();
      await withRedis(url, (r) => r.sendCommand(['DEL', fieldKey('gone:x', 'value')]));
      await s.storeMany([{ key: 'gone:x', value: 2, timestamp: 2 }, { key: 'gone:x', value: 3, timestamp: 2 }]);
      await s.flush();
      expect(s.stats()).toMatchObject({ rejected: 0, written: 3 });
      expect(await s.fetch('gone:x', 0, 10)).toEqual([[2, 5]]);
      await withRedis(url, async (r) => expect(await r.sendCommand(['TS.INFO', fieldKey('gone:x', 'value')])).toContain('sum'));
    });

    it('counts samples past retention as dropped, not as refused or errors', async () => {
      const s = await open({ url });
      await s.declare({ key: 'ret:drop', fields: { value: 'last' }, retentionMs: 100 });
      await s.store('ret:drop', 1, 1000);
      await s.flush();
      await s.store('ret:drop', 2, 500);
      await s.flush();
      expect(s.stats()).toMatchObject({ written: 1, droppedByRetention: 1, rejected: 0, errors: 0 });
      expect(await s.fetch('ret:drop', 0, MAX_TS)).toEqual([[1000, 1]]);
    });

    it('a read-only open never writes', async () => {
      const s = await open({ url });
      await s.store('ro:x', 1, 1);
      await s.flush();
      const reader = await open({ url, readOnly: true });
      await expect(reader.store('ro:x', 2, 2)).rejects.toThrow(/read-only/);
      await expect(reader.storeMany([{ key: 'ro:x', value: 2, timestamp: 2 }])).rejects.toThrow(/read-only/);
      await expect(reader.declare({ key: 'ro:y', fields: { value: 'sum' } })).rejects.toThrow(/read-only/);
      await reader.flush();
      expect(await reader.fetch('ro:x', 0, 10)).toEqual([[1, 1]]);
      expect(reader.stats()).toMatchObject({ buffered: 0, written: 0 });
    });

    it('stores same-ms samples merged in a batch bit for bit as one by one, and as the memory backend does', async () => {
      const decl = (key: string): SeriesDeclaration => ({ key, fields: { l: 'last', f: 'first', lo: 'min', hi: 'max', s: 'sum' } });
      // Runs at one ms (some onto a ms already stored), a ms coming back after another, field subsets, 0.1+0.2 sums.
      const points = (key: string, zeros: boolean): Point[] => {
        const z = zeros ? -0 : 0;
        const values = [
          [10, { l: 2, f: 2, lo: z, hi: 0, s: 0.2 }], [10, { l: 3, f: 3, lo: 0, hi: z, s: 0.3 }], [10, { l: 0.1, s: 0.7 }],
          [11, { l: 1, f: 1, lo: 1, hi: 1, s: 1 }], [10, { l: 4, lo: -2, s: 0.1 }], [10, { hi: 5, s: 0.2 }],
          [12, { l: 1, s: 0.1 }], [12, { f: 5, lo: 3, s: 0.2 }], [12, { l: 7, f: 6, lo: 0.5, hi: 0.25, s: 0.3 }],
        ] as const;
        return values.map(([timestamp, value]) => ({ key, timestamp, value: { ...value } }));
      };
      const before = (key: string): Point => ({ key, timestamp: 10, value: { l: 1, f: 1, lo: 0, hi: -0, s: 0.1 } });
      const run = async (storage: RedisTimeSeriesStorage | MemoryStorage, key: string, zeros: boolean) => {
        await storage.declare(decl(key));
        await storage.storeMany([before(key)]);
        await storage.flush();
        expect(await storage.storeMany(points(key, zeros))).toMatchObject({ accepted: 9 });
        await storage.flush();
        return storage.fetch(key, 0, MAX_TS);
      };
      const merged = await open({ url, flushIntervalMs: 60_000 });
      const oneByOne = await open({ url, batchSize: 1 }); // a batch of one sample merges nothing
      const memory = new MemoryStorage();
      for (const zeros of [true, false]) {
        const got = await run(merged, `merge:${zeros}`, zeros);
        expect(got).toEqual(await run(oneByOne, `single:${zeros}`, zeros)); // toEqual tells -0 from 0
        // The memory backend breaks min/max ties of 0 and -0 its own way; otherwise the same.
        if (!zeros) expect(got).toEqual(await run(memory, 'memory', zeros));
      }
      expect(merged.stats()).toMatchObject({ written: 20, rejected: 0 }); // every sample counted, merged or not
      await memory.close();
    });

    it('reads back every double bit for bit through the fast decoder: random bit patterns, short decimals, extremes, and timestamps next to 2^53', async () => {
      const storage = await open({ url });
      await storage.declare({ key: 'bits', fields: { a: 'last', b: 'last' } });
      // Seeded, so a failure can be replayed.
      let state = 42;
      const random = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32);
      const view = new DataView(new ArrayBuffer(8));
      const bits = () => {
        view.setUint32(0, Math.floor(random() * 2 ** 32));
        view.setUint32(4, Math.floor(random() * 2 ** 32));
        const x = view.getFloat64(0);
        return Number.isFinite(x) ? x : 1;
      };
      const decimal = () => Math.round((random() - 0.5) * 10 ** Math.floor(random() * 15)) / 10 ** Math.floor(random() * 9);
      const special = [0, -0, 0.1 + 0.2, Number.MIN_VALUE, -Number.MAX_VALUE, Number.MAX_VALUE, 2 ** 53 - 1, 1e21, 123456789012345, 0.000001234];
      const points: Point[] = Array.from({ length: 3000 }, (_, i) => ({
        key: 'bits',
        timestamp: i < 100 ? MAX_TS - i : 1_000 + i,
        value: { a: i < special.length ? special[i]! : i % 2 ? bits() : decimal(), b: decimal() },
      }));
      expect((await storage.storeMany(points)).rejected).toEqual([]);
      await storage.flush();
      const expected = new Map(points.map((p) => [p.timestamp, p.value]));
      const got = await storage.fetch('bits', 0, MAX_TS);
      expect(got.length).toBe(points.length);
      for (const [t, value] of got) expect(value, `at ${t}`).toEqual(expected.get(t)); // toEqual tells -0 from 0
    });

    it('joins fields by timestamp when they hold different timestamps, also with as many samples each', async () => {
      const s = await open({ url });
      await s.storeMany([
        { key: 'join:x', value: { a: 1 }, timestamp: 1 },
        { key: 'join:x', value: { b: 2 }, timestamp: 2 },
        { key: 'join:x', value: { a: 3, b: 4 }, timestamp: 3 },
        { key: 'join:y', value: { a: 1, b: 2 }, timestamp: 1 },
        { key: 'join:y', value: { a: 3, b: 4 }, timestamp: 2 },
      ]);
      expect(await s.fetch('join:x', 0, 10)).toEqual([[1, { a: 1 }], [2, { b: 2 }], [3, { a: 3, b: 4 }]]);
      expect(await s.fetch('join:y', 0, 10)).toEqual([[1, { a: 1, b: 2 }], [2, { a: 3, b: 4 }]]);
    });

    it('batches: many storeMany calls become few TS.MADD calls', async () => {
      const s = await open({ url, flushIntervalMs: 60_000 });
      const calls = async () => Number(((await withRedis(url, (r) => r.sendCommand(['INFO', 'commandstats']))) as string).match(/cmdstat_ts\.madd:calls=(\d+)/)?.[1] ?? 0);
      const before = await calls();
      for (let call = 0; call < 50; call++) {
        await s.storeMany(Array.from({ length: 10 }, (_, i) => ({ key: `batch:${i % 2}`, value: call, timestamp: call * 10 + i })));
      }
      expect(s.stats().buffered).toBe(500);
      await s.flush();
      expect(s.stats()).toMatchObject({ buffered: 0, written: 500 });
      expect((await calls()) - before).toBeLessThanOrEqual(2); // one per series
    });

    it('publishes each written batch on the channel named after its series key, when asked', async () => {
      const subscriber = createClient({ url });
      await subscriber.connect();
      const messages: Array<{ key: string; samples: Array<[number, unknown]> }> = [];
      await subscriber.pSubscribe('live:*', (message) => messages.push(JSON.parse(message) as (typeof messages)[number]));
      try {
        const s = await open({ url, publish: true });
        await s.declare({ key: 'live:binance:BTC-USDT', fields: { price: 'last', amount: 'sum' } });
        await s.storeMany([
          { key: 'live:binance:BTC-USDT', value: { price: 0.1 + 0.2, amount: 1 }, timestamp: 1_000 },
          { key: 'live:binance:BTC-USDT', value: { price: 2, amount: 0.5 }, timestamp: 1_000 },
          { key: 'live:scalar', value: 5e-324, timestamp: 7 },
        ]);
        await s.flush();
        await vi.waitFor(() => expect(messages).toHaveLength(2));
        expect(messages).toContainEqual({
          key: 'live:binance:BTC-USDT',
          // As written: the subscriber sees both samples; fetch sees them merged (sum → 1.5).
          samples: [[1_000, { price: 0.30000000000000004, amount: 1 }], [1_000, { price: 2, amount: 0.5 }]],
        });
        expect(messages).toContainEqual({ key: 'live:scalar', samples: [[7, 5e-324]] });
        expect(await s.fetch('live:binance:BTC-USDT', 0, 2_000)).toEqual([[1_000, { price: 2, amount: 1.5 }]]);
        // Without `publish`, nothing is published.
        const quiet = await open({ url });
        await quiet.store('live:quiet', 1, 1);
        await quiet.flush();
        await new Promise((r) => setTimeout(r, 100));
        expect(messages.map((m) => m.key)).not.toContain('live:quiet');
      } finally {
        await subscriber.quit();
      }
    });

    it('rejects a declaration that uses a reserved label, naming the key', async () => {
      const s = await open({ url });
      await expect(s.declare({ key: 'lbl:x', fields: { value: 'last' }, labels: { series: 'x' } })).rejects.toThrow(/lbl:x.*reserved/);
    });

    it('fails calls after close with StorageClosedError', async () => {
      const s = await RedisTimeSeriesStorage.open({ url });
      await s.close();
      await expect(s.fetch('x', 0, 1)).rejects.toBeInstanceOf(StorageClosedError);
    });
  });

  describe('fenced writes', () => {
    beforeAll(() => deleteCollectorKeys(url));
    afterEach(() => deleteCollectorKeys(url));
    const fence = { unit: 'trades:binance', token: 7 };

    it('stores big fenced batches (TS.MADD in slices inside the script) exactly as unfenced ones, and publishes them', async () => {
      const subscriber = createClient({ url });
      await subscriber.connect();
      const published: string[] = [];
      await subscriber.pSubscribe('big:*', (message, channel) => published.push(`${channel} ${(JSON.parse(message) as { samples: unknown[] }).samples.length}`));
      try {
        const s = await open({ url, publish: true, batchSize: 1000 });
        const view = await s.fenced(fence, ['big:fenced']);
        const points = (key: string): Point[] =>
          Array.from({ length: 2500 }, (_, i) => ({ key, value: { open: i, high: i + 0.5, low: i - 0.5, close: i + 0.1, volume: 0.1 * (i % 7) }, timestamp: 1_000 + Math.floor(i / 2) }));
        for (const key of ['big:fenced', 'big:plain']) await s.declare({ key, fields: { open: 'first', high: 'max', low: 'min', close: 'last', volume: 'sum' } });
        await view.storeMany(points('big:fenced'));
        await s.storeMany(points('big:plain'));
        await s.flush();
        expect(s.stats()).toMatchObject({ written: 5000, rejected: 0, staleWritesRefused: 0 });
        const fenced = await s.fetch('big:fenced', 0, MAX_TS);
        expect(fenced).toHaveLength(1250);
        expect(fenced).toEqual(await s.fetch('big:plain', 0, MAX_TS));
        await vi.waitFor(() => expect(published.filter((p) => p.startsWith('big:fenced')).length).toBe(3));
        expect(published.filter((p) => p.startsWith('big:fenced')).sort()).toEqual(['big:fenced 1000', 'big:fenced 1000', 'big:fenced 500']);
        // The fence hash is no series: keys() lists the data only.
        expect((await s.keys()).map((k) => k.key).sort()).toEqual(['big:fenced', 'big:plain']);
        await withRedis(url, async (r) => expect(await r.sendCommand(['HGETALL', fenceKey('big:fenced')])).toEqual(['trades:binance', '7']));
      } finally {
        await subscriber.quit();
      }
    });

    it('reads per-sample TS.MADD refusals of a fenced batch as the MULTI path does (Lua hands nested errors back)', async () => {
      const s = await open({ url });
      const view = await s.fenced(fence, []);
      await s.declare({ key: 'frej:rec', fields: { a: 'last', b: 'last' } });
      await view.store('frej:rec', { a: 0, b: 0 }, 1);
      await view.flush();
      await withRedis(url, async (r) => {
        await r.sendCommand(['DEL', fieldKey('frej:rec', 'b')]);
        await r.sendCommand(['SET', fieldKey('frej:rec', 'b'), 'not a series']);
      });
      await view.storeMany([{ key: 'frej:rec', value: { a: 1, b: 2 }, timestamp: 10 }, { key: 'frej:rec', value: { a: 3 }, timestamp: 20 }]);
      await view.flush();
      expect(s.stats()).toMatchObject({ rejected: 1, written: 2, staleWritesRefused: 0 });
      expect(s.rejections()[0]!.reason).toContain('ts:{frej:rec}:b');
      // A field key deleted behind its back is re-created and the sample re-sent, fenced too.
      await withRedis(url, (r) => r.sendCommand(['DEL', fieldKey('frej:rec', 'b')]));
      await view.store('frej:rec', { a: 4, b: 5 }, 30);
      await view.flush();
      expect(s.stats()).toMatchObject({ rejected: 1, written: 3 });
      expect(await s.fetch('frej:rec', 30, 30)).toEqual([[30, { a: 4, b: 5 }]]);
    });

    it('loads the script again when Redis has forgotten it (SCRIPT FLUSH, a restart)', async () => {
      const s = await open({ url });
      const view = await s.fenced(fence, ['noscript:x']);
      await view.store('noscript:x', 1, 1);
      await view.flush();
      await withRedis(url, (r) => r.sendCommand(['SCRIPT', 'FLUSH']));
      await view.store('noscript:x', 2, 2);
      await view.flush();
      expect(await s.fetch('noscript:x', 0, 10)).toEqual([[1, 1], [2, 2]]);
      expect(s.stats()).toMatchObject({ written: 2, rejected: 0, errors: 0 });
    });

    it('logs stale refusals with the unit and tokens, at most once per series every 10 s', async () => {
      const { logger, lines } = capturingLogger();
      const s = await open({ url, logger });
      const old = await s.fenced({ unit: 'trades:binance', token: 1 }, []);
      await s.fenced({ unit: 'trades:binance', token: 2 }, ['stale:x']);
      for (let i = 0; i < 3; i++) {
        await old.store('stale:x', i, i);
        await old.flush();
      }
      expect(s.stats()).toMatchObject({ staleWritesRefused: 3, rejected: 0, written: 0 });
      const warnings = lines.filter((l) => String(l.msg).includes('stale write'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ key: 'stale:x', unit: 'trades:binance', token: 1, samples: 1, level: 40 });
      expect(String(warnings[0]!.reason)).toMatch(/holds token 2 .* above this write token 1/);
      // Claiming below the series' fence warns at once: this owner is already behind.
      await s.fenced({ unit: 'trades:binance', token: 1 }, ['stale:x']);
      expect(lines.filter((l) => String(l.msg).includes('already fenced above'))).toHaveLength(1);
      expect(await s.fetch('stale:x', 0, 10)).toEqual([]);
    });

    it('refuses a malformed fence, and fencing a read-only storage', async () => {
      const s = await open({ url });
      for (const bad of [{ unit: '', token: 1 }, { unit: 'u', token: -1 }, { unit: 'u', token: 1.5 }, { unit: 'u', token: 2 ** 53 }, { unit: 'u' }]) {
        await expect(s.fenced(bad as WriteFence, [])).rejects.toBeInstanceOf(StorageError);
      }
      await expect(s.fenced(fence, ['bad key'])).rejects.toThrow(/bad key/);
      const reader = await open({ url, readOnly: true });
      await expect(reader.fenced(fence, [])).rejects.toThrow(/read-only/);
    });
  });

  describe.skipIf(!target?.module)('with a redis-server of our own', () => {
    const own: RedisServer[] = [];
    const start = async () => {
      const s = await RedisServer.start({ module: target!.module });
      own.push(s);
      return s;
    };
    afterEach(async () => {
      for (const s of own.splice(0)) await s.dispose();
    });

    it('loses nothing when Redis stops and restarts in the middle of a write stream (backpressure while down)', async () => {
      const redis = await start();
      const maxBuffered = 2000;
      const s = await open({ url: redis.url, maxBuffered, flushIntervalMs: 10, flushTimeoutMs: 500 });
      await s.declare({ key: 'restart:x', fields: { value: 'last' } });
      await s.declare({ key: 'restart:sum', fields: { n: 'sum' } });
      let accepted = 0;
      let maxSeenBuffered = 0;
      let stop = false;
      const stream = (async () => {
        for (let t = 0; !stop; t++) {
          const r = await s.storeMany([
            { key: 'restart:x', value: t, timestamp: t },
            { key: 'restart:sum', value: { n: 1 }, timestamp: Math.floor(t / 10) },
          ]);
          accepted += r.accepted;
          maxSeenBuffered = Math.max(maxSeenBuffered, s.stats().buffered);
          if (t % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      await vi.waitFor(() => expect(s.stats().written).toBeGreaterThan(1000), { timeout: 10_000 });
      await redis.stop();
      const writtenAtStop = s.stats().written;
      await vi.waitFor(() => expect(s.stats().connected).toBe(false), { timeout: 10_000 });
      // While down: accepted samples wait; once the buffer is full, the writer loop waits too.
      await vi.waitFor(() => expect(s.stats().buffered).toBeGreaterThanOrEqual(maxBuffered), { timeout: 10_000 });
      const acceptedWhileFull = accepted;
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(accepted - acceptedWhileFull).toBeLessThanOrEqual(2); // blocked, not dropping
      // flush gives up with a clear error after flushTimeoutMs, keeping the buffer.
      const flushErr = await errorOf(s.flush());
      expect(flushErr.message).toMatch(/cannot flush to Redis at redis:\/\/127\.0\.0\.1:\d+: it has been unreachable.*stay buffered/);
      expect(s.stats().buffered).toBeGreaterThanOrEqual(maxBuffered);
      // Status pages say why and since when writes fail.
      expect(s.stats().lastError).toMatch(/ECONNRESET|ECONNREFUSED|closed|connect/i);
      expect(s.stats().failingSince).toBeLessThanOrEqual(Date.now());

      await redis.restart();
      // Drained and writing on: the stream got going again.
      await vi.waitFor(() => expect(s.stats().written).toBeGreaterThan(writtenAtStop + 2 * maxBuffered), { timeout: 15_000 });
      stop = true;
      await stream;
      await s.flush();
      const stats = s.stats();
      expect(stats).toMatchObject({ buffered: 0, rejected: 0, written: accepted, connected: true, lastError: null, failingSince: null });
      expect(stats.errors).toBeGreaterThan(0);
      expect(maxSeenBuffered).toBeLessThanOrEqual(maxBuffered + 2);
      const values = await s.fetch('restart:x', 0, MAX_TS);
      const sums = await s.fetch('restart:sum', 0, MAX_TS);
      expect(values.length + (sums as Array<[number, { n: number }]>).reduce((n, [, v]) => n + v.n, 0)).toBe(accepted);
      expect(values.every(([t, v], i) => t === i && v === i)).toBe(true);
    }, 60_000);

    it('applies a batch exactly once when its reply is lost (a sum is not added twice)', async () => {
      const redis = await start();
      const proxy = await ReplyLosingProxy.start(redis.port);
      try {
        const s = await open({ url: `redis://127.0.0.1:${proxy.port}`, flushTimeoutMs: 5000 });
        await s.declare({ key: 'lost:sum', fields: { amount: 'sum' } });
        await s.store('lost:sum', { amount: 1 }, 1);
        await s.flush();
        proxy.loseNextReply();
        await s.store('lost:sum', { amount: 2 }, 1); // applied by Redis, reply lost, connection cut
        await s.flush();
        expect(proxy.cuts).toBe(1);
        expect(s.stats()).toMatchObject({ written: 2, rejected: 0 });
        expect(s.stats().errors).toBeGreaterThan(0);
        expect(await s.fetch('lost:sum', 0, 10)).toEqual([[1, { amount: 3 }]]);
      } finally {
        await proxy.close();
      }
    });
  });
});
