import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { binanceTrades } from '../collectors/exchanges/binance/trades.js';
import { startBinanceSimulator, type BinanceSimulator, type BinanceTradePayload } from '../collectors/exchanges/binance/simulator/index.js';
import { TradeDeduplicator } from '../collectors/trades/dedup.js';
import { TradeCheckpoints } from '../collectors/trades/trade-checkpoints.js';
import type { Trade } from '../collectors/trades/trade.js';
import { TradeStreamCollector } from '../collectors/trades/trade-stream.js';
import { formatCollectorStates } from '../src/cli/format.js';
import { DataCollector } from '../src/data-collector.js';
import { silentLogger } from '../common/logger.js';
import { updateCollectorState } from '../storage/collector-state.js';
import { StorageClosedError, StorageError } from '../storage/errors.js';
import { MemoryStorage } from '../storage/memory.js';
import { COLLECTOR_STATE_IDS, collectorStateKey, RedisCollectorStateStore } from '../storage/redis-timeseries/collector-state.js';
import { SqliteStorage } from '../storage/sqlite.js';
import type { CollectorStateRecord, CollectorStateStore, DataCollectionStorage } from '../storage/types.js';
import { collector, startCollectorDaemon, type RunningDaemon } from './support/cli.js';
import { disposeRedisServers, freePort, RedisServer, SKIP_MESSAGE, timeSeriesTarget, withRedis } from './support/redis-server.js';
import { ScriptedCollector } from './support/scripted-collector.js';
import { writeConfig } from './support/config-files.js';

const dir = mkdtempSync(join(tmpdir(), 'qc-state-'));
const sims: BinanceSimulator[] = [];
const relays: Array<{ close: () => Promise<void> }> = [];
const daemons: RunningDaemon[] = [];
let redis: RedisServer;

beforeAll(async () => {
  redis = await RedisServer.start(); // plain redis-server: no modules
});
afterAll(async () => {
  daemons.forEach((d) => d.child.kill('SIGKILL'));
  await Promise.all(relays.map((r) => r.close()));
  await Promise.all(sims.map((s) => s.close()));
  await disposeRedisServers();
}, 30_000);

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function simulator(seed: number): Promise<BinanceSimulator> {
  const sim = await startBinanceSimulator({ symbols: ['BTC-USDT'], tradesPerSecond: 200, seed });
  sims.push(sim);
  return sim;
}

const record = (collectorId: string, over: Partial<CollectorStateRecord> = {}): CollectorStateRecord => ({
  collector: collectorId,
  state: 'running',
  restarts: 0,
  lastError: null,
  updatedAt: 1_790_000_000_123,
  checkpoints: [],
  ...over,
});

let sqliteFiles = 0;
/** Each backend's store, fresh per test; `close` ends it (and what owns it). */
const backends: Array<{ name: string; open: () => Promise<{ store: CollectorStateStore; close: () => Promise<void> }> }> = [
  {
    name: 'memory',
    open: async () => {
      const storage = new MemoryStorage();
      return { store: storage.collectorState, close: () => storage.close() };
    },
  },
  {
    name: 'sqlite',
    open: async () => {
      const storage = new SqliteStorage({ path: join(dir, `contract-${++sqliteFiles}.db`) });
      return { store: storage.collectorState, close: () => storage.close() };
    },
  },
  {
    name: 'redis (plain redis-server, redis-om HASH entities)',
    open: async () => {
      await withRedis(redis.url, (client) => client.flushAll());
      const store = await RedisCollectorStateStore.open({ url: redis.url, connectTimeoutMs: 2000 });
      return { store, close: () => store.close() };
    },
  },
];

describe.each(backends)('collector state store: $name', ({ open }) => {
  let opened: { store: CollectorStateStore; close: () => Promise<void> } | undefined;
  const store = async () => (opened = await open()).store;
  afterEach(async () => {
    await opened?.close();
    opened = undefined;
  });

  it('has nothing for a collector never saved', async () => {
    const s = await store();
    expect(await s.load('trades:binance')).toBeUndefined();
    expect(await s.list()).toEqual([]);
  });

  it('gives back exactly what was saved: null error, big trade ids as text, checkpoints with some fields absent', async () => {
    const s = await store();
    const saved = record('trades:bybit', {
      restarts: 3,
      checkpoints: [
        { key: 'trades:bybit:BTC-USDT', lastTimestamp: 1_790_000_000_001, lastTradeId: '18446744073709551615' },
        { key: 'trades:bybit:ETH-USDT', lastTimestamp: 1_790_000_000_002 },
        { key: 'trades:bybit:SOL-USDT', lastTradeId: 'a6f2c1e0-0000-4000-8000-000000000001' },
      ],
    });
    await s.save(saved);
    expect(await s.load('trades:bybit')).toEqual(saved);
  });

  it('replaces the whole record on save', async () => {
    const s = await store();
    await s.save(record('trades:okx', { checkpoints: [{ key: 'trades:okx:BTC-USDT', lastTradeId: '1' }, { key: 'trades:okx:ETH-USDT', lastTradeId: '2' }] }));
    const second = record('trades:okx', {
      state: 'backing-off',
      restarts: 1,
      lastError: 'socket closed by peer',
      updatedAt: 1_790_000_005_000,
      checkpoints: [{ key: 'trades:okx:BTC-USDT', lastTradeId: '9' }],
    });
    await s.save(second);
    expect(await s.load('trades:okx')).toEqual(second);
  });

  it('lists every record, ordered by collector id, whatever characters the ids have', async () => {
    const s = await store();
    const ids = ['trades:kraken', 'trades:binance#2', 'clock:TICK-TOCK,TOCK-TICK', 'trades:binance', 'weird id: ünïcødé'];
    for (const id of ids) await s.save(record(id, { checkpoints: [{ key: `k:${id}`, lastTimestamp: 5 }] }));
    const listed = await s.list();
    expect(listed.map((r) => r.collector)).toEqual([...ids].sort());
    for (const r of listed) expect(r).toEqual(record(r.collector, { checkpoints: [{ key: `k:${r.collector}`, lastTimestamp: 5 }] }));
  });

  it('hands out copies: editing a loaded record changes nothing stored', async () => {
    const s = await store();
    await s.save(record('a', { checkpoints: [{ key: 'k', lastTradeId: '1' }] }));
    const loaded = (await s.load('a'))!;
    loaded.state = 'changed';
    loaded.checkpoints[0]!.lastTradeId = '999';
    expect(await s.load('a')).toEqual(record('a', { checkpoints: [{ key: 'k', lastTradeId: '1' }] }));
  });

  it('refuses a malformed record with a StorageError naming the collector', async () => {
    const s = await store();
    await expect(s.save(record('bad', { restarts: -1 }))).rejects.toThrow(/bad collector state record "bad": restarts/);
    await expect(s.save(record('bad', { checkpoints: [{ key: '' }] }))).rejects.toBeInstanceOf(StorageError);
    await expect(s.save(record(''))).rejects.toThrow(/collector must be a non-empty string/);
    expect(await s.list()).toEqual([]);
  });

  it('merges concurrent updates of the orchestrator (health) and the collector (checkpoints) without losing either', async () => {
    const s = await store();
    const updates: Array<Promise<unknown>> = [];
    for (let i = 0; i < 20; i++) {
      updates.push(updateCollectorState(s, 'trades:binance', { checkpoints: [{ key: `trades:binance:S${i % 4}`, lastTradeId: String(i) }] }));
      updates.push(updateCollectorState(s, 'trades:binance', { state: i % 2 ? 'running' : 'backing-off', restarts: i, lastError: `e${i}` }));
    }
    await Promise.all(updates);
    const r = (await s.load('trades:binance'))!;
    expect(r).toMatchObject({ state: 'running', restarts: 19, lastError: 'e19' });
    expect(r.checkpoints).toEqual([0, 1, 2, 3].map((k) => ({ key: `trades:binance:S${k}`, lastTradeId: String(16 + k) })));
  });

  it('refuses calls once closed', async () => {
    const s = await store();
    await opened!.close();
    opened = undefined;
    await expect(s.load('a')).rejects.toBeInstanceOf(StorageClosedError);
    await expect(s.save(record('a'))).rejects.toBeInstanceOf(StorageClosedError);
    await expect(s.list()).rejects.toBeInstanceOf(StorageClosedError);
  });
});

describe('collector state in SQLite', () => {
  it('is read by a read-only second instance while the writer stays open, which cannot save', async () => {
    const path = join(dir, 'readers.db');
    const writer = new SqliteStorage({ path });
    const saved = record('trades:binance', { checkpoints: [{ key: 'trades:binance:BTC-USDT', lastTimestamp: 10, lastTradeId: '42' }] });
    await writer.collectorState.save(saved);
    const reader = new SqliteStorage({ path, readOnly: true });
    try {
      expect(await reader.collectorState.list()).toEqual([saved]);
      expect(await reader.collectorState.load('trades:binance')).toEqual(saved);
      await expect(reader.collectorState.save(saved)).rejects.toThrow(/read-only: collectorState.save\(\) is not allowed/);
    } finally {
      await reader.close();
      await writer.close();
    }
  });

  it('writes the buffered samples before a checkpoint, so the checkpoint is never ahead of the data', async () => {
    const path = join(dir, 'order.db');
    const writer = new SqliteStorage({ path, flushIntervalMs: 60_000 });
    await writer.store('trades:binance:BTC-USDT', 1, 1_000);
    await writer.collectorState.save(record('trades:binance', { checkpoints: [{ key: 'trades:binance:BTC-USDT', lastTimestamp: 1_000 }] }));
    const reader = new SqliteStorage({ path, readOnly: true });
    try {
      expect(await reader.fetch('trades:binance:BTC-USDT', 0, 2_000)).toEqual([[1_000, 1]]);
    } finally {
      await reader.close();
      await writer.close();
    }
  });

  it('resumes from the checkpoints an earlier build kept in the record (JSON), until newer ones commit with samples', async () => {
    const path = join(dir, 'earlier-build.db');
    await new SqliteStorage({ path }).close();
    const db = new Database(path);
    db.exec('DROP TABLE collector_checkpoints');
    db.prepare("INSERT INTO collector_state VALUES ('trades:okx', 'stopped', 0, NULL, 5, ?)").run(
      JSON.stringify([{ key: 'trades:okx:BTC-USDT', lastTradeId: '7', lastTimestamp: 70 }, { key: 'trades:okx:ETH-USDT', lastTradeId: '3' }]),
    );
    db.close();
    const reader = new SqliteStorage({ path, readOnly: true });
    expect((await reader.collectorState.load('trades:okx'))!.checkpoints).toHaveLength(2);
    await reader.close();
    const writer = new SqliteStorage({ path });
    try {
      await updateCollectorState(writer.collectorState, 'trades:okx', { state: 'running' });
      await writer.storeMany([{ key: 'trades:okx:BTC-USDT', value: 1, timestamp: 80 }], {
        checkpoint: { collector: 'trades:okx', checkpoints: [{ key: 'trades:okx:BTC-USDT', lastTradeId: '8', lastTimestamp: 80 }] },
      });
      await writer.flush();
      expect(await writer.collectorState.load('trades:okx')).toMatchObject({
        state: 'running',
        checkpoints: [{ key: 'trades:okx:BTC-USDT', lastTradeId: '8', lastTimestamp: 80 }, { key: 'trades:okx:ETH-USDT', lastTradeId: '3' }],
      });
    } finally {
      await writer.close();
    }
  });

  it('reads an older file without the table as having no records', async () => {
    const path = join(dir, 'older.db');
    await new SqliteStorage({ path }).close();
    const db = new Database(path);
    db.exec('DROP TABLE collector_state');
    db.close();
    const reader = new SqliteStorage({ path, readOnly: true });
    expect(await reader.collectorState.list()).toEqual([]);
    expect(await reader.collectorState.load('x')).toBeUndefined();
    await reader.close();
  });
});

describe('collector state in plain Redis', () => {
  it('keeps each record in a hash under collector-state: and the ids in a set, with no module, index or JSON', async () => {
    await withRedis(redis.url, (client) => client.flushAll());
    const store = await RedisCollectorStateStore.open({ url: redis.url });
    try {
      await store.save(record('trades:binance', { lastError: 'HTTP 451', checkpoints: [{ key: 'trades:binance:BTC-USDT', lastTradeId: '7' }] }));
      await withRedis(redis.url, async (client) => {
        expect(await client.sendCommand(['MODULE', 'LIST'])).toEqual([]);
        expect((await client.keys('*')).sort()).toEqual([COLLECTOR_STATE_IDS, collectorStateKey('trades:binance')].sort());
        expect(collectorStateKey('trades:binance')).toBe('collector-state:collector:trades:binance');
        expect(await client.type(collectorStateKey('trades:binance'))).toBe('hash');
        expect(await client.hGetAll(collectorStateKey('trades:binance'))).toEqual({
          collector: 'trades:binance',
          state: 'running',
          restarts: '0',
          lastError: 'HTTP 451',
          updatedAt: '1790000000123',
          checkpoints: '[{"key":"trades:binance:BTC-USDT","lastTradeId":"7"}]',
        });
        expect(await client.sMembers(COLLECTOR_STATE_IDS)).toEqual(['trades:binance']);
        // A listed id whose hash was deleted is skipped, not shown empty.
        await client.sAdd(COLLECTOR_STATE_IDS, 'gone');
      });
      expect((await store.list()).map((r) => r.collector)).toEqual(['trades:binance']);
    } finally {
      await store.close();
    }
  });

  it('says when Redis is unreachable, masking the password', async () => {
    const port = await freePort();
    const err = await RedisCollectorStateStore.open({ url: `redis://:s3cret-pw@127.0.0.1:${port}`, connectTimeoutMs: 300 }).then(
      () => expect.fail('expected a rejection'),
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(StorageError);
    expect(err.message).toMatch(/cannot connect to Redis at redis:\/\/:\*\*\*@127\.0\.0\.1/);
    expect(err.message).not.toContain('s3cret-pw');
  });

  it('fails a save with a StorageError once Redis goes away, and works again when it is back', async () => {
    const own = await RedisServer.start();
    const store = await RedisCollectorStateStore.open({ url: own.url });
    try {
      await store.save(record('a'));
      await own.stop();
      await expect(store.save(record('a', { state: 'stopped' }))).rejects.toThrow(/cannot save the collector state of a \(Redis at .* is unreachable\)/);
      await own.restart();
      await until('the reconnect', async () => store.save(record('a', { state: 'stopped' })).then(() => true, () => false));
      expect((await store.load('a'))!.state).toBe('stopped');
    } finally {
      await store.close();
      await own.dispose();
    }
  });
});

describe('TradeDeduplicator seeded from a checkpoint', () => {
  const trade = (id: string | number, exchangeTime: number, symbol = 'BTC-USDT'): Trade => ({
    exchange: 'binance', symbol, id, price: 1, amount: 1, side: 1, exchangeTime, receivedAt: exchangeTime,
  });

  it('drops the trades up to the seeded id, numbers or text alike, and takes the next ones', () => {
    const dedup = new TradeDeduplicator(true);
    dedup.seed('BTC-USDT', '1000', 50);
    expect(dedup.accept(trade(999, 49))).toBe(false);
    expect(dedup.accept(trade(1000, 50))).toBe(false);
    expect(dedup.accept(trade(1001, 51))).toBe(true);
    expect(dedup.accept(trade('1000', 50, 'ETH-USDT'))).toBe(true); // other symbols are not touched
  });

  it('never moves the seen ids backwards: an older checkpoint forgets no id seen since, a newer one is not undone', () => {
    const dedup = new TradeDeduplicator(true);
    expect(dedup.accept(trade(2000, 10))).toBe(true);
    dedup.seed('BTC-USDT', '1500', 5);
    expect(dedup.accept(trade(2000, 10))).toBe(false);
    expect(dedup.accept(trade(1400, 4))).toBe(false);
    dedup.seed('BTC-USDT', '2500', 20);
    dedup.seed('BTC-USDT', '2200', 15);
    expect(dedup.accept(trade(2300, 16))).toBe(false);
    expect(dedup.accept(trade(2501, 21))).toBe(true);
  });

  it('follows ids that restarted while the daemon was down (newer trade, lower id)', () => {
    const dedup = new TradeDeduplicator(true);
    dedup.seed('BTC-USDT', '900000', 1_000);
    expect(dedup.accept(trade(899_999, 1_000))).toBe(false); // a repeat: not newer than the checkpoint
    expect(dedup.accept(trade(5, 1_001))).toBe(true); // a testnet reset
    expect(dedup.accept(trade(6, 1_002))).toBe(true);
    expect(dedup.accept(trade(6, 1_003))).toBe(false);
  });

  it('matches an unordered id sent as a number against the same id seeded as text', () => {
    const dedup = new TradeDeduplicator(false);
    dedup.seed('BTC-USDT', '77');
    expect(dedup.accept(trade(77, 1))).toBe(false);
    expect(dedup.accept(trade(78, 1))).toBe(true);
  });
});

/** Count of trades stored under `key` (the `count` field summed). */
async function storedCount(storage: DataCollectionStorage, key: string): Promise<number> {
  const rows = (await storage.fetch(key, 0, Number.MAX_SAFE_INTEGER)) as Array<[number, { count: number }]>;
  return rows.reduce((n, [, v]) => n + v.count, 0);
}

/**
 * A relay in front of a Binance simulator that first sends each new subscriber `replay`:
 * trades it was already sent, verbatim (ids and times), as Coinbase's last_match or Kraken's
 * snapshot do on every connect; then it relays the live stream.
 */
async function replayingRelay(sim: BinanceSimulator) {
  const replay: BinanceTradePayload[] = [];
  let replayed = 0;
  let subscriptions = 0;
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  wss.on('connection', (client, request) => {
    const upstream = new WebSocket(`${sim.wsUrl}${request.url ?? '/ws'}`);
    const waiting: string[] = [];
    upstream.on('open', () => waiting.splice(0).forEach((m) => upstream.send(m)));
    client.on('message', (m) => (upstream.readyState === WebSocket.OPEN ? upstream.send(m.toString()) : waiting.push(m.toString())));
    let subscribed = false;
    upstream.on('message', (m) => {
      client.send(m.toString());
      if (!subscribed && m.toString().includes('"result":null')) {
        subscribed = true; // right after the SUBSCRIBE ack, before any live trade
        subscriptions += 1;
        for (const trade of replay) client.send(JSON.stringify(trade));
        replayed += replay.length;
      }
    });
    client.on('close', () => upstream.close());
    upstream.on('close', () => client.close());
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
  });
  const { port } = wss.address() as AddressInfo;
  const relay = {
    wsUrl: `ws://127.0.0.1:${port}`,
    restUrl: sim.restUrl,
    /** Trades sent to every new subscriber first. */
    replay,
    /** Replayed trades sent so far, over every connection. */
    replayed: () => replayed,
    /** Connections whose subscription was acknowledged (and replay sent). */
    subscriptions: () => subscriptions,
    close: () => {
      wss.clients.forEach((c) => c.terminate());
      return new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
  relays.push(relay);
  return relay;
}

describe('TradeStreamCollector checkpoints', () => {
  const KEY = 'trades:binance:BTC-USDT';

  it('saves the last trade id and time it stored; a new instance resumes from them and counts no re-sent trade twice', async () => {
    const storage = new MemoryStorage();
    const sim = await simulator(7);
    const relay = await replayingRelay(sim);
    const collect = () => {
      const c = new TradeStreamCollector({ id: 'trades:binance', protocol: binanceTrades, symbols: ['BTC-USDT'], wsUrl: relay.wsUrl });
      const abort = new AbortController();
      return { c, abort, done: c.run(storage, abort.signal) };
    };

    // First "process": collect a while, then stop the market and the collector.
    const one = collect();
    await until('100 trades sent', () => sim.sent('BTC-USDT').count >= 100);
    sim.pause();
    await until('every sent trade stored', async () => (await storedCount(storage, KEY)) === sim.sent('BTC-USDT').count);
    one.abort.abort();
    await one.done;
    const before = sim.sent('BTC-USDT');
    const last1 = before.trades.at(-1)!;
    const saved = (await storage.collectorState.load('trades:binance'))!;
    expect(saved.checkpoints).toEqual([{ key: KEY, lastTradeId: String(last1.t), lastTimestamp: last1.T }]);

    // Second "process" (a fresh collector, nothing in memory): the exchange first sends the
    // last 30 trades again, then new ones.
    relay.replay.push(...before.trades.slice(-30));
    const two = collect();
    await until('the replay sent', () => relay.replayed() === 30);
    sim.resume();
    await until('50 new trades sent', () => sim.sent('BTC-USDT').count >= before.count + 50);
    sim.pause();
    const after = sim.sent('BTC-USDT');
    await until('the new trades stored', async () => (await storedCount(storage, KEY)) >= after.count, 5_000).catch(() => undefined);
    await sleep(200); // and nothing more arrives
    two.abort.abort();
    await two.done;
    expect(await storedCount(storage, KEY)).toBe(after.count); // each trade once: the 30 re-sent ones were dropped
    const last2 = after.trades.at(-1)!;
    expect((await storage.collectorState.load('trades:binance'))!.checkpoints).toEqual([{ key: KEY, lastTradeId: String(last2.t), lastTimestamp: last2.T }]);
    expect(two.c.storedCheckpoints()).toEqual([{ key: KEY, lastTradeId: String(last2.t), lastTimestamp: last2.T }]);
    await storage.close();
  });
});

describe('TradeCheckpoints', () => {
  it('seeds from the stored checkpoints of its own keys only, once per process', async () => {
    const store = new MemoryStorage().collectorState;
    await store.save(record('c', { checkpoints: [{ key: 'mine', lastTradeId: '5', lastTimestamp: 50 }, { key: 'other', lastTradeId: '9' }] }));
    const seeded: string[] = [];
    const checkpoints = new TradeCheckpoints('c', silentLogger);
    await checkpoints.begin(store, ['mine'], (c) => seeded.push(`${c.key}@${c.lastTradeId}`));
    await checkpoints.begin(store, ['mine'], (c) => seeded.push(`${c.key}@${c.lastTradeId}`));
    expect(seeded).toEqual(['mine@5']);
  });

  it('never moves a checkpoint\'s time backwards when a batch ends on an older trade time', async () => {
    const checkpoints = new TradeCheckpoints('c', silentLogger);
    checkpoints.stored([checkpoints.next('k', 1_000, '7')]);
    expect(checkpoints.next('k', 900, '8')).toEqual({ key: 'k', lastTimestamp: 1_000, lastTradeId: '8' });
  });
});

describe('DataCollector state records', () => {
  const fast = { initialDelayMs: 10, maxDelayMs: 40, resetAfterMs: 10_000 };

  it('saves state, restarts and last error as they change and every few seconds, and "stopped" before the storage closes', async () => {
    const path = join(dir, 'orchestrator.db');
    const storage = new SqliteStorage({ path });
    const flaky = new ScriptedCollector('flaky', [{ samples: 1, then: { throw: 'socket closed by peer' } }, { samples: 1_000_000, everyMs: 5, then: 'run-until-abort' }]);
    const steady = new ScriptedCollector('steady', [{ samples: 1_000_000, everyMs: 5, then: 'run-until-abort' }]);
    const dc = new DataCollector([flaky, steady], storage, { restart: fast, watchdogIntervalMs: 20, stateSaveIntervalMs: 100 });
    dc.start();
    // The first run's "running" record stays stored until the restart's records land (saves wait
    // for the samples before them to commit): wait for the second run's.
    await until('flaky restarted and running', async () => {
      const record = await storage.collectorState.load('flaky');
      return record?.state === 'running' && record.restarts === 1 && flaky.runs >= 2;
    });
    expect(await storage.collectorState.load('flaky')).toMatchObject({ restarts: 1, lastError: 'socket closed by peer' });
    const before = (await storage.collectorState.load('steady'))!.updatedAt;
    await until('a periodic save', async () => (await storage.collectorState.load('steady'))!.updatedAt > before + 50);
    expect(await dc.stop()).toBe(true);

    const reader = new SqliteStorage({ path, readOnly: true });
    const records = await reader.collectorState.list();
    await reader.close();
    expect(records.map((r) => [r.collector, r.state, r.restarts, r.lastError])).toEqual([
      ['flaky', 'stopped', 1, 'socket closed by peer'],
      ['steady', 'stopped', 0, null],
    ]);
  });
});

describe('formatCollectorStates', () => {
  it('shows each collector and its checkpoints, and flags a live state nobody has saved for a while', () => {
    const now = 1_790_000_100_000;
    const text = formatCollectorStates(
      [
        record('trades:binance', { state: 'stopped', updatedAt: now - 5_000, checkpoints: [{ key: 'trades:binance:BTC-USDT', lastTimestamp: now - 6_000, lastTradeId: '42' }] }),
        record('trades:okx', { state: 'running', restarts: 2, lastError: 'HTTP 503', updatedAt: now - 120_000 }),
      ],
      now,
    );
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^collector\s+state\s+restarts\s+updated\s+checkpoints\s+last error$/);
    expect(lines[2]).toMatch(/^trades:binance\s+stopped\s+0\s+5s ago\s+1\s+-$/);
    expect(lines[3]).toMatch(/^trades:okx\s+running \(not updated for 2m: daemon gone\?\)\s+2\s+2m ago\s+0\s+HTTP 503$/);
    expect(text).toMatch(/trades:binance\s+trades:binance:BTC-USDT\s+2026-\d\d-\d\dT\S+ \(6s ago\)\s+42/);
    expect(formatCollectorStates([])).toBe('(no collector state saved yet)');
  });
});

describe('collector status --redis', () => {
  it('prints the saved records of any Redis readably, or as JSON', async () => {
    await withRedis(redis.url, (client) => client.flushAll());
    const store = await RedisCollectorStateStore.open({ url: redis.url });
    const saved = record('trades:binance', { state: 'stopped', updatedAt: Date.now(), checkpoints: [{ key: 'trades:binance:BTC-USDT', lastTimestamp: Date.now(), lastTradeId: '1000123' }] });
    await store.save(saved);
    await store.close();
    const table = await collector(['status', '--redis', redis.url]);
    expect(table.stderr).toBe('');
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/trades:binance\s+stopped\s+0\s+\S+ ago\s+1\s+-/);
    expect(table.stdout).toMatch(/trades:binance:BTC-USDT\s+\S+ \(\S+ ago\)\s+1000123/);
    const json = await collector(['status', '--redis', redis.url, '--json']);
    expect(JSON.parse(json.stdout)).toEqual([saved]);
  });

  it('exits 2 for a malformed URL and for an unreachable Redis (as every command reading storage), with one masked line', async () => {
    const bad = await collector(['status', '--redis', 'http://127.0.0.1:6379']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/bad Redis url .*scheme must be redis:\/\/ or rediss:\/\//);
    const away = await collector(['status', '--redis', `redis://:s3cret-pw@127.0.0.1:${await freePort()}`]);
    expect(away.code).toBe(2);
    expect(away.stderr.trim().split('\n')).toHaveLength(1);
    expect(away.stderr).toMatch(/^collector: cannot connect to Redis at redis:\/\/\S*\*\*\*@127\.0\.0\.1:\d+/);
    expect(away.stderr).not.toContain('s3cret-pw');
    const both = await collector(['status', '--redis', redis.url, '--url', 'http://127.0.0.1:9464']);
    expect(both.code).toBe(2);
  });
});

const timeSeries = timeSeriesTarget();
if (!timeSeries) console.warn(`${SKIP_MESSAGE} (checkpoints across a daemon restart on redis-timeseries; the SQLite run still happens)`);

/** The storage block and the `collector status` arguments that read saved state, per backend. */
const daemonBackends: Array<{ name: string; skip?: string; setup: () => Promise<{ storage: string; statusArgs: (config: string) => string[] }> }> = [
  {
    name: 'sqlite',
    setup: async () => ({ storage: '{ kind: sqlite, path: ./restart.db }', statusArgs: (config) => ['--from-storage', '-c', config] }),
  },
  {
    name: 'redis-timeseries',
    skip: timeSeries ? undefined : SKIP_MESSAGE,
    setup: async () => {
      const url = timeSeries!.url ?? (await RedisServer.start({ module: timeSeries!.module })).url;
      return { storage: `{ kind: redis-timeseries, url: "${url}" }`, statusArgs: () => ['--redis', url] };
    },
  },
];

describe.each(daemonBackends)('checkpoints surviving a daemon restart, on $name', ({ name, skip, setup }) => {
  it.skipIf(skip !== undefined)('a stopped daemon leaves its checkpoints; a restarted one resumes from them and counts no re-sent trade twice', async () => {
    const { storage, statusArgs } = await setup();
    const sim = await simulator(11);
    const relay = await replayingRelay(sim);
    const config = join(dir, `restart-${name}.yaml`);
    const KEY = 'trades:binance:BTC-USDT';
    writeConfig(
      config,
      `storage: ${storage}
http: { listen: 127.0.0.1:0 }
exchanges:
  binance: { wsUrl: "${relay.wsUrl}", restUrl: "${relay.restUrl}" }
feeds:
  - { name: btc, exchange: binance, symbol: BTC-USDT, collect: [trades] }
`,
    );
    const savedRecords = async () => {
      const out = await collector(['status', ...statusArgs(config), '--json']);
      expect(out.stderr).toBe('');
      return JSON.parse(out.stdout) as CollectorStateRecord[];
    };
    const storedTrades = async () => {
      const rows = JSON.parse((await collector(['fetch', KEY, '0', 'now', '-c', config, '-f', 'json'])).stdout) as Array<[number, { count: number }]>;
      return rows.reduce((n, [, v]) => n + v.count, 0);
    };
    /** Runs the daemon while `count` more trades are sent, then stops the market and Ctrl-Cs it. */
    const runDaemonFor = async (count: number) => {
      const from = sim.sent('BTC-USDT').count;
      const subscribed = relay.subscriptions();
      const daemon = await startCollectorDaemon(['--config', config]);
      daemons.push(daemon);
      await until('the subscription', () => relay.subscriptions() > subscribed);
      sim.resume();
      await until(`${count} trades sent`, () => sim.sent('BTC-USDT').count >= from + count, 20_000);
      sim.pause();
      await sleep(400); // the last frames arrive and are written
      daemon.child.kill('SIGINT');
      expect(await daemon.exited).toBe(0);
    };

    sim.pause();
    await runDaemonFor(100);
    const first = sim.sent('BTC-USDT');
    expect(await storedTrades()).toBe(first.count);
    const [stopped] = await savedRecords();
    expect(stopped).toMatchObject({ collector: 'trades:binance', state: 'stopped', restarts: 0, lastError: null });
    const last1 = first.trades.at(-1)!;
    expect(stopped!.checkpoints).toEqual([{ key: KEY, lastTradeId: String(last1.t), lastTimestamp: last1.T }]);

    // The restarted daemon's exchange first sends the last 30 trades again, then new ones.
    relay.replay.push(...first.trades.slice(-30));
    const replayedBefore = relay.replayed();
    await runDaemonFor(50);
    expect(relay.replayed() - replayedBefore).toBe(30);
    const all = sim.sent('BTC-USDT');
    expect(await storedTrades()).toBe(all.count); // each trade once
    const [resumed] = await savedRecords();
    expect(resumed).toMatchObject({ collector: 'trades:binance', state: 'stopped', restarts: 0 });
    const last2 = all.trades.at(-1)!;
    expect(resumed!.checkpoints).toEqual([{ key: KEY, lastTradeId: String(last2.t), lastTimestamp: last2.T }]);

    const readable = await collector(['status', ...statusArgs(config)]);
    expect(readable.code).toBe(0);
    expect(readable.stdout).toMatch(/trades:binance\s+stopped\s+0\s+\S+ ago\s+1\s+-/);
    expect(readable.stdout).toContain(String(last2.t));
    // Two daemons and six CLI runs, each its own Node process.
  }, 90_000);
});
