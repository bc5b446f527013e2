/**
 * Other OS processes on a storage under test (storage-child-process.js, through the built
 * backends in dist/): a reader, and a writer killed with SIGKILL for the crash test or stopped
 * with SIGSTOP for the fencing test.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { WriteFence } from '../../storage/types.js';

const execFileAsync = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DIST = join(ROOT, 'dist');
const SCRIPT = fileURLToPath(new URL('./storage-child-process.js', import.meta.url));

/** How another process opens the same storage. */
export type StorageSpec =
  | { kind: 'sqlite'; path: string; writeThread?: boolean }
  | { kind: 'redis-timeseries'; url?: string; urls?: string[] };

/** Builds dist/ when the compiled storage is missing or older than its sources. */
export function ensureBuilt(): void {
  const built = join(DIST, 'storage/sqlite.js');
  const dirs = ['storage', 'storage/redis-timeseries'];
  const sources = dirs.flatMap((d) => readdirSync(join(ROOT, d)).filter((f) => f.endsWith('.ts')).map((f) => join(ROOT, d, f)));
  const fresh = () => existsSync(built) && sources.every((f) => statSync(f).mtimeMs <= statSync(built).mtimeMs);
  if (fresh()) return;
  let output = '';
  try {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' });
  } catch (err) {
    // Type errors elsewhere in the project still emit; only a missing output is fatal.
    output = String((err as { stdout?: string }).stdout ?? err);
  }
  if (!fresh()) throw new Error(`could not build ${built}:\n${output}`);
}

/** `fetch` in a separate `node` process, opened read-only; the samples as parsed JSON. */
export async function childFetch(spec: StorageSpec, key: string, start: number, end: number): Promise<unknown> {
  ensureBuilt();
  const { stdout } = await execFileAsync(process.execPath, [SCRIPT, DIST, JSON.stringify(spec), 'fetch', key, String(start), String(end)], { cwd: ROOT });
  return JSON.parse(stdout);
}

/** The counters a writer process reports (its storage's `stats()`), every 50 ms. */
export interface ChildWriterStats {
  written: number;
  staleWritesRefused?: number;
}

/**
 * A writer process that stores trade-like samples of `keys` with their checkpoints of
 * `collector` in every call, resuming from the committed checkpoints; through a view fenced with
 * `fence` when given. Signals stop, continue and kill it.
 */
export class ChildWriter {
  /** The counters it reported last. */
  stats: ChildWriterStats = { written: 0 };
  private stderr = '';
  private readonly exited: Promise<number | null>;
  private readonly reported: Array<() => void> = [];

  private constructor(private readonly child: ChildProcess) {
    child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Starts it; resolves once it has loaded its checkpoints and starts writing. */
  static async start(spec: StorageSpec, collector: string, keys: readonly string[], fence?: WriteFence): Promise<ChildWriter> {
    ensureBuilt();
    const args = [SCRIPT, DIST, JSON.stringify(spec), 'write-trades', collector, keys.join(','), ...(fence ? [JSON.stringify(fence)] : [])];
    const writer = new ChildWriter(spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
    await writer.readLines();
    return writer;
  }

  /** Resolves once a report satisfies `done`; rejects after `timeoutMs` or when the process ends. */
  async until(done: (stats: ChildWriterStats) => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this.stats)) {
      if (this.child.exitCode !== null) throw new Error(`the writer process exited (${this.child.exitCode}) before ${what}: ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`the writer process did not get to ${what} within ${timeoutMs} ms (last report ${JSON.stringify(this.stats)})`);
      await new Promise<void>((resolve) => {
        this.reported.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  /** SIGSTOP: the process stops where it is, its connections open (a long GC pause, a frozen VM). */
  pause(): void {
    this.child.kill('SIGSTOP');
  }

  /** SIGCONT: it goes on as if nothing happened. */
  resume(): void {
    this.child.kill('SIGCONT');
  }

  /** SIGKILL; resolves once it is gone. Throws if it wrote to stderr. */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
    if (this.stderr.trim() !== '') throw new Error(`the writer process wrote to stderr: ${this.stderr}`);
  }

  /** Reads its stdout: resolves at `ready`, then keeps `stats` up to date. */
  private readLines(): Promise<void> {
    let pending = '';
    return new Promise<void>((resolve, reject) => {
      this.child.stdout!.on('data', (chunk: Buffer) => {
        pending += chunk.toString();
        const lines = pending.split('\n');
        pending = lines.pop()!;
        for (const line of lines) {
          if (line === 'ready') resolve();
          else if (line.startsWith('stats ')) {
            this.stats = JSON.parse(line.slice('stats '.length)) as ChildWriterStats;
            for (const wake of this.reported.splice(0)) wake();
          }
        }
      });
      void this.exited.then((code) => reject(new Error(`the writer process exited (${code}) before it was ready: ${this.stderr}`)));
    });
  }
}

/**
 * Runs a writer process (ChildWriter) and kills it with SIGKILL `afterMs` after it is ready.
 */
export async function crashWrites(spec: StorageSpec, collector: string, keys: readonly string[], afterMs: number): Promise<void> {
  const writer = await ChildWriter.start(spec, collector, keys);
  await sleep(afterMs);
  await writer.kill();
}
