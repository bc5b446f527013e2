/**
 * Storage benchmark (`npm run bench:storage`): SQLite and memory backends, each figure
 * reported as a ratio against a ceiling or peer measured in the same run.
 *
 * 1. Write throughput — BENCH_SAMPLES (default 200k) trade-like samples over 20 keys, written
 *    with `storeMany` in batches of 1000, then `flush()`. Ceiling: raw better-sqlite3 on a fresh
 *    file with the same schema and the same upsert statements SqliteStorage runs, the same rows
 *    (each transaction's samples of one series and ms merged into one row before the clock, as
 *    SqliteStorage merges them while buffering) in large transactions (WAL, synchronous=NORMAL),
 *    ending with the same WAL checkpoint.
 * 2. Fetch latency — one day of 1m klines (1,440 × open/high/low/close/volume, policy `last`),
 *    fetched whole BENCH_FETCHES (default 200) times after a warm-up, through the writer, a
 *    read-only second SqliteStorage on the same file (what an updater does) and MemoryStorage;
 *    also bucketed (1h, avg). Ceiling: the same SELECT through raw better-sqlite3 (for buckets
 *    too: the rows are packed, so SQL cannot group their fields; the SELECT is what they cost).
 *
 * Under the table: issue 3 part 8's targets (≥ 70% of the ceiling, fetch p50 < 5 ms), met or not.
 * The Redis TimeSeries backend has its own file (storage-redis.ts); `npm run bench:storage` runs both.
 *
 * Knobs: BENCH_SAMPLES, BENCH_ROUNDS (write rounds, medians reported; default 5),
 * BENCH_FETCHES, BENCH_TXN_SAMPLES (ceiling samples per transaction; default 50,000 =
 * SqliteStorage's default maxBuffered, the largest transaction it writes).
 * Everything happens in a temp directory that is removed at the end. Asserts nothing about speed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { MemoryStorage } from '../storage/memory.js';
import { RANGE_SQL, SCHEMA, SCHEMA_VERSION, SqliteStorage } from '../storage/sqlite.js';
import { decodeRow, encodeRow, mergeRows, policyLetters, registerMergeFunction, upsertSql } from '../storage/sqlite-rows.js';
import type { FetchOptions } from '../storage/types.js';
import { checkTarget, envInt, median, pairedRatios, percentile, printJson, printTable, printTargets, progress, row, TARGETS, timeFetches, type BenchRow } from './support/report.js';
import { BATCH, DAY_MS, KEYS, klineDeclaration, makeKlines, makeTrades, T0, TRADE_FIELDS, writeThrough, type TradeSet } from './support/workload.js';

const SAMPLES = envInt('BENCH_SAMPLES', 200_000);
const ROUNDS = envInt('BENCH_ROUNDS', 5);
const FETCHES = envInt('BENCH_FETCHES', 200);
const CEILING_TXN_SAMPLES = envInt('BENCH_TXN_SAMPLES', 50_000);
const FETCH_WARMUP = 20;

// --- Write throughput --------------------------------------------------------------------------

/** The ceiling: the same rows through the same upserts on raw better-sqlite3, big transactions. */
function writeCeiling(path: string, set: TradeSet, txnSamples: number): { seconds: number; rows: number } {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(SCHEMA);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
    registerMergeFunction(db);
    const columns = Object.keys(TRADE_FIELDS);
    const letters = policyLetters(columns, TRADE_FIELDS);
    const seriesIds = new Map<string, number>();
    db.transaction(() => {
      const insertSeries = db.prepare('INSERT INTO series (key, fields, columns, retention_ms, labels, declared) VALUES (?, ?, ?, 0, ?, 1) RETURNING id').pluck();
      for (const d of set.declarations) {
        seriesIds.set(d.key, insertSeries.get(d.key, JSON.stringify(d.fields), JSON.stringify(columns), JSON.stringify(d.labels)) as number);
      }
    })();

    // Each transaction's rows grouped by series (stable), one row per (series, ms), all parameters
    // of every 256-row statement built before the clock: the ceiling times SQLite alone.
    const transactions: unknown[][][] = [];
    let rows = 0;
    for (let start = 0; start < set.points.length; start += txnSamples) {
      const bySeries = new Map<number, Map<number, Float64Array>>();
      for (const p of set.points.slice(start, start + txnSamples)) {
        const s = seriesIds.get(p.key)!;
        const ofSeries = bySeries.get(s) ?? bySeries.set(s, new Map()).get(s)!;
        const row = encodeRow(p.value as Record<string, number>, columns);
        const had = ofSeries.get(p.timestamp);
        ofSeries.set(p.timestamp, had ? mergeRows(new Uint8Array(had.buffer), new Uint8Array(row.buffer), letters) : row);
      }
      const params: unknown[] = [];
      for (const [s, ofSeries] of bySeries) for (const [ts, row] of ofSeries) params.push(s, ts, row);
      const chunks: unknown[][] = [];
      for (let i = 0; i < params.length; i += 256 * 3) chunks.push(params.slice(i, i + 256 * 3));
      transactions.push(chunks);
      rows += params.length / 3;
    }
    const statements = new Map<number, Database.Statement>();
    const statement = (n: number) => statements.get(n) ?? statements.set(n, db.prepare(upsertSql(letters, n))).get(n)!;
    for (const chunks of transactions) for (const chunk of chunks) statement(chunk.length / 3);
    const writeRows = db.transaction((chunks: unknown[][]) => {
      for (const chunk of chunks) statement(chunk.length / 3).run(chunk);
    });

    const t0 = performance.now();
    for (const chunks of transactions) writeRows.immediate(chunks);
    db.pragma('wal_checkpoint(PASSIVE)'); // what SqliteStorage.flush() ends with
    return { seconds: (performance.now() - t0) / 1000, rows };
  } finally {
    db.close();
  }
}

/** Row count and sum of a file's samples table: both writers must leave the same data. */
function fingerprint(path: string): string {
  const db = new Database(path, { readonly: true });
  try {
    const columns = Object.keys(TRADE_FIELDS);
    let n = 0;
    let sum = 0;
    for (const [v] of db.prepare('SELECT v FROM samples ORDER BY series_id, ts').raw().iterate() as IterableIterator<[Uint8Array]>) {
      n += 1;
      for (const x of Object.values(decodeRow(v, columns))) sum += x;
    }
    return `${n} rows, sum ${sum}`;
  } finally {
    db.close();
  }
}

function removeDb(path: string): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
}

type PerRound = Record<'ceiling' | 'sqlite' | 'sqliteYield' | 'memory', number[]>;

async function writeBench(dir: string): Promise<{ rows: BenchRow[]; perRound: PerRound }> {
  progress(`write: generating ${SAMPLES.toLocaleString('en-US')} trade samples over ${KEYS} keys`);
  const set = makeTrades(SAMPLES);
  progress(`write: ${set.distinct.toLocaleString('en-US')} distinct (key, ms), ${(SAMPLES - set.distinct).toLocaleString('en-US')} samples merge into an existing ms`);

  // Warm-up on a small set (JIT, page cache, native module), not recorded.
  {
    progress('write: warm-up');
    const small = makeTrades(Math.min(SAMPLES, 20_000), 1);
    writeCeiling(join(dir, 'warm-ceiling.db'), small, CEILING_TXN_SAMPLES);
    const s = new SqliteStorage({ path: join(dir, 'warm-sqlite.db') });
    await writeThrough(s, small, false);
    await s.close();
    await writeThrough(new MemoryStorage(), small, false);
    removeDb(join(dir, 'warm-ceiling.db'));
    removeDb(join(dir, 'warm-sqlite.db'));
  }

  const sps: PerRound = { ceiling: [], sqlite: [], sqliteYield: [], memory: [] };
  const longestCall: number[] = [];
  const yieldLongestCall: number[] = [];
  const loopStall: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const ceilingPath = join(dir, `ceiling-${round}.db`);
    const sqlitePath = join(dir, `sqlite-${round}.db`);
    const yieldPath = join(dir, `sqlite-yield-${round}.db`);
    const steps: Array<[string, () => Promise<number>]> = [
      ['raw better-sqlite3 ceiling', async () => {
        const r = writeCeiling(ceilingPath, set, CEILING_TXN_SAMPLES);
        sps.ceiling.push(SAMPLES / r.seconds);
        return r.seconds;
      }],
      ['SqliteStorage', async () => {
        const s = new SqliteStorage({ path: sqlitePath });
        const r = await writeThrough(s, set, false);
        await s.close();
        sps.sqlite.push(SAMPLES / r.seconds);
        longestCall.push(r.longestCallMs);
        return r.seconds;
      }],
      ['SqliteStorage, yielding', async () => {
        const s = new SqliteStorage({ path: yieldPath });
        const r = await writeThrough(s, set, true);
        await s.close();
        sps.sqliteYield.push(SAMPLES / r.seconds);
        yieldLongestCall.push(r.longestCallMs);
        loopStall.push(r.maxLoopStallMs ?? NaN);
        return r.seconds;
      }],
      ['MemoryStorage', async () => {
        const r = await writeThrough(new MemoryStorage(), set, false);
        sps.memory.push(SAMPLES / r.seconds);
        return r.seconds;
      }],
    ];
    if (round % 2 === 1) steps.reverse(); // alternate the order against drift
    for (const [name, step] of steps) {
      const seconds = await step();
      progress(`write round ${round + 1}/${ROUNDS}: ${name}: ${seconds.toFixed(3)} s, ${Math.round(SAMPLES / seconds).toLocaleString('en-US')} samples/s`);
    }
    progress(`write round ${round + 1}/${ROUNDS}: SqliteStorage / ceiling = ${(sps.sqlite[round]! / sps.ceiling[round]!).toFixed(2)}, yielding / ceiling = ${(sps.sqliteYield[round]! / sps.ceiling[round]!).toFixed(2)}`);
    const expected = fingerprint(ceilingPath);
    for (const p of [sqlitePath, yieldPath]) {
      const got = fingerprint(p);
      if (got !== expected) progress(`WARNING: ${p} holds ${got}, the ceiling ${expected}: they did not write the same data`);
    }
    if (round === 0) progress(`write: each file holds ${expected}`);
    for (const p of [ceilingPath, sqlitePath, yieldPath]) removeDb(p);
  }

  const ceiling = { name: 'raw better-sqlite3, same schema+upserts', value: median(sps.ceiling) };
  return {
    rows: [
      row('write: SqliteStorage storeMany×1000 + flush', median(sps.sqlite), 'samples/s', ceiling, median(pairedRatios(sps.sqlite, sps.ceiling))),
      row('write: SqliteStorage, yielding between batches', median(sps.sqliteYield), 'samples/s', ceiling, median(pairedRatios(sps.sqliteYield, sps.ceiling))),
      row('write: raw better-sqlite3 ceiling', ceiling.value, 'samples/s'),
      row('write: MemoryStorage storeMany×1000 (reference)', median(sps.memory), 'samples/s', ceiling, median(pairedRatios(sps.memory, sps.ceiling))),
      row('write: longest storeMany call, SqliteStorage', median(longestCall), 'ms'),
      row('write: longest storeMany call, yielding', median(yieldLongestCall), 'ms'),
      row('write: max event-loop stall, yielding', median(loopStall), 'ms'),
    ],
    perRound: sps,
  };
}

// --- Fetch latency -----------------------------------------------------------------------------

async function fetchBench(dir: string): Promise<BenchRow[]> {
  const path = join(dir, 'klines.db');
  const key = 'klines:binance:BTC-USDT:1m';
  const declaration = klineDeclaration(key);
  const klines = makeKlines(key, T0);
  const start = T0;
  const end = T0 + DAY_MS - 1;
  const bucketed: FetchOptions = { bucketMs: 3_600_000, aggregation: 'avg' };

  progress('fetch: storing a day of 1m klines (1,440 × 5 fields)');
  const writer = new SqliteStorage({ path });
  const memory = new MemoryStorage();
  for (const s of [writer, memory]) {
    await s.declare(declaration);
    await s.storeMany(klines);
    await s.flush();
  }
  const reader = new SqliteStorage({ path, readOnly: true });
  const raw = new Database(path, { readonly: true });
  try {
    const sid = raw.prepare('SELECT id FROM series WHERE key = ?').pluck().get(key) as number;
    const range = raw.prepare(RANGE_SQL).raw();

    // name → call, expected result length. Interleaved per iteration, starting one further
    // along each time, so drift and the GC debt of the previous call hit all variants alike.
    const variants: Array<[string, () => unknown, number]> = [
      ['sqlite', () => writer.fetch(key, start, end), 1440],
      ['sqlite-ro', () => reader.fetch(key, start, end), 1440],
      ['memory', () => memory.fetch(key, start, end), 1440],
      ['raw', () => range.all(sid, start, end), 1440],
      ['sqlite-bucket', () => writer.fetch(key, start, end, bucketed), 24],
      ['sqlite-ro-bucket', () => reader.fetch(key, start, end, bucketed), 24],
      ['memory-bucket', () => memory.fetch(key, start, end, bucketed), 24],
    ];

    // The backends must agree before their speed means anything.
    const same = async (a: Promise<unknown>, b: Promise<unknown>) => JSON.stringify(await a) === JSON.stringify(await b);
    if (!(await same(writer.fetch(key, start, end), memory.fetch(key, start, end))) ||
        !(await same(reader.fetch(key, start, end), memory.fetch(key, start, end))) ||
        !(await same(writer.fetch(key, start, end, bucketed), memory.fetch(key, start, end, bucketed)))) {
      progress('WARNING: SqliteStorage and MemoryStorage fetch different answers for the kline day');
    }

    progress(`fetch: ${FETCH_WARMUP} warm-up + ${FETCHES} timed fetches per variant`);
    const times = await timeFetches(variants, FETCH_WARMUP, FETCHES);
    const p = (name: string, q: number) => percentile(times.get(name)!, q);
    const ceil = (q: number) => ({ name: `raw better-sqlite3 SELECT p${q}`, value: p('raw', q) });
    const bucketCeil = { name: 'raw better-sqlite3 SELECT p50', value: p('raw', 50) };
    return [
      row('fetch day p50: SqliteStorage (writer)', p('sqlite', 50), 'ms', ceil(50)),
      row('fetch day p99: SqliteStorage (writer)', p('sqlite', 99), 'ms', ceil(99)),
      row('fetch day p50: SqliteStorage read-only 2nd instance', p('sqlite-ro', 50), 'ms', ceil(50)),
      row('fetch day p99: SqliteStorage read-only 2nd instance', p('sqlite-ro', 99), 'ms', ceil(99)),
      row('fetch day p50: MemoryStorage', p('memory', 50), 'ms', ceil(50)),
      row('fetch day p99: MemoryStorage', p('memory', 99), 'ms', ceil(99)),
      row('fetch day p50: raw better-sqlite3 SELECT (ceiling)', p('raw', 50), 'ms'),
      row('fetch 1h avg p50: SqliteStorage (writer)', p('sqlite-bucket', 50), 'ms', bucketCeil),
      row('fetch 1h avg p50: SqliteStorage read-only', p('sqlite-ro-bucket', 50), 'ms', bucketCeil),
      row('fetch 1h avg p50: MemoryStorage', p('memory-bucket', 50), 'ms', bucketCeil),
    ];
  } finally {
    raw.close();
    await reader.close();
    await writer.close();
    await memory.close();
  }
}

// --- Main --------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'quoting-collector-bench-storage-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  const onSignal = (signal: NodeJS.Signals) => {
    cleanup();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const began = performance.now();
  try {
    progress(`storage bench in ${dir}: ${SAMPLES.toLocaleString('en-US')} samples, ${ROUNDS} write round(s), ${FETCHES} fetches`);
    const write = await writeBench(dir);
    const fetchRows = await fetchBench(dir);
    const rows = [...write.rows, ...fetchRows];
    const sqliteVersion = (() => {
      const db = new Database(':memory:');
      try {
        return db.prepare('SELECT sqlite_version()').pluck().get() as string;
      } finally {
        db.close();
      }
    })();
    const params = {
      samples: SAMPLES,
      keys: KEYS,
      batch: BATCH,
      rounds: ROUNDS,
      ceilingTxnSamples: CEILING_TXN_SAMPLES,
      fetches: FETCHES,
      node: process.version,
      sqlite: sqliteVersion,
      cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
      perRoundSamplesPerSec: Object.fromEntries(Object.entries(write.perRound).map(([k, v]) => [k, v.map(Math.round)])),
      perRoundRatioToCeiling: {
        sqlite: pairedRatios(write.perRound.sqlite, write.perRound.ceiling).map((r) => Math.round(r * 100) / 100),
        sqliteYield: pairedRatios(write.perRound.sqliteYield, write.perRound.ceiling).map((r) => Math.round(r * 100) / 100),
      },
      targets: [] as ReturnType<typeof checkTarget>[],
      seconds: Math.round((performance.now() - began) / 100) / 10,
    };
    params.targets = [
      checkTarget(rows, 'write: SqliteStorage storeMany×1000 + flush', 'ratio', '>=', TARGETS.writeRatio),
      checkTarget(rows, 'write: SqliteStorage, yielding between batches', 'ratio', '>=', TARGETS.writeRatio),
      checkTarget(rows, 'fetch day p50: SqliteStorage (writer)', 'value', '<', TARGETS.fetchDayP50Ms),
      checkTarget(rows, 'fetch day p50: SqliteStorage read-only 2nd instance', 'value', '<', TARGETS.fetchDayP50Ms),
    ];
    printTable(`storage bench — ${SAMPLES.toLocaleString('en-US')} samples × ${ROUNDS} rounds (median), ${FETCHES} fetches; node ${process.version}, SQLite ${sqliteVersion}, ${params.cpus}`, rows);
    printTargets(params.targets);
    printJson('storage', params, rows);
  } finally {
    cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

await main();
