/**
 * Other OS processes on a storage under test (storage-child-process.js, through the built
 * backends in dist/): a reader, and a writer killed with SIGKILL for the crash test.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

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

/**
 * Runs a writer process that stores trade-like samples of `keys` with their checkpoints of
 * `collector` in every call, resuming from the committed checkpoints, and kills it with SIGKILL
 * `afterMs` after it is ready.
 */
export async function crashWrites(spec: StorageSpec, collector: string, keys: readonly string[], afterMs: number): Promise<void> {
  ensureBuilt();
  const child = spawn(process.execPath, [SCRIPT, DIST, JSON.stringify(spec), 'write-trades', collector, keys.join(',')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
    void exited.then((code) => reject(new Error(`the writer process exited (${code}) before it was ready: ${stderr}`)));
  });
  await ready;
  await sleep(afterMs);
  child.kill('SIGKILL');
  await exited;
  if (stderr.trim() !== '') throw new Error(`the writer process wrote to stderr: ${stderr}`);
}
