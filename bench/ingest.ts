/**
 * Ingest benchmark (`npm run bench:ingest`), trades part 8: how many trades/s one collector
 * process takes from a Binance stream into memory and into SQLite, and how long a trade takes
 * from being sent to being stored, against ceilings and peers measured in the same run on the
 * same stream.
 *
 * The stream: a loopback Binance spot server (support/binance-blaster.ts) in this process
 * sends BENCH_TRADES (default 500k) pre-generated BTCUSDT trades (the project simulator's
 * market model: taker orders of 1–3 fills, one order per ms, so ~2 trades per ms) in Binance's
 * exact `<symbol>@trade` frame format, as fast as the socket drains, each frame's `E` being
 * the time it was handed to the socket. Every client runs in its own process
 * (support/ingest-client.ts), so the measured process holds only that client and this one
 * holds only the server (2 cores: one each):
 *
 * - ceilings: `ws` framing only (frames counted), bare `ws` + `JSON.parse`;
 * - ours: TradeStreamCollector built by tradesCollectorKind (as the daemon does) into
 *   MemoryStorage and into SqliteStorage (a temp file, default options); every trade's
 *   storage is checked (count-field sum = N, one sample per distinct ms, amounts sum up);
 * - peers: ccxt.pro binance `watchTrades('BTC/USDT')` (urls.api.ws.spot pointed here) and
 *   tardis-dev `streamNormalized(…, normalizeTrades)` (WSS_URL_BINANCE pointed here).
 *
 * Throughput = N / (last trade taken − first frame sent): for ours, taken = the storeMany that
 * held the last trade resolved; into SQLite, also flushed (committed, WAL synced). Latency per
 * trade = stored − sent (sent to the sub-ms; `E` carries the same instant in whole ms): at
 * full speed (mostly queueing in socket buffers) and in a paced run of BENCH_LATENCY_TRADES
 * (default 60k) at BENCH_LATENCY_RATE (default 20k) trades/s, a busy market well below
 * capacity; for SQLite both "storeMany resolved" (buffered, what the writer waits for) and
 * "committed" (its transaction done). CPU per trade = the client process's CPU time (every
 * thread, so SQLite's writer thread too) from connecting to the last trade taken, / N: on a
 * shared machine it moves far less than trades/s with what else runs.
 *
 * Each client first takes BENCH_WARMUP_TRADES (default 50k; JIT), not reported. BENCH_ROUNDS
 * rounds (default 2, about 55 s each: ccxt alone takes ~15 s; order reversed every other
 * round); medians reported, ratios are medians of per-round ratios. The load average before
 * and after goes into the JSON: on a shared 2-core machine other work skews the figures.
 * Under the table: the issue's aims (≥ 3× ccxt, ≥ 2× tardis-dev, ≥ bare JSON.parse), met or
 * missed. BENCH_CLIENTS=ours-sqlite,ccxt runs only those; BENCH_CPU_PROF=<dir> writes a
 * .cpuprofile of each "ours" process there. Asserts nothing about speed; exits non-zero if a
 * client crashes or stores a wrong set of trades.
 */
import { fork } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { BinanceBlaster, type SessionReport } from './support/binance-blaster.js';
import type { ClientConfig, FromClient, ToClient } from './support/ingest-client.js';
import { CLIENT_KINDS, type ClientKind, type SessionResult } from './support/ingest-clients.js';
import { checkTarget, envInt, pairedRatios, printJson, printTable, printTargets, progress, row, type BenchRow } from './support/report.js';
import { makeTape } from './support/trade-tape.js';

const TRADES = envInt('BENCH_TRADES', 500_000);
const ROUNDS = envInt('BENCH_ROUNDS', 2);
const WARMUP = envInt('BENCH_WARMUP_TRADES', 50_000);
const LATENCY_TRADES = envInt('BENCH_LATENCY_TRADES', 60_000);
const LATENCY_RATE = envInt('BENCH_LATENCY_RATE', 20_000);
const CPU_PROF = process.env.BENCH_CPU_PROF ? resolve(process.env.BENCH_CPU_PROF) : undefined;
const ONLY = (process.env.BENCH_CLIENTS ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0);

/** The issue's aims. */
const AIMS = { vsCcxt: 3, vsTardis: 2, vsJsonParse: 1 } as const;

const here = dirname(fileURLToPath(import.meta.url));
const CLIENT = join(here, 'support', 'ingest-client.js');

const LABEL: Record<ClientKind, string> = {
  'ws-framing': 'ws framing only',
  'ws-json': 'bare ws + JSON.parse',
  'ours-memory': 'ours → MemoryStorage',
  'ours-sqlite': 'ours → SQLite',
  ccxt: 'ccxt.pro watchTrades',
  tardis: 'tardis-dev streamNormalized',
};
const isOurs = (kind: ClientKind) => kind === 'ours-memory' || kind === 'ours-sqlite';

/** The median; with an even count the mean of the middle two (report.ts's nearest-rank median would take the lower one). */
function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** What one measured session gave. */
interface Measured {
  tradesPerSec: number;
  /** Client process CPU (all threads) per trade, µs: less sensitive than trades/s to what else the machine runs. */
  cpuPerTradeUs: number;
  /** ms, per trade, sent → stored / committed. */
  stored?: { p50: number; p99: number; max: number };
  committed?: { p50: number; p99: number; max: number };
  check: string;
}

function latencies(sentAt: Float64Array, doneAt: Float64Array): { p50: number; p99: number; max: number } {
  const lat = new Float64Array(sentAt.length);
  for (let i = 0; i < lat.length; i++) lat[i] = doneAt[i]! - sentAt[i]!;
  lat.sort();
  const at = (p: number) => lat[Math.max(0, Math.ceil((p / 100) * lat.length) - 1)]!;
  return { p50: at(50), p99: at(99), max: lat[lat.length - 1]! };
}

function measure(report: SessionReport, result: SessionResult): Measured {
  const { n } = report.plan;
  if (report.sent !== n) throw new Error(`the stream sent ${report.sent} of ${n} trades`);
  if (report.subscriptions !== 1) throw new Error(`${report.subscriptions} connections subscribed (a reconnect?)`);
  return {
    tradesPerSec: (n * 1000) / (result.lastAt - report.firstSendAt),
    cpuPerTradeUs: (result.cpuMs * 1000) / n,
    stored: result.storedAt && latencies(report.sentAt, result.storedAt),
    committed: result.committedAt && latencies(report.sentAt, result.committedAt),
    check: result.check,
  };
}

/** Runs one client process through its phases; returns what each phase measured. */
function runClient(blaster: BinanceBlaster, kind: ClientKind, dir: string, tapeLength: number): Promise<Map<string, Measured>> {
  // Paced before full speed: the full run's garbage (half a million stored trades) must not
  // be collected during the latency run.
  const phases: ClientConfig['phases'] = [{ phase: 'warm-up', n: WARMUP, ratePerSec: 0 }];
  if (isOurs(kind)) phases.push({ phase: 'paced', n: LATENCY_TRADES, ratePerSec: LATENCY_RATE });
  phases.push({ phase: 'full', n: TRADES, ratePerSec: 0 });
  const config: ClientConfig = { kind, tapeLength, phases, dir };
  const execArgv = [...process.execArgv];
  if (CPU_PROF && isOurs(kind)) execArgv.push('--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`, `--cpu-prof-name=${kind}-${Date.now()}.cpuprofile`);
  const child = fork(CLIENT, [JSON.stringify(config)], { serialization: 'advanced', execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const measured = new Map<string, Measured>();
  const reply = (message: ToClient) => child.send(message);
  let failure: Error | undefined;
  child.on('message', (raw) => {
    const message = raw as FromClient;
    try {
      if (message.type === 'session') {
        const { id, baseUrl } = blaster.session({ n: message.n, ratePerSec: message.ratePerSec });
        reply({ type: 'session', id, baseUrl });
        return;
      }
      const report = blaster.report(message.session)!;
      blaster.forget(message.session);
      const m = measure(report, message.result);
      if (!message.result.ok) failure ??= new Error(`${kind} (${message.phase}): ${message.result.check}`);
      measured.set(message.phase, m);
      if (message.phase !== 'warm-up') {
        const lat = (name: string, l?: { p50: number; p99: number; max: number }) =>
          l ? `; sent→${name} p50 ${l.p50.toFixed(2)} ms, p99 ${l.p99.toFixed(2)} ms, max ${l.max.toFixed(1)} ms` : '';
        const rate = message.phase === 'paced' ? ` (paced at ${LATENCY_RATE.toLocaleString('en-US')}/s)` : '';
        progress(`  ${LABEL[kind]}${rate}: ${report.plan.n.toLocaleString('en-US')} trades, ${Math.round(m.tradesPerSec).toLocaleString('en-US')} trades/s, CPU ${m.cpuPerTradeUs.toFixed(2)} µs/trade${lat('stored', m.stored)}${lat('committed', m.committed)}`);
        progress(`    ${message.result.check}`);
      }
    } catch (err) {
      failure ??= err instanceof Error ? err : new Error(String(err));
      if (message.type === 'session') reply({ type: 'error', message: failure.message });
    }
  });
  return new Promise((resolvePhases, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code !== 0) reject(new Error(`${kind}: client process ended with ${signal ?? `exit ${code}`}`));
      else if (failure) reject(failure);
      else if (measured.size !== phases.length) reject(new Error(`${kind}: ${measured.size} of ${phases.length} phases reported`));
      else resolvePhases(measured);
    });
  });
}

/** A package's installed version, for the report. */
function versionOf(name: string): string {
  for (let dir = here; ; dir = dirname(dir)) {
    const file = join(dir, 'node_modules', name, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
    if (dirname(dir) === dir) return 'unknown';
  }
}

async function main(): Promise<void> {
  const unknown = ONLY.filter((k) => !(CLIENT_KINDS as readonly string[]).includes(k));
  if (unknown.length > 0) throw new Error(`BENCH_CLIENTS: unknown ${unknown.join(', ')}; known: ${CLIENT_KINDS.join(', ')}`);
  const kinds = CLIENT_KINDS.filter((k) => ONLY.length === 0 || ONLY.includes(k));
  const began = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'quoting-collector-bench-ingest-'));
  if (CPU_PROF) mkdirSync(CPU_PROF, { recursive: true });
  const tapeLength = Math.max(TRADES, WARMUP, LATENCY_TRADES);
  progress(`ingest bench: ${TRADES.toLocaleString('en-US')} trades × ${ROUNDS} round(s), clients: ${kinds.join(', ')}; temp dir ${dir}`);
  const loadBefore = loadavg()[0]!;
  if (loadBefore > 0.5) progress(`WARNING: load average ${loadBefore.toFixed(2)} before the start: something else is running, figures will be noisy (the stream and the client take a core each)`);
  const tape = makeTape(tapeLength);
  const blaster = await BinanceBlaster.start(tape);
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  const onSignal = (signal: NodeJS.Signals) => {
    cleanup();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    blaster.prepare();
    progress(`stream on 127.0.0.1:${blaster.port}: ${tape.distinct.toLocaleString('en-US')} distinct ms in the ${tapeLength.toLocaleString('en-US')}-trade tape`);

    const full = new Map<ClientKind, number[]>(kinds.map((k) => [k, []]));
    const cpu = new Map<ClientKind, number[]>(kinds.map((k) => [k, []]));
    const paced = new Map<ClientKind, Measured[]>();
    const atFull = new Map<ClientKind, Measured[]>();
    const checks = new Map<ClientKind, string>();
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? kinds : [...kinds].reverse();
      progress(`round ${round + 1}/${ROUNDS}`);
      for (const kind of order) {
        const m = await runClient(blaster, kind, dir, tapeLength);
        full.get(kind)!.push(m.get('full')!.tradesPerSec);
        cpu.get(kind)!.push(m.get('full')!.cpuPerTradeUs);
        checks.set(kind, m.get('full')!.check);
        if (isOurs(kind)) {
          (atFull.get(kind) ?? atFull.set(kind, []).get(kind)!).push(m.get('full')!);
          (paced.get(kind) ?? paced.set(kind, []).get(kind)!).push(m.get('paced')!);
        }
      }
    }
    await blaster.close();

    const rows: BenchRow[] = [];
    const value = (k: ClientKind) => median(full.get(k) ?? []);
    const has = (k: ClientKind) => (full.get(k)?.length ?? 0) > 0;
    const ref = (k: ClientKind) => ({ name: LABEL[k], value: value(k) });
    const ratio = (a: ClientKind, b: ClientKind) => median(pairedRatios(full.get(a)!, full.get(b)!));
    if (has('ws-framing')) rows.push(row(`ceiling: ${LABEL['ws-framing']}`, value('ws-framing'), 'trades/s'));
    if (has('ws-json')) rows.push(has('ws-framing') ? row(`ceiling: ${LABEL['ws-json']}`, value('ws-json'), 'trades/s', ref('ws-framing'), ratio('ws-json', 'ws-framing')) : row(`ceiling: ${LABEL['ws-json']}`, value('ws-json'), 'trades/s'));
    for (const peer of ['ccxt', 'tardis'] as const) {
      if (!has(peer)) continue;
      rows.push(has('ws-json') ? row(`peer: ${LABEL[peer]}`, value(peer), 'trades/s', ref('ws-json'), ratio(peer, 'ws-json')) : row(`peer: ${LABEL[peer]}`, value(peer), 'trades/s'));
    }
    for (const ours of ['ours-sqlite', 'ours-memory'] as const) {
      if (!has(ours)) continue;
      const against = (['ccxt', 'tardis', 'ws-json', 'ws-framing'] as const).filter(has);
      if (against.length === 0) rows.push(row(LABEL[ours], value(ours), 'trades/s'));
      for (const other of against) rows.push(row(`${LABEL[ours]} vs ${LABEL[other]}`, value(ours), 'trades/s', ref(other), ratio(ours, other)));
    }
    // CPU per trade against the bare JSON.parse client's, per round (ratio > 1: less CPU than it).
    for (const kind of kinds) {
      const label = `CPU per trade: ${LABEL[kind]}`;
      const value = median(cpu.get(kind)!);
      if (kind === 'ws-json' || !has('ws-json')) rows.push(row(label, value, 'µs'));
      else rows.push(row(label, value, 'µs', { name: LABEL['ws-json'], value: median(cpu.get('ws-json')!) }, median(pairedRatios(cpu.get('ws-json')!, cpu.get(kind)!))));
    }
    const storage = { 'ours-memory': 'MemoryStorage', 'ours-sqlite': 'SqliteStorage' } as const;
    for (const ours of ['ours-sqlite', 'ours-memory'] as const) {
      for (const [when, runs] of [[`@ ${LATENCY_RATE.toLocaleString('en-US')}/s`, paced.get(ours)], ['@ full speed', atFull.get(ours)]] as const) {
        if (!runs || runs.length === 0) continue;
        for (const q of ['p50', 'p99'] as const) {
          rows.push(row(`latency sent→stored ${q}: ${storage[ours]} ${when}`, median(runs.map((r) => r.stored![q])), 'ms'));
          if (runs[0]!.committed) rows.push(row(`latency sent→committed ${q}: ${storage[ours]} ${when}`, median(runs.map((r) => r.committed![q])), 'ms'));
        }
      }
    }

    const targets: ReturnType<typeof checkTarget>[] = [];
    for (const ours of ['ours-sqlite', 'ours-memory'] as const) {
      if (!has(ours)) continue;
      if (has('ccxt')) targets.push(checkTarget(rows, `${LABEL[ours]} vs ${LABEL.ccxt}`, 'ratio', '>=', AIMS.vsCcxt));
      if (has('tardis')) targets.push(checkTarget(rows, `${LABEL[ours]} vs ${LABEL.tardis}`, 'ratio', '>=', AIMS.vsTardis));
      if (has('ws-json')) targets.push(checkTarget(rows, `${LABEL[ours]} vs ${LABEL['ws-json']}`, 'ratio', '>=', AIMS.vsJsonParse));
    }
    const params = {
      trades: TRADES,
      symbols: 1,
      distinctMs: tape.distinct,
      rounds: ROUNDS,
      warmupTrades: WARMUP,
      latencyTrades: LATENCY_TRADES,
      latencyRatePerSec: LATENCY_RATE,
      node: process.version,
      ws: versionOf('ws'),
      ccxt: versionOf('ccxt'),
      tardisDev: versionOf('tardis-dev'),
      cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
      loadAverageBefore: Math.round(loadBefore * 100) / 100,
      loadAverageAfter: Math.round(loadavg()[0]! * 100) / 100,
      perRoundTradesPerSec: Object.fromEntries([...full].map(([k, v]) => [k, v.map(Math.round)])),
      perRoundCpuPerTradeUs: Object.fromEntries([...cpu].map(([k, v]) => [k, v.map((x) => Math.round(x * 100) / 100)])),
      completeness: Object.fromEntries(checks),
      targets,
      seconds: Math.round((performance.now() - began) / 100) / 10,
    };
    printTable(`ingest bench — ${TRADES.toLocaleString('en-US')} Binance trades (1 symbol) per client × ${ROUNDS} rounds (median), loopback; node ${process.version}, ccxt ${params.ccxt}, tardis-dev ${params.tardisDev}, ${params.cpus}`, rows);
    console.log('trades/s = N / (last trade taken − first frame sent); ours "taken" = stored (SQLite: committed, after a flush).');
    console.log('latency = stored (storeMany resolved) or committed (SQLite transaction done) − the frame\'s send time (E).');
    console.log('CPU per trade = the client process\'s CPU (all threads, user + system) from connecting to the last trade taken, / N.');
    for (const [kind, check] of checks) console.log(`completeness, ${LABEL[kind]}: ${check}`);
    printTargets(targets, 'trades part 8: ≥ 3× ccxt, ≥ 2× tardis-dev, ≥ bare JSON.parse');
    printJson('ingest', params, rows);
  } finally {
    await blaster.close();
    cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

await main();
