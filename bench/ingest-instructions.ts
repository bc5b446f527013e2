/**
 * Instructions per trade (`npm run bench -- ingest-instructions`): the ingest benchmark's
 * clients counted by valgrind's callgrind instead of timed. An instruction count moves far less
 * with what else the machine runs than trades/s (which moves by up to 2× on a shared 2-core
 * machine; counts still differ by up to ~20% between runs, with GC and JIT timing), so it shows
 * whether a change to the trade path made it cheaper.
 *
 * Each client process (support/ingest-client.ts, as bench:ingest runs it) takes a warm-up of
 * BENCH_WARMUP_TRADES and then N1 trades, and in a second process the same warm-up and N2 trades,
 * from the same loopback Binance stream; callgrind counts every instruction of the process, all
 * threads (SQLite's writer thread, V8's compiler and GC threads too). Per trade =
 * (I(N2) − I(N1)) / (N2 − N1): start-up, warm-up (most JIT compiling) and teardown cancel out. Ours does not read
 * back what it stored (that cost grows with N; bench:ingest checks it). The ratio is the bare
 * `ws` + JSON.parse client's count over the client's: > 1 is fewer instructions than merely
 * parsing. Instructions are not time (cache misses, GC pauses differ), but they are repeatable.
 *
 * Knobs: BENCH_N1 (default 20k), BENCH_N2 (default 80k), BENCH_WARMUP_TRADES (50k),
 * BENCH_CLIENTS (default ws-json, ours-memory, ours-sqlite: 2–4 minutes each under callgrind;
 * the peers when named), BENCH_CALLGRIND_DIR=<dir> keeps the callgrind files there for
 * `callgrind_annotate` (V8's own functions are named; JIT code shows as addresses).
 * Without valgrind on PATH it prints SKIPPED and why, and exits 0.
 */
import { fork, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BinanceBlaster } from './support/binance-blaster.js';
import type { ClientConfig, FromClient, ToClient } from './support/ingest-client.js';
import { CLIENT_KINDS, type ClientKind } from './support/ingest-clients.js';
import { envInt, printJson, printTable, progress, row, type BenchRow } from './support/report.js';
import { makeTape } from './support/trade-tape.js';

const N1 = envInt('BENCH_N1', 20_000);
const N2 = envInt('BENCH_N2', 80_000);
const WARMUP = envInt('BENCH_WARMUP_TRADES', 50_000);
const DEFAULT_CLIENTS: ClientKind[] = ['ws-json', 'ours-memory', 'ours-sqlite'];
const KEEP = process.env.BENCH_CALLGRIND_DIR;
const ONLY = (process.env.BENCH_CLIENTS ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0);

const here = dirname(fileURLToPath(import.meta.url));
const CLIENT = join(here, 'support', 'ingest-client.js');

/** The instructions callgrind counted in one output file (its `summary:` or `totals:` line). */
function instructionsIn(file: string): number {
  const match = /^(?:summary|totals): (\d+)/m.exec(readFileSync(file, 'utf8'));
  if (!match) throw new Error(`${file}: no summary line`);
  return Number(match[1]);
}

/** Runs one client process under callgrind for `n` trades; the instructions it executed. */
function countClient(blaster: BinanceBlaster, kind: ClientKind, n: number, dir: string, tapeLength: number): Promise<number> {
  const out = join(dir, `callgrind-${kind}-${n}.out`);
  // The same warm-up in both runs (the JIT compiling the hot path), then n counted trades.
  const phases = [{ phase: 'warm-up', n: WARMUP, ratePerSec: 0 }, { phase: 'counted', n, ratePerSec: 0 }];
  const config: ClientConfig = { kind, tapeLength, phases, dir, verify: false };
  const child = fork(CLIENT, [JSON.stringify(config)], {
    execPath: 'valgrind',
    execArgv: ['--tool=callgrind', '--quiet', `--callgrind-out-file=${out}`, process.execPath],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let failure: Error | undefined;
  child.on('message', (raw) => {
    const message = raw as FromClient;
    if (message.type === 'session') {
      const { id, baseUrl } = blaster.session({ n: message.n, ratePerSec: message.ratePerSec });
      child.send({ type: 'session', id, baseUrl } satisfies ToClient);
      return;
    }
    blaster.forget(message.session);
    if (!message.result.ok) failure ??= new Error(`${kind}: ${message.result.check}`);
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code !== 0) reject(new Error(`${kind}: client under callgrind ended with ${signal ?? `exit ${code}`}`));
      else if (failure) reject(failure);
      else resolve(instructionsIn(out));
    });
  });
}

async function main(): Promise<void> {
  if (spawnSync('valgrind', ['--version']).status !== 0) {
    console.log('SKIPPED ingest-instructions: valgrind is not installed (apt-get install valgrind)');
    return;
  }
  if (N2 <= N1) throw new Error(`BENCH_N2 (${N2}) must be larger than BENCH_N1 (${N1})`);
  const kinds = ONLY.length > 0 ? CLIENT_KINDS.filter((k) => ONLY.includes(k)) : DEFAULT_CLIENTS;
  const dir = KEEP ?? mkdtempSync(join(tmpdir(), 'quoting-collector-bench-instructions-'));
  mkdirSync(dir, { recursive: true });
  const tapeLength = Math.max(N2, WARMUP);
  const tape = makeTape(tapeLength);
  const blaster = await BinanceBlaster.start(tape);
  try {
    blaster.prepare();
    const perTrade = new Map<ClientKind, number>();
    for (const kind of kinds) {
      const counts: number[] = [];
      for (const n of [N1, N2]) {
        const started = Date.now();
        counts.push(await countClient(blaster, kind, n, dir, tapeLength));
        progress(`  ${kind}: ${n.toLocaleString('en-US')} trades, ${counts.at(-1)!.toLocaleString('en-US')} instructions (${Math.round((Date.now() - started) / 1000)} s under callgrind)`);
      }
      perTrade.set(kind, (counts[1]! - counts[0]!) / (N2 - N1));
    }
    const ref = perTrade.has('ws-json') ? { name: 'bare ws + JSON.parse', value: perTrade.get('ws-json')! } : undefined;
    const rows: BenchRow[] = kinds.map((kind) => (kind === 'ws-json' || !ref ? row(`instructions per trade: ${kind}`, perTrade.get(kind)!, 'instr') : row(`instructions per trade: ${kind}`, perTrade.get(kind)!, 'instr', ref, ref.value / perTrade.get(kind)!)));
    printTable(`ingest instructions — callgrind, (I(${N2.toLocaleString('en-US')}) − I(${N1.toLocaleString('en-US')})) / ${(N2 - N1).toLocaleString('en-US')} trades, every thread of the client process; node ${process.version}`, rows);
    console.log('ratio = bare ws + JSON.parse instructions / the client\'s (> 1: fewer than merely parsing).');
    printJson('ingest-instructions', { n1: N1, n2: N2, clients: kinds }, rows);
  } finally {
    await blaster.close();
    if (!KEEP) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
