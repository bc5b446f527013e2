import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { StorageError } from '../storage/errors.js';
import type { Point } from '../storage/types.js';
import { memoryStorageKind, sqliteStorageKind } from '../storage/kinds.js';
import { MemoryStorage } from '../storage/memory.js';
import { SqliteStorage, type SqliteStorageOptions } from '../storage/sqlite.js';
import { silentLogger } from '../common/logger.js';
import { storageContract } from './storage-contract.js';
import { childFetch, ensureBuilt } from './support/storage-child.js';

const execFileAsync = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BUILT = join(ROOT, 'dist/storage/sqlite.js');

const tempDirs: string[] = [];
/** A new temp directory, removed after the test. */
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'collector-storage-'));
  tempDirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

beforeAll(ensureBuilt, 120_000);

storageContract('memory', async () => ({ storage: new MemoryStorage() }));

storageContract('sqlite', async () => {
  const path = join(tempDir(), 'nested', 'collector.db');
  return {
    storage: new SqliteStorage({ path }),
    openReader: async () => new SqliteStorage({ path, readOnly: true }),
    childSpec: { kind: 'sqlite', path },
  };
});

// The same contract with the write transactions on the calling thread instead of the writer thread.
storageContract('sqlite, writing on the calling thread', async () => {
  const path = join(tempDir(), 'collector.db');
  return {
    storage: new SqliteStorage({ path, writeThread: false }),
    openReader: async () => new SqliteStorage({ path, readOnly: true }),
    childSpec: { kind: 'sqlite', path, writeThread: false },
  };
});

describe('SqliteStorage', () => {
  const opened: SqliteStorage[] = [];
  /** Opens a storage closed after the test. */
  const openStorage = (options: SqliteStorageOptions) => {
    const s = new SqliteStorage(options);
    opened.push(s);
    return s;
  };
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close().catch(() => undefined);
  });

  it('keeps data and declared policies across close and reopen', async () => {
    const path = join(tempDir(), 'db.sqlite');
    const first = openStorage({ path });
    const labels = { kind: 'trades', exchange: 'binance', symbol: 'BTC-USDT' };
    await first.declare({ key: 'trades:binance:BTC-USDT', fields: { amount: 'sum', price: 'last' }, retentionMs: 3_600_000, labels });
    await first.store('trades:binance:BTC-USDT', { amount: 1.5, price: 100 }, 1000);
    await first.store('klines:binance:BTC-USDT:1m', { open: 1, close: 2 }, 60_000);
    await first.close();

    const second = openStorage({ path });
    await second.store('trades:binance:BTC-USDT', { amount: 2.5, price: 101 }, 1000);
    expect(await second.fetch('trades:binance:BTC-USDT', 0, 2000)).toEqual([[1000, { amount: 4, price: 101 }]]);
    await expect(second.declare({ key: 'trades:binance:BTC-USDT', fields: { amount: 'last' } })).rejects.toThrow(/trades:binance:BTC-USDT/);
    // An undeclared series stays open to new fields; a declared one does not.
    await second.store('klines:binance:BTC-USDT:1m', { open: 1, close: 3, volume: 9 }, 60_000);
    await expect(second.store('trades:binance:BTC-USDT', { side: 1 }, 1000)).rejects.toThrow(StorageError);
    await second.close();

    const third = openStorage({ path, readOnly: true });
    const keys = await third.keys();
    expect(keys.find((k) => k.key === 'trades:binance:BTC-USDT')).toEqual({
      key: 'trades:binance:BTC-USDT',
      fields: { amount: 'sum', price: 'last' },
      retentionMs: 3_600_000,
      labels,
      count: 1,
      first: 1000,
      last: 1000,
    });
    expect(await third.fetch('klines:binance:BTC-USDT:1m', 0, 60_000)).toEqual([[60_000, { open: 1, close: 3, volume: 9 }]]);
  });

  it('batches writes: many storeMany calls are written in one transaction', async () => {
    const s = openStorage({ path: join(tempDir(), 'db.sqlite'), flushIntervalMs: 600_000 });
    for (let call = 0; call < 100; call++) {
      await s.storeMany(Array.from({ length: 10 }, (_, i) => ({ key: `batch:${i % 3}`, value: call, timestamp: call * 10 + i })));
    }
    expect(s.stats()).toMatchObject({ buffered: 1000, written: 0, transactions: 0 });
    await s.flush();
    expect(s.stats()).toMatchObject({ buffered: 0, written: 1000, transactions: 1 });
    expect((await s.keys()).reduce((n, k) => n + k.count, 0)).toBe(1000);
  });

  it('writes the buffer on its own after flushIntervalMs', async () => {
    const path = join(tempDir(), 'db.sqlite');
    const s = openStorage({ path, flushIntervalMs: 20 });
    await s.storeMany([{ key: 'timer:x', value: 1, timestamp: 1 }, { key: 'timer:x', value: 2, timestamp: 2 }]);
    await vi.waitFor(() => expect(s.stats().buffered).toBe(0), { timeout: 10_000 });
    const reader = openStorage({ path, readOnly: true });
    expect(await reader.fetch('timer:x', 0, 10)).toEqual([[1, 1], [2, 2]]);
  });

  it('applies backpressure: above maxBuffered, storeMany writes before returning', async () => {
    const path = join(tempDir(), 'db.sqlite');
    const s = openStorage({ path, maxBuffered: 100, flushIntervalMs: 600_000 });
    await s.storeMany(Array.from({ length: 150 }, (_, i) => ({ key: 'bp:x', value: i, timestamp: i })));
    expect(s.stats()).toMatchObject({ buffered: 0, written: 150 });
    const reader = openStorage({ path, readOnly: true });
    expect(await reader.fetch('bp:x', 0, 1000)).toHaveLength(150);
  });

  it('keeps the buffer when a write fails, counts the error, and writes it on the next flush', async () => {
    const path = join(tempDir(), 'db.sqlite');
    const s = openStorage({ path, flushIntervalMs: 600_000, busyTimeoutMs: 10 });
    await s.store('fail:x', 1, 1);
    await s.flush();
    const blocker = new Database(path);
    blocker.exec('BEGIN IMMEDIATE'); // holds the write lock, as another writer would
    try {
      await s.storeMany([{ key: 'fail:x', value: 2, timestamp: 2 }, { key: 'fail:y', value: 3, timestamp: 3 }]);
      const err = await s.flush().then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(StorageError);
      expect((err as Error).message).toContain(path);
      expect(s.stats()).toMatchObject({ buffered: 2, written: 1, errors: 1 });
    } finally {
      blocker.exec('ROLLBACK');
      blocker.close();
    }
    await s.flush();
    expect(s.stats()).toMatchObject({ buffered: 0, written: 3, errors: 1 });
    expect(await s.fetch('fail:x', 0, 10)).toEqual([[1, 1], [2, 2]]);
    expect(await s.fetch('fail:y', 0, 10)).toEqual([[3, 3]]);
  });

  it('serves a reader in another process while the writer stays open', async () => {
    const path = join(tempDir(), 'db.sqlite');
    const s = openStorage({ path, flushIntervalMs: 600_000 });
    await s.declare({ key: 'trades:test:BTC-USDT', fields: { amount: 'sum' } });
    await s.store('trades:test:BTC-USDT', { amount: 1 }, 10);
    await s.flush();
    expect(await childFetch({ kind: 'sqlite', path }, 'trades:test:BTC-USDT', 0, 100)).toEqual([[10, { amount: 1 }]]);
    await s.storeMany([{ key: 'trades:test:BTC-USDT', value: { amount: 2 }, timestamp: 10 }, { key: 'trades:test:BTC-USDT', value: { amount: 5 }, timestamp: 20 }]);
    await s.flush();
    expect(await childFetch({ kind: 'sqlite', path }, 'trades:test:BTC-USDT', 0, 100)).toEqual([[10, { amount: 3 }], [20, { amount: 5 }]]);
  });

  it('lets a process that never calls close() exit once its writes are done (the writer thread keeps nothing alive)', async () => {
    const path = join(tempDir(), 'db.sqlite');
    const script = `
      const { SqliteStorage } = await import(process.argv[1]);
      const s = new SqliteStorage({ path: process.argv[2] });
      await s.storeMany(Array.from({ length: 10000 }, (_, i) => ({ key: 'exit:x', value: i, timestamp: i })));
      await s.flush();`;
    await execFileAsync(process.execPath, ['--input-type=module', '-e', script, pathToFileURL(BUILT).href, path], { cwd: ROOT, timeout: 20_000 });
    const reader = openStorage({ path, readOnly: true });
    expect(await reader.fetch('exit:x', 0, 10_000)).toHaveLength(10_000);
  });

  it('loses nothing when its writer thread dies: the batch goes back to the buffer and a new thread writes it', async () => {
    const s = openStorage({ path: join(tempDir(), 'db.sqlite'), flushIntervalMs: 600_000 });
    await s.storeMany(Array.from({ length: 100 }, (_, i) => ({ key: 'thread:x', value: i, timestamp: i })));
    await s.flush();
    // As an out-of-memory abort or a native crash would end it.
    await (s as unknown as { channel: { worker: { terminate(): Promise<number> } } }).channel.worker.terminate();
    await s.storeMany(Array.from({ length: 100 }, (_, i) => ({ key: 'thread:x', value: i, timestamp: 100 + i })));
    await s.flush().catch(() => undefined); // may fail once, if it raced the thread's exit
    await s.flush();
    const stored = await s.fetch('thread:x', 0, 1_000);
    expect(stored).toHaveLength(200);
    expect(stored.every(([t, v]) => v === t % 100)).toBe(true);
    expect(s.stats()).toMatchObject({ buffered: 0, written: 200 });
  });

  it('refuses a read-only open of a missing file with an error naming the path, creating nothing', () => {
    const path = join(tempDir(), 'missing', 'collector.db');
    expect(() => new SqliteStorage({ path, readOnly: true })).toThrow(StorageError);
    expect(() => new SqliteStorage({ path, readOnly: true })).toThrow(path);
    expect(existsSync(join(path, '..'))).toBe(false);
  });

  it('refuses a file that is not a collector database, naming the path', () => {
    const path = join(tempDir(), 'notes.txt');
    writeFileSync(path, 'this is not a database, just some text that is long enough to have a header'.repeat(10));
    expect(() => new SqliteStorage({ path, readOnly: true })).toThrow(path);
    expect(() => new SqliteStorage({ path })).toThrow(path);
  });

  it('never writes through a read-only open', async () => {
    const path = join(tempDir(), 'db.sqlite');
    const writer = openStorage({ path });
    await writer.store('ro:x', 1, 1);
    await writer.close();
    const reader = openStorage({ path, readOnly: true });
    await expect(reader.store('ro:x', 2, 2)).rejects.toThrow(/read-only/);
    await expect(reader.storeMany([{ key: 'ro:x', value: 2, timestamp: 2 }])).rejects.toThrow(/read-only/);
    await expect(reader.declare({ key: 'ro:y', fields: { value: 'sum' } })).rejects.toThrow(/read-only/);
    await reader.flush();
    expect(await reader.fetch('ro:x', 0, 10)).toEqual([[1, 1]]);
    expect(await reader.fetch('ro:unknown', 0, 10)).toEqual([]);
    expect(reader.stats()).toMatchObject({ buffered: 0, written: 0 });
  });

  it('merges large batches (many rows per upsert statement) exactly as MemoryStorage does', async () => {
    const s = openStorage({ path: join(tempDir(), 'db.sqlite'), flushIntervalMs: 600_000 });
    const memory = new MemoryStorage();
    const fields = { l: 'last', f: 'first', mn: 'min', mx: 'max', s: 'sum' } as const;
    for (const target of [s, memory]) {
      await target.declare({ key: 'big:a', fields });
      await target.declare({ key: 'big:b', fields: { s: 'sum', l: 'last' } });
    }
    // 1,500 points over 40 timestamps: each statement of up to 256 rows holds the same
    // (series, ts, field) several times, interleaved across two series and partial records.
    const points = Array.from({ length: 1_500 }, (_, i): Point => {
      const v = ((i * 7919) % 1000) / 8;
      return i % 3 === 2
        ? { key: 'big:b', value: { s: v, l: v }, timestamp: i % 40 }
        : { key: 'big:a', value: i % 5 === 0 ? { s: v, mx: v } : { l: v, f: v, mn: v, mx: v, s: v }, timestamp: i % 40 };
    });
    for (const target of [s, memory]) {
      await target.storeMany(points.slice(0, 700));
      await target.flush();
      await target.storeMany(points.slice(700));
    }
    for (const key of ['big:a', 'big:b']) expect(await s.fetch(key, 0, 100)).toEqual(await memory.fetch(key, 0, 100));
  });

  it('writes batch after batch through reused row buffers, a series gaining fields between them, exactly as MemoryStorage holds it', async () => {
    // Small batches: many transactions, each series' buffers handed to the writer thread and back.
    const s = openStorage({ path: join(tempDir(), 'db.sqlite'), flushIntervalMs: 600_000, maxBuffered: 64 });
    const memory = new MemoryStorage();
    for (const target of [s, memory]) await target.declare({ key: 'reuse:a', fields: { amount: 'sum', price: 'last' } });
    for (let round = 0; round < 12; round++) {
      const points: Point[] = [];
      for (let i = 0; i < 150; i++) {
        const t = round * 100 + i; // rounds overlap by 50 ms: rows merge across transactions
        points.push({ key: 'reuse:a', value: { amount: i + 0.25, price: t }, timestamp: t });
        // An undeclared series that gains a field after round 5, so its rows widen midway.
        points.push({ key: 'reuse:b', value: round < 6 ? { x: t } : { x: t, y: -t }, timestamp: t });
      }
      for (const target of [s, memory]) {
        await target.storeMany(points);
        if (round % 3 === 2) await target.flush();
      }
    }
    await s.flush();
    expect(s.stats()).toMatchObject({ buffered: 0 });
    for (const key of ['reuse:a', 'reuse:b']) {
      const expected = await memory.fetch(key, 0, 10_000);
      expect(expected.length).toBeGreaterThan(1_000);
      expect(await s.fetch(key, 0, 10_000)).toEqual(expected);
    }
  });

  it('upgrades a schema-1 file (a row per field) in place: every sample, policy and label kept', async () => {
    const path = join(tempDir(), 'v1.sqlite');
    writeSchema1File(path);
    // A reader cannot upgrade; it says what to do.
    expect(() => new SqliteStorage({ path, readOnly: true })).toThrow(/schema version 1 is older than this build's 2; run the collector \(a writer\) on it once/);
    const s = openStorage({ path });
    expect(await s.fetch('trades:binance:BTC-USDT', 0, 5_000)).toEqual([
      [1_000, { price: 100, amount: 1.5, count: 2 }],
      [1_001, { price: 0.30000000000000004, amount: 5e-324, count: 1 }],
    ]);
    expect(await s.fetch('klines:binance:BTC-USDT:1m', 0, 120_000)).toEqual([[60_000, { open: 1, close: 2 }], [120_000, { open: 2, close: 3, volume: 7 }]]);
    const [[, scalar]] = (await s.fetch('ticks:x', 0, 10)) as Array<[number, number]>;
    expect(Object.is(scalar, -0)).toBe(true);
    const bulk = await s.fetch('bulk:x', 0, 20_000);
    expect(bulk).toHaveLength(20_000);
    expect(bulk.every(([ts, value]) => JSON.stringify(value) === JSON.stringify({ open: ts + 0.4, close: ts + 0.5, volume: ts + 0.6 }))).toBe(true);
    expect((await s.keys()).map(({ key, fields, labels, count }) => ({ key, fields, labels, count }))).toEqual([
      { key: 'bulk:x', fields: { open: 'last', close: 'last', volume: 'sum' }, labels: {}, count: 20_000 },
      { key: 'klines:binance:BTC-USDT:1m', fields: { open: 'last', close: 'last', volume: 'last' }, labels: {}, count: 2 },
      { key: 'ticks:x', fields: { value: 'last' }, labels: {}, count: 1 },
      { key: 'trades:binance:BTC-USDT', fields: { price: 'last', amount: 'sum', count: 'sum' }, labels: { kind: 'trades' }, count: 2 },
    ]);
    // The declared policies still merge into the upgraded rows.
    await s.store('trades:binance:BTC-USDT', { price: 101, amount: 1, count: 1 }, 1_000);
    expect(await s.fetch('trades:binance:BTC-USDT', 1_000, 1_000)).toEqual([[1_000, { price: 101, amount: 2.5, count: 3 }]]);
    await expect(s.store('trades:binance:BTC-USDT', { side: 1 }, 1_000)).rejects.toThrow(/has no field side/);
    await s.close();
    const reader = openStorage({ path, readOnly: true });
    expect(await reader.fetch('klines:binance:BTC-USDT:1m', 120_000, 120_000)).toEqual([[120_000, { open: 2, close: 3, volume: 7 }]]);
  });

  it('loses nothing already stored when a bad batch is refused', async () => {
    const path = join(tempDir(), 'db.sqlite');
    const s = openStorage({ path });
    await s.storeMany([{ key: 'keep:x', value: { a: 1, b: 2 }, timestamp: 1 }, { key: 'keep:y', value: 5, timestamp: 1 }]);
    await s.flush();
    const result = await s.storeMany([
      { key: 'keep:x', value: { a: NaN, b: 3 }, timestamp: 1 },
      { key: 'keep:y', value: { c: 1 }, timestamp: 1 },
      { key: 'keep:x', value: { a: 1 }, timestamp: -5 },
      { key: 'bad key', value: 1, timestamp: 1 },
    ]);
    expect(result.accepted).toBe(0);
    expect(result.rejected.map((r) => r.index)).toEqual([0, 1, 2, 3]);
    await s.close();
    const reopened = openStorage({ path, readOnly: true });
    expect(await reopened.fetch('keep:x', 0, 10)).toEqual([[1, { a: 1, b: 2 }]]);
    expect(await reopened.fetch('keep:y', 0, 10)).toEqual([[1, 5]]);
  });
});

describe('storage kinds', () => {
  it('sqlite: parses its config strictly, with a default path', () => {
    expect(sqliteStorageKind.name).toBe('sqlite');
    expect(sqliteStorageKind.config.parse({ kind: 'sqlite' })).toEqual({ kind: 'sqlite', path: './data/collector.db' });
    expect(sqliteStorageKind.config.parse({ kind: 'sqlite', path: 'x.db', flushIntervalMs: 50 })).toEqual({ kind: 'sqlite', path: 'x.db', flushIntervalMs: 50 });
    expect(() => sqliteStorageKind.config.parse({ kind: 'sqlite', extra: 1 })).toThrow();
    expect(() => sqliteStorageKind.config.parse({ kind: 'sqlite', flushIntervalMs: 0 })).toThrow();
    expect(() => sqliteStorageKind.config.parse({ kind: 'sqlite', flushIntervalMs: 1.5 })).toThrow();
    expect(() => sqliteStorageKind.config.parse({ kind: 'memory' })).toThrow();
  });

  it('sqlite: opens a relative path against the config directory', async () => {
    const configDir = tempDir();
    const config = sqliteStorageKind.config.parse({ kind: 'sqlite', path: 'data/c.db' });
    const writer = await sqliteStorageKind.open(config, { logger: silentLogger, configDir });
    await writer.store('kind:x', 1, 1);
    await writer.close();
    expect(existsSync(join(configDir, 'data', 'c.db'))).toBe(true);
    const reader = await sqliteStorageKind.open(config, { logger: silentLogger, readOnly: true, configDir });
    expect(await reader.fetch('kind:x', 0, 1)).toEqual([[1, 1]]);
    await reader.close();
  });

  it('memory: parses { kind: memory } and refuses a read-only open', async () => {
    expect(memoryStorageKind.config.parse({ kind: 'memory' })).toEqual({ kind: 'memory' });
    expect(() => memoryStorageKind.config.parse({ kind: 'memory', path: 'x' })).toThrow();
    const s = await memoryStorageKind.open({ kind: 'memory' }, { logger: silentLogger, configDir: '.' });
    await s.store('mem:x', 1, 1);
    expect(await s.fetch('mem:x', 0, 1)).toEqual([[1, 1]]);
    await s.close();
    await expect(memoryStorageKind.open({ kind: 'memory' }, { logger: silentLogger, readOnly: true, configDir: '.' })).rejects.toThrow(StorageError);
  });
});


/** A file as the first releases (schema 1: one row per series, ms and field) left it. */
function writeSchema1File(path: string): void {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec(`
    CREATE TABLE series (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, fields TEXT NOT NULL, retention_ms INTEGER NOT NULL DEFAULT 0,
      labels TEXT NOT NULL DEFAULT '{}', declared INTEGER NOT NULL DEFAULT 0, newest INTEGER);
    CREATE TABLE fields (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
    CREATE TABLE samples (series_id INTEGER NOT NULL, ts INTEGER NOT NULL, field_id INTEGER NOT NULL, v NOT NULL,
      PRIMARY KEY (series_id, ts, field_id)) WITHOUT ROWID;
    CREATE TABLE collector_state (collector TEXT PRIMARY KEY, state TEXT NOT NULL, restarts INTEGER NOT NULL, last_error TEXT,
      updated_at INTEGER NOT NULL, checkpoints TEXT NOT NULL DEFAULT '[]') WITHOUT ROWID;
    INSERT INTO fields (id, name) VALUES (1, 'price'), (2, 'amount'), (3, 'count'), (4, 'open'), (5, 'close'), (6, 'volume'), (7, 'value');
    INSERT INTO series (id, key, fields, labels, declared, newest) VALUES
      (1, 'trades:binance:BTC-USDT', '{"price":"last","amount":"sum","count":"sum"}', '{"kind":"trades"}', 1, 1001),
      (2, 'klines:binance:BTC-USDT:1m', '{"open":"last","close":"last","volume":"last"}', '{}', 0, 120000),
      (3, 'ticks:x', '{"value":"last"}', '{}', 0, 5),
      (4, 'bulk:x', '{"open":"last","close":"last","volume":"sum"}', '{}', 1, 19999);
  `);
  const insert = db.prepare('INSERT INTO samples (series_id, ts, field_id, v) VALUES (?, ?, ?, ?)');
  for (const row of [
    [1, 1_000, 1, 100], [1, 1_000, 2, 1.5], [1, 1_000, 3, 2],
    [1, 1_001, 1, 0.1 + 0.2], [1, 1_001, 2, 5e-324], [1, 1_001, 3, 1],
    [2, 60_000, 4, 1], [2, 60_000, 5, 2],
    [2, 120_000, 4, 2], [2, 120_000, 5, 3], [2, 120_000, 6, 7],
    [3, 5, 7, -0],
  ]) insert.run(...row);
  // More rows than one page of the upgrade (50,000): a millisecond's fields may straddle two pages.
  db.transaction(() => {
    for (let ts = 0; ts < 20_000; ts++) for (const field of [4, 5, 6]) insert.run(4, ts, field, ts + field / 10);
  })();
  db.pragma('user_version = 1');
  db.close();
}
