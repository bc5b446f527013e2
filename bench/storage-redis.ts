/**
 * Storage benchmark, Redis TimeSeries backend (`npm run bench:storage` runs it after the SQLite
 * one): each figure reported as a ratio against a ceiling measured in the same run, on the same
 * workload as bench/storage.ts.
 *
 * Redis: REDIS_TIMESERIES_URL (a running TimeSeries Redis; only this bench's `bench:` keys are
 * written and deleted), else a redis-server of our own on a free loopback port loading
 * REDIS_TIMESERIES_MODULE (default: the auto-detected build, see support/redis-server.ts).
 * Without either it prints one SKIPPED line and exits 0.
 *
 * 1. Write throughput — BENCH_SAMPLES (default 200k) trade-like samples over 20 keys (5 fields:
 *    price `last`, amount/count/buy_amount/notional `sum`), written through
 *    RedisTimeSeriesStorage.storeMany in batches of 1000, then `flush()`; once back to back and
 *    once yielding to the event loop between batches (what a socket-fed collector does).
 *    Ceiling: a plain node-redis client on the same host creates the same keys with the same
 *    TS.CREATE options (untimed) and sends the same samples, in accept order, as pipelined
 *    TS.MADD of BENCH_MADD_SAMPLES (default 1000) samples × 5 fields each, BENCH_MADD_IN_FLIGHT
 *    (default 8) commands in flight; formatting the arguments is timed, as the backend's is.
 *    Both must leave the same data (sample count and sum per key, and the same key options).
 *    Also reported: TS.MADD commands sent, client (this process) and redis-server CPU time, and
 *    a reference: the ceiling's client with each key's same-ms samples merged beforehand (as
 *    the policies merge them; ~13% of the samples), so Redis only appends — TimeSeries' upsert
 *    into a compressed chunk (a sample at a timestamp the key already holds) costs about ten
 *    appends. Its samples/s counts the samples before merging.
 * 2. Fetch latency — one day of 1m klines (1,440 × open/high/low/close/volume, policy `last`),
 *    fetched whole BENCH_FETCHES (default 200) times after a warm-up, through the writer and a
 *    read-only second RedisTimeSeriesStorage (what an updater does); also bucketed (1h, avg).
 *    Ceiling: a plain client sending the same TS.RANGE pipeline (one per field, in parallel)
 *    with node-redis' cheapest decoding (RESP2, integers as numbers, values left as the reply's
 *    bytes; RESP3 measured slower), neither parsing values nor joining fields. Reference: the
 *    same pipeline with node-redis' default decoding (values as strings, still unparsed).
 *
 * Under the table: issue 3 part 8's targets (≥ 70% of the ceiling, fetch p50 < 5 ms), met or not.
 * Knobs: BENCH_SAMPLES, BENCH_ROUNDS (default 5), BENCH_FETCHES, BENCH_MADD_SAMPLES,
 * BENCH_MADD_IN_FLIGHT. Asserts nothing about speed.
 */
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createClient, RESP_TYPES } from 'redis';
import type { SeriesSchema } from '../storage/catalog.js';
import { MemoryStorage } from '../storage/memory.js';
import { maskUrl } from '../storage/redis-timeseries/connect.js';
import { fieldKey, formatDouble, pairs, SERIES_SET } from '../storage/redis-timeseries/layout.js';
import { tsCreateCommand } from '../storage/redis-timeseries/schema.js';
import { RedisTimeSeriesStorage } from '../storage/redis-timeseries/storage.js';
import type { FetchOptions, MergePolicy, Point, SeriesDeclaration } from '../storage/types.js';
import { NO_REDIS_SERVER, RedisServer, timeSeriesTarget } from './support/redis-server.js';
import {
  checkTarget,
  envInt,
  median,
  pairedRatios,
  percentile,
  printJson,
  printTable,
  printTargets,
  progress,
  row,
  TARGETS,
  timeFetches,
  type BenchRow,
} from './support/report.js';
import { BATCH, DAY_MS, KEYS, klineDeclaration, makeKlines, makeTrades, T0, TRADE_FIELDS, writeThrough, type TradeSet } from './support/workload.js';

const SAMPLES = envInt('BENCH_SAMPLES', 200_000);
const ROUNDS = envInt('BENCH_ROUNDS', 5);
const FETCHES = envInt('BENCH_FETCHES', 200);
const MADD_SAMPLES = envInt('BENCH_MADD_SAMPLES', 1000);
const MADD_IN_FLIGHT = envInt('BENCH_MADD_IN_FLIGHT', 8);
const FETCH_WARMUP = 20;
/** Every series this bench writes starts with this; its keys are deleted before each step and at the end. */
const PREFIX = 'bench:';

const SKIPPED =
  'SKIPPED storage-redis bench: no Redis TimeSeries — set REDIS_TIMESERIES_MODULE=/path/to/redistimeseries.so ' +
  '(loaded into a redis-server of our own) or REDIS_TIMESERIES_URL=redis://host:port (a running TimeSeries Redis)';

type Client = ReturnType<typeof createClient>;

/**
 * A plain node-redis client: defaults (what "a plain client" means for the ceilings), except
 * that it fails instead of reconnecting forever when Redis is not there.
 */
async function plainClient(url: string): Promise<Client> {
  const client = createClient({ url, socket: { reconnectStrategy: false, connectTimeout: 5000 } });
  client.on('error', () => undefined); // a failed connect rejects connect(); a later loss fails the command
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`cannot connect to Redis at ${maskUrl(url)}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return client;
}

/** Deletes what this bench wrote (keys of series starting with PREFIX); other keys are left alone. */
async function dropBenchKeys(client: Client): Promise<void> {
  for (const pattern of [`ts:{${PREFIX}*`, `tsmeta:{${PREFIX}*`, `tsack:{${PREFIX}*`]) {
    let cursor = '0';
    do {
      const [next, keys] = (await client.sendCommand(['SCAN', cursor, 'MATCH', pattern, 'COUNT', '1000'])) as [unknown, string[]];
      cursor = String(next);
      if (keys.length) await client.sendCommand(['UNLINK', ...keys]);
    } while (cursor !== '0');
  }
  const members = ((await client.sendCommand(['SMEMBERS', SERIES_SET])) as unknown[]).map(String).filter((k) => k.startsWith(PREFIX));
  if (members.length) await client.sendCommand(['SREM', SERIES_SET, ...members]);
}

/** The schema RedisTimeSeriesStorage derives from a declaration (no retention given). */
function schemaOf(d: SeriesDeclaration): SeriesSchema {
  return { key: d.key, fields: { ...d.fields }, retentionMs: d.retentionMs ?? 0, labels: { ...(d.labels ?? {}) }, declared: true };
}

/**
 * The same samples with every run of one key at one ms merged into one sample, as the
 * fields' policies would merge them in Redis (in accept order, so `sum` adds in the same
 * order and the stored values are bit for bit the same). For the reference row only.
 */
function mergeSameMs(points: readonly Point[], fields: Readonly<Record<string, MergePolicy>>): Point[] {
  const merged: Point[] = [];
  const latest = new Map<string, { timestamp: number; value: Record<string, number> }>();
  for (const p of points) {
    const value = p.value as Record<string, number>;
    const prev = latest.get(p.key);
    if (prev && prev.timestamp === p.timestamp) {
      for (const [f, policy] of Object.entries(fields)) {
        const a = prev.value[f]!;
        const b = value[f]!;
        prev.value[f] = policy === 'sum' ? a + b : policy === 'last' ? b : policy === 'first' ? a : policy === 'min' ? Math.min(a, b) : Math.max(a, b);
      }
      continue;
    }
    const next = { timestamp: p.timestamp, value: { ...value } };
    latest.set(p.key, next);
    merged.push({ key: p.key, timestamp: next.timestamp, value: next.value });
  }
  return merged;
}

// --- Server-side and client-side costs ---------------------------------------------------------

interface Costs {
  /** TS.MADD commands the server ran. */
  madds: number;
  /** Commands of any kind the server ran (MULTI and EXEC count as one each). */
  commands: number;
  /** redis-server CPU (user + sys), ms. */
  serverCpuMs: number;
  /** This process's CPU (user + sys), ms. */
  clientCpuMs: number;
}

interface CostSnapshot {
  calls: Map<string, number>;
  serverCpuMs: number;
  clientCpu: NodeJS.CpuUsage;
}

async function snapshot(client: Client): Promise<CostSnapshot> {
  const stats = String(await client.sendCommand(['INFO', 'commandstats']));
  const cpu = String(await client.sendCommand(['INFO', 'cpu']));
  const calls = new Map<string, number>();
  for (const m of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(m[1]!, Number(m[2]));
  const num = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(cpu)?.[1] ?? NaN);
  return { calls, serverCpuMs: (num('used_cpu_user') + num('used_cpu_sys')) * 1000, clientCpu: process.cpuUsage() };
}

function costsSince(before: CostSnapshot, after: CostSnapshot): Costs {
  let commands = 0;
  for (const [name, n] of after.calls) commands += n - (before.calls.get(name) ?? 0);
  const client = process.cpuUsage(before.clientCpu);
  return {
    madds: (after.calls.get('ts.madd') ?? 0) - (before.calls.get('ts.madd') ?? 0),
    // The two INFO commands of `after` itself are not the bench's.
    commands: commands - 2,
    serverCpuMs: after.serverCpuMs - before.serverCpuMs,
    clientCpuMs: (client.user + client.system) / 1000,
  };
}

// --- Write throughput --------------------------------------------------------------------------

/**
 * The ceiling: a plain client, the same keys created with the same options (untimed), the
 * same samples in accept order as TS.MADD of `commandSamples` samples, `inFlight` commands
 * pipelined on one connection (each worker formats its command, then waits for its reply).
 */
async function writeCeiling(url: string, set: Pick<TradeSet, 'declarations' | 'points'>, commandSamples: number, inFlight: number): Promise<number> {
  const client = await plainClient(url);
  try {
    const fields = Object.keys(TRADE_FIELDS) as Array<keyof typeof TRADE_FIELDS>;
    const creates: Array<Promise<unknown>> = [];
    const keysOf = new Map<string, string[]>();
    for (const d of set.declarations) {
      const schema = schemaOf(d);
      for (const f of fields) creates.push(client.sendCommand(tsCreateCommand(schema, f, TRADE_FIELDS[f])));
      keysOf.set(d.key, fields.map((f) => fieldKey(d.key, f)));
    }
    await Promise.all(creates);

    const points = set.points;
    let next = 0;
    let refused = 0;
    const worker = async () => {
      while (next < points.length) {
        const from = next;
        const to = Math.min(points.length, from + commandSamples);
        next = to;
        const args = new Array<string>(1 + (to - from) * fields.length * 3);
        args[0] = 'TS.MADD';
        let a = 1;
        for (let i = from; i < to; i++) {
          const p = points[i]!;
          const ts = String(p.timestamp);
          const keys = keysOf.get(p.key)!;
          const value = p.value as Record<string, number>;
          for (let f = 0; f < fields.length; f++) {
            args[a++] = keys[f]!;
            args[a++] = ts;
            args[a++] = formatDouble(value[fields[f]!]!);
          }
        }
        const reply = (await client.sendCommand(args)) as unknown[];
        for (const r of reply) if (r instanceof Error) refused += 1;
      }
    };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: inFlight }, worker));
    const seconds = (performance.now() - t0) / 1000;
    if (refused > 0) throw new Error(`ceiling: TS.MADD refused ${refused} sample field(s)`);
    return seconds;
  } finally {
    client.destroy();
  }
}

/**
 * What a write left in Redis: per field key, the sample count and the sum of its values
 * (one TS.RANGE bucket over everything), and the key's options. Both writers must agree.
 */
async function fingerprint(client: Client, set: TradeSet): Promise<string> {
  const keys = set.declarations.flatMap((d) => Object.keys(d.fields).map((f) => fieldKey(d.key, f)));
  const infos = await Promise.all(keys.map((k) => client.sendCommand(['TS.INFO', k])));
  const sums = await Promise.all(keys.map((k) => client.sendCommand(['TS.RANGE', k, '-', '+', 'AGGREGATION', 'SUM', String(1e13)])));
  let rows = 0;
  let sum = 0;
  const options = new Set<string>();
  keys.forEach((k, i) => {
    const info = pairs(infos[i]);
    rows += Number(info.totalSamples);
    const bucket = (sums[i] as unknown as unknown[][])[0];
    sum += bucket ? Number(bucket[1]) : 0;
    const field = k.slice(k.lastIndexOf(':') + 1);
    options.add(JSON.stringify([field, info.retentionTime, info.chunkSize, info.chunkType, info.duplicatePolicy, info.labels]));
  });
  return `${rows} samples, sum ${sum}; key options ${JSON.stringify([...options].sort())}`;
}

type Step = 'ceiling' | 'redis' | 'redisYield' | 'merged';
type PerRound = Record<Step, number[]>;

async function writeBench(url: string, admin: Client): Promise<{ rows: BenchRow[]; perRound: PerRound; costs: Record<Step, Costs[]> }> {
  progress(`write: generating ${SAMPLES.toLocaleString('en-US')} trade samples over ${KEYS} keys`);
  const set = makeTrades(SAMPLES, 42, PREFIX);
  const fields = Object.keys(TRADE_FIELDS).length;
  progress(`write: ${set.distinct.toLocaleString('en-US')} distinct (key, ms), ${(SAMPLES - set.distinct).toLocaleString('en-US')} samples merge into an existing ms`);
  const merged = { declarations: set.declarations, points: mergeSameMs(set.points, TRADE_FIELDS) };

  // Warm-up on a small set (JIT, connections, server allocations), not recorded.
  {
    progress('write: warm-up');
    const small = makeTrades(Math.min(SAMPLES, 20_000), 1, PREFIX);
    await dropBenchKeys(admin);
    await writeCeiling(url, small, MADD_SAMPLES, MADD_IN_FLIGHT);
    await dropBenchKeys(admin);
    const s = await RedisTimeSeriesStorage.open({ url });
    await writeThrough(s, small, false);
    await s.close();
    await dropBenchKeys(admin);
  }

  const sps: PerRound = { ceiling: [], redis: [], redisYield: [], merged: [] };
  const costs: Record<Step, Costs[]> = { ceiling: [], redis: [], redisYield: [], merged: [] };
  const longestCall: number[] = [];
  const yieldLongestCall: number[] = [];
  const loopStall: number[] = [];
  const throughStorage = async (yielding: boolean): Promise<number> => {
    const s = await RedisTimeSeriesStorage.open({ url });
    try {
      const r = await writeThrough(s, set, yielding);
      const stats = s.stats();
      if (stats.written !== SAMPLES || stats.rejected !== 0 || stats.errors !== 0) {
        throw new Error(`RedisTimeSeriesStorage wrote ${stats.written} of ${SAMPLES} samples (${stats.rejected} rejected, ${stats.errors} errors)`);
      }
      (yielding ? yieldLongestCall : longestCall).push(r.longestCallMs);
      if (yielding) loopStall.push(r.maxLoopStallMs ?? NaN);
      return r.seconds;
    } finally {
      await s.close();
    }
  };
  for (let round = 0; round < ROUNDS; round++) {
    const steps: Array<[Step, string, () => Promise<number>]> = [
      ['ceiling', `raw TS.MADD ceiling (${MADD_SAMPLES} samples/command, ${MADD_IN_FLIGHT} in flight)`, () => writeCeiling(url, set, MADD_SAMPLES, MADD_IN_FLIGHT)],
      ['redis', 'RedisTimeSeriesStorage', () => throughStorage(false)],
      ['redisYield', 'RedisTimeSeriesStorage, yielding', () => throughStorage(true)],
      ['merged', 'reference: raw TS.MADD, same-ms samples pre-merged', () => writeCeiling(url, merged, MADD_SAMPLES, MADD_IN_FLIGHT)],
    ];
    if (round % 2 === 1) steps.reverse(); // alternate the order against drift
    const prints = new Map<Step, string>();
    for (const [step, name, run] of steps) {
      await dropBenchKeys(admin);
      const before = await snapshot(admin);
      const seconds = await run();
      const cost = costsSince(before, await snapshot(admin));
      sps[step].push(SAMPLES / seconds);
      costs[step].push(cost);
      prints.set(step, await fingerprint(admin, set));
      progress(
        `write round ${round + 1}/${ROUNDS}: ${name}: ${seconds.toFixed(3)} s, ${Math.round(SAMPLES / seconds).toLocaleString('en-US')} samples/s; ` +
          `${cost.madds} TS.MADD, ${cost.commands} commands, CPU client ${Math.round(cost.clientCpuMs)} ms, server ${Math.round(cost.serverCpuMs)} ms`,
      );
    }
    await dropBenchKeys(admin);
    progress(`write round ${round + 1}/${ROUNDS}: storage / ceiling = ${(sps.redis[round]! / sps.ceiling[round]!).toFixed(2)}, yielding / ceiling = ${(sps.redisYield[round]! / sps.ceiling[round]!).toFixed(2)}`);
    const expected = prints.get('ceiling')!;
    for (const step of ['redis', 'redisYield', 'merged'] as const) {
      if (prints.get(step) !== expected) progress(`WARNING: ${step} left ${prints.get(step)}, the ceiling ${expected}: they did not write the same data`);
    }
    if (round === 0) {
      const wanted = set.distinct * fields;
      progress(`write: each run leaves ${expected.slice(0, expected.indexOf(';'))}${expected.startsWith(`${wanted} samples`) ? '' : ` — WARNING: expected ${wanted} (distinct (key, ms) × fields)`}`);
    }
  }

  const ceiling = { name: 'raw TS.MADD pipeline, same keys+options', value: median(sps.ceiling) };
  const med = (step: Step, pick: (c: Costs) => number) => median(costs[step].map(pick));
  const cpuRef = (pick: (c: Costs) => number, what: string) => ({ name: `ceiling ${what}`, value: med('ceiling', pick) });
  const cpuRatio = (step: Step, pick: (c: Costs) => number) => median(pairedRatios(costs.ceiling.map(pick), costs[step].map(pick)));
  const clientCpu = (c: Costs) => c.clientCpuMs;
  const serverCpu = (c: Costs) => c.serverCpuMs;
  return {
    rows: [
      row('write: RedisTimeSeriesStorage storeMany×1000 + flush', median(sps.redis), 'samples/s', ceiling, median(pairedRatios(sps.redis, sps.ceiling))),
      row('write: RedisTimeSeriesStorage, yielding between batches', median(sps.redisYield), 'samples/s', ceiling, median(pairedRatios(sps.redisYield, sps.ceiling))),
      row('write: raw TS.MADD ceiling', ceiling.value, 'samples/s'),
      row('write: raw TS.MADD ceiling', ceiling.value * fields, 'values/s'),
      row('write: reference — raw TS.MADD, same-ms samples pre-merged', median(sps.merged), 'samples/s', ceiling, median(pairedRatios(sps.merged, sps.ceiling))),
      row('write: longest storeMany call, RedisTimeSeriesStorage', median(longestCall), 'ms'),
      row('write: longest storeMany call, yielding', median(yieldLongestCall), 'ms'),
      row('write: max event-loop stall, yielding', median(loopStall), 'ms'),
      row('write: TS.MADD commands, RedisTimeSeriesStorage', med('redis', (c) => c.madds), 'commands'),
      row('write: TS.MADD commands, yielding', med('redisYield', (c) => c.madds), 'commands'),
      row('write: TS.MADD commands, ceiling', med('ceiling', (c) => c.madds), 'commands'),
      row('write: all commands, RedisTimeSeriesStorage', med('redis', (c) => c.commands), 'commands'),
      row('write: client CPU, RedisTimeSeriesStorage', med('redis', clientCpu), 'ms', cpuRef(clientCpu, 'client CPU'), cpuRatio('redis', clientCpu)),
      row('write: client CPU, yielding', med('redisYield', clientCpu), 'ms', cpuRef(clientCpu, 'client CPU'), cpuRatio('redisYield', clientCpu)),
      row('write: client CPU, ceiling', med('ceiling', clientCpu), 'ms'),
      row('write: redis-server CPU, RedisTimeSeriesStorage', med('redis', serverCpu), 'ms', cpuRef(serverCpu, 'server CPU'), cpuRatio('redis', serverCpu)),
      row('write: redis-server CPU, yielding', med('redisYield', serverCpu), 'ms', cpuRef(serverCpu, 'server CPU'), cpuRatio('redisYield', serverCpu)),
      row('write: redis-server CPU, ceiling', med('ceiling', serverCpu), 'ms'),
      row('write: redis-server CPU, reference pre-merged', med('merged', serverCpu), 'ms', cpuRef(serverCpu, 'server CPU'), cpuRatio('merged', serverCpu)),
    ],
    perRound: sps,
    costs,
  };
}

// --- Fetch latency -----------------------------------------------------------------------------

async function fetchBench(url: string, admin: Client): Promise<BenchRow[]> {
  const key = `${PREFIX}klines:binance:BTC-USDT:1m`;
  const declaration = klineDeclaration(key);
  const klines = makeKlines(key, T0);
  const start = T0;
  const end = T0 + DAY_MS - 1;
  const bucketMs = 3_600_000;
  const bucketed: FetchOptions = { bucketMs, aggregation: 'avg' };

  progress('fetch: storing a day of 1m klines (1,440 × 5 fields)');
  await dropBenchKeys(admin);
  const writer = await RedisTimeSeriesStorage.open({ url });
  const memory = new MemoryStorage();
  for (const s of [writer, memory]) {
    await s.declare(declaration);
    await s.storeMany(klines);
    await s.flush();
  }
  const reader = await RedisTimeSeriesStorage.open({ url, readOnly: true });
  const raw = await plainClient(url);
  try {
    // The ceiling: the reader's pipeline (one TS.RANGE per field, in parallel), no parsing, no
    // join, decoded as cheaply as node-redis can: values stay Buffers (no string per value).
    const fieldKeys = Object.keys(declaration.fields).map((f) => fieldKey(key, f));
    const bytes = { typeMapping: { [RESP_TYPES.SIMPLE_STRING]: Buffer } };
    const pipeline = (args: string[], options?: typeof bytes) => () => Promise.all(fieldKeys.map((k) => raw.sendCommand(['TS.RANGE', k, ...args], options)));
    const range = pipeline([String(start), String(end)], bytes);
    const rangeDefault = pipeline([String(start), String(end)]);
    const bucket = pipeline([String(start), String(end), 'AGGREGATION', 'AVG', String(bucketMs)], bytes);
    for (const [name, call, n] of [['raw', range, 1440], ['raw-default', rangeDefault, 1440], ['raw-bucket', bucket, 24]] as const) {
      const replies = (await call()) as unknown as unknown[][];
      if (replies.some((r) => r.length !== n)) throw new Error(`fetch ${name}: expected ${n} samples per field, got ${replies.map((r) => r.length).join(', ')}`);
    }

    // name → call, expected result length. Interleaved per iteration, starting one further
    // along each time, so drift and the GC debt of the previous call hit all variants alike.
    const variants: Array<[string, () => Promise<unknown>, number]> = [
      ['redis', () => writer.fetch(key, start, end), 1440],
      ['redis-ro', () => reader.fetch(key, start, end), 1440],
      ['raw', range, fieldKeys.length],
      ['raw-default', rangeDefault, fieldKeys.length],
      ['redis-bucket', () => writer.fetch(key, start, end, bucketed), 24],
      ['redis-ro-bucket', () => reader.fetch(key, start, end, bucketed), 24],
      ['raw-bucket', bucket, fieldKeys.length],
    ];

    // The backends must agree before their speed means anything.
    const json = async (p: Promise<unknown>) => JSON.stringify(await p);
    const want = await json(memory.fetch(key, start, end));
    if ((await json(writer.fetch(key, start, end))) !== want || (await json(reader.fetch(key, start, end))) !== want) {
      progress('WARNING: RedisTimeSeriesStorage and MemoryStorage fetch different answers for the kline day');
    }
    const wantBuckets = (await memory.fetch(key, start, end, bucketed)) as Array<[number, Record<string, number>]>;
    const gotBuckets = (await writer.fetch(key, start, end, bucketed)) as Array<[number, Record<string, number>]>;
    // Averages may differ in the last bits (TimeSeries sums in its own order).
    const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
    const sameBuckets =
      wantBuckets.length === gotBuckets.length &&
      wantBuckets.every(([t, v], i) => gotBuckets[i]![0] === t && Object.entries(v).every(([f, x]) => close(x, gotBuckets[i]![1][f]!)));
    if (!sameBuckets) progress('WARNING: RedisTimeSeriesStorage and MemoryStorage fetch different 1h averages for the kline day');

    progress(`fetch: ${FETCH_WARMUP} warm-up + ${FETCHES} timed fetches per variant`);
    const times = await timeFetches(variants, FETCH_WARMUP, FETCHES);
    const p = (name: string, q: number) => percentile(times.get(name)!, q);
    const ceil = (q: number) => ({ name: `raw TS.RANGE ×5 pipeline p${q}`, value: p('raw', q) });
    const bucketCeil = { name: 'raw TS.RANGE AGGREGATION AVG p50', value: p('raw-bucket', 50) };
    return [
      row('fetch day p50: RedisTimeSeriesStorage (writer)', p('redis', 50), 'ms', ceil(50)),
      row('fetch day p99: RedisTimeSeriesStorage (writer)', p('redis', 99), 'ms', ceil(99)),
      row('fetch day p50: RedisTimeSeriesStorage read-only 2nd instance', p('redis-ro', 50), 'ms', ceil(50)),
      row('fetch day p99: RedisTimeSeriesStorage read-only 2nd instance', p('redis-ro', 99), 'ms', ceil(99)),
      row('fetch day p50: raw TS.RANGE ×5 pipeline (ceiling)', p('raw', 50), 'ms'),
      row('fetch day p99: raw TS.RANGE ×5 pipeline (ceiling)', p('raw', 99), 'ms'),
      row('fetch day p50: reference — raw TS.RANGE ×5, node-redis default decoding', p('raw-default', 50), 'ms', ceil(50)),
      row('fetch 1h avg p50: RedisTimeSeriesStorage (writer)', p('redis-bucket', 50), 'ms', bucketCeil),
      row('fetch 1h avg p50: RedisTimeSeriesStorage read-only', p('redis-ro-bucket', 50), 'ms', bucketCeil),
      row('fetch 1h avg p50: raw TS.RANGE AGGREGATION AVG (ceiling)', p('raw-bucket', 50), 'ms'),
    ];
  } finally {
    raw.destroy();
    await reader.close();
    await writer.close();
    await memory.close();
  }
}

// --- Main --------------------------------------------------------------------------------------

/** "7.0.15, timeseries 11024" (the module part when MODULE LIST is allowed). */
async function serverVersion(client: Client): Promise<string> {
  const info = String(await client.sendCommand(['INFO', 'server']));
  const redis = /^redis_version:(\S+)/m.exec(info)?.[1] ?? 'unknown';
  try {
    const modules = (await client.sendCommand(['MODULE', 'LIST'])) as unknown[];
    const ts = modules.map((m) => pairs(m)).find((m) => String(m.name).toLowerCase() === 'timeseries');
    return ts ? `${redis}, timeseries ${String(ts.ver)}` : redis;
  } catch {
    return redis;
  }
}

async function main(): Promise<void> {
  const target = timeSeriesTarget();
  if (!target) {
    console.log(SKIPPED);
    return;
  }
  let server: RedisServer | undefined;
  if (!target.url) {
    try {
      server = await RedisServer.start({ module: target.module });
    } catch (err) {
      if (err instanceof Error && err.message === NO_REDIS_SERVER) {
        console.log(`${SKIPPED} (${NO_REDIS_SERVER})`);
        return;
      }
      throw err;
    }
  }
  const url = target.url ?? server!.url;
  const where = target.url ? `${new URL(url).host} (REDIS_TIMESERIES_URL)` : `redis-server of our own on 127.0.0.1:${server!.port} with ${target.module}`;
  // On a signal, `process.exit` fires the exit handler that kills our server; a shared server
  // keeps the bench: keys until the next run deletes them.
  const onSignal = (signal: NodeJS.Signals) => process.exit(signal === 'SIGINT' ? 130 : 143);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const began = performance.now();
  const admin = await plainClient(url);
  try {
    const version = await serverVersion(admin);
    progress(`storage-redis bench on ${where} (Redis ${version}): ${SAMPLES.toLocaleString('en-US')} samples, ${ROUNDS} write round(s), ${FETCHES} fetches`);
    const write = await writeBench(url, admin);
    const fetchRows = await fetchBench(url, admin);
    const rows = [...write.rows, ...fetchRows];
    const targets = [
      checkTarget(rows, 'write: RedisTimeSeriesStorage storeMany×1000 + flush', 'ratio', '>=', TARGETS.writeRatio),
      checkTarget(rows, 'write: RedisTimeSeriesStorage, yielding between batches', 'ratio', '>=', TARGETS.writeRatio),
      checkTarget(rows, 'fetch day p50: RedisTimeSeriesStorage (writer)', 'value', '<', TARGETS.fetchDayP50Ms),
      checkTarget(rows, 'fetch day p50: RedisTimeSeriesStorage read-only 2nd instance', 'value', '<', TARGETS.fetchDayP50Ms),
    ];
    const round = (r: number) => Math.round(r * 100) / 100;
    const params = {
      samples: SAMPLES,
      keys: KEYS,
      batch: BATCH,
      rounds: ROUNDS,
      ceilingMaddSamples: MADD_SAMPLES,
      ceilingInFlight: MADD_IN_FLIGHT,
      fetches: FETCHES,
      server: target.url ? 'REDIS_TIMESERIES_URL' : 'own redis-server',
      redis: version,
      node: process.version,
      cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
      perRoundSamplesPerSec: Object.fromEntries(Object.entries(write.perRound).map(([k, v]) => [k, v.map(Math.round)])),
      perRoundRatioToCeiling: {
        redis: pairedRatios(write.perRound.redis, write.perRound.ceiling).map(round),
        redisYield: pairedRatios(write.perRound.redisYield, write.perRound.ceiling).map(round),
        merged: pairedRatios(write.perRound.merged, write.perRound.ceiling).map(round),
      },
      perRoundCosts: write.costs,
      targets,
      seconds: Math.round((performance.now() - began) / 100) / 10,
    };
    printTable(
      `storage-redis bench — ${SAMPLES.toLocaleString('en-US')} samples × ${ROUNDS} rounds (median), ${FETCHES} fetches; node ${process.version}, Redis ${version}, ${params.cpus}`,
      rows,
    );
    printTargets(targets);
    printJson('storage-redis', params, rows);
  } finally {
    await dropBenchKeys(admin).catch(() => undefined);
    admin.destroy();
    await server?.dispose();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

await main();
