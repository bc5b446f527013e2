import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { startBinanceSimulator, type BinanceSimulator } from '../collectors/exchanges/binance/simulator/index.js';
import type { HealthReport } from '../src/health.js';
import { SqliteStorage } from '../storage/sqlite.js';
import { collector, expectEverySentTradeStored, REPO, startCollectorDaemon, type RunningDaemon } from './support/cli.js';
import { A_FEED, writeConfig } from './support/config-files.js';

const dir = mkdtempSync(join(tmpdir(), 'qc-storage-health-'));
const sims: BinanceSimulator[] = [];
const daemons: RunningDaemon[] = [];
const mounts: string[] = [];
afterAll(async () => {
  daemons.forEach((d) => d.child.kill('SIGKILL'));
  await Promise.all(sims.map((s) => s.close()));
  for (const at of mounts) spawnSync('umount', ['-l', at]);
  rmSync(dir, { recursive: true, force: true });
});

/** Mounts a tmpfs of `size` (a real small filesystem) at a new directory; the reason when this machine cannot. */
function mountTmpfs(name: string, size: string): { at: string } | { skip: string } {
  const at = join(dir, name);
  mkdirSync(at);
  if (process.getuid?.() !== 0) return { skip: 'mounting a small filesystem needs root' };
  const out = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', at], { encoding: 'utf8' });
  if (out.status !== 0) return { skip: `mount -t tmpfs failed: ${(out.stderr || String(out.error)).trim()}` };
  mounts.push(at);
  return { at };
}

const full = mountTmpfs('full', '8m');
if ('skip' in full) console.warn(`SKIPPED disk-full test: ${full.skip}`);
const readOnly = mountTmpfs('ro', '4m');
if ('skip' in readOnly) console.warn(`SKIPPED read-only filesystem test: ${readOnly.skip}`);

type Status = { storage: { backend: string; buffered: number; written: number; lastError: string | null; failingSince: string | null } };

async function get<T>(url: string): Promise<{ code: number; body: T }> {
  const res = await fetch(url);
  return { code: res.status, body: (await res.json()) as T };
}

/** Polls `url` until `check` holds (fails after 60 s, with the last answer). */
async function until<T>(url: string, check: (a: { code: number; body: T }) => boolean): Promise<{ code: number; body: T }> {
  let last: { code: number; body: T } | undefined;
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(50)) {
    last = await get<T>(url);
    if (check(last)) return last;
  }
  throw new Error(`no answer of ${url} matched; last: ${JSON.stringify(last)}`);
}

/** Writes zeros into `file` until the filesystem is full. */
function fillDisk(file: string): void {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}

describe('storage health', { timeout: 180_000 }, () => {
  it.skipIf('skip' in full)('a full disk makes /health degraded, then unhealthy, with the reason in /status; ok again once space returns, and nothing is lost', async () => {
    const at = (full as { at: string }).at;
    const sim = await startBinanceSimulator({ symbols: ['BTC-USDT', 'ETH-USDT'], tradesPerSecond: 200, pingIntervalMs: 1_000 });
    sims.push(sim);
    const config = join(dir, 'full.yaml');
    writeConfig(
      config,
      `storage: { kind: sqlite, path: ${join(at, 'collector.db')} }
http: { listen: 127.0.0.1:0 }
health: { storageFailingFor: 8s }
exchanges:
  binance: { wsUrl: "${sim.wsUrl}", restUrl: "${sim.restUrl}" }
feeds:
  - { name: btc, exchange: binance, symbol: BTC-USDT, collect: [trades] }
  - { name: eth, exchange: binance, symbol: ETH-USDT, collect: [trades] }
`,
    );
    const daemon = await startCollectorDaemon(['--config', config]);
    daemons.push(daemon);
    const url = daemon.statusUrl;
    await until<Status>(`${url}/status`, (a) => a.body.storage.written > 0);
    expect((await get<HealthReport>(`${url}/health`)).body.status).toBe('ok');

    fillDisk(join(at, 'filler'));
    const degraded = await until<HealthReport>(`${url}/health`, (a) => a.body.status !== 'ok');
    expect(degraded.code).toBe(200);
    expect(degraded.body).toMatchObject({ status: 'degraded', delivering: true });
    expect(degraded.body.reasons).toEqual([expect.stringMatching(/^storage \(sqlite\) has refused writes for \S+ \(since \S+Z\): database or disk is full$/)]);
    expect((await get(`${url}/health/ready`)).code).toBe(200); // the collectors still deliver, into the buffer
    const failing = (await get<Status>(`${url}/status`)).body.storage;
    expect(failing).toMatchObject({ backend: 'sqlite', lastError: 'database or disk is full' });
    expect(Date.parse(failing.failingSince!)).toBeLessThanOrEqual(Date.now());
    expect(failing.buffered).toBeGreaterThan(0);
    expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/^storage_failing 1$/m);
    expect((await collector(['status', '--url', url])).stdout).toMatch(/^storage FAILING since \S+Z \(.+ ago\): database or disk is full$/m);

    // Failing longer than health.storageFailingFor: unhealthy, not ready.
    const unhealthy = await until<HealthReport>(`${url}/health`, (a) => a.code === 503);
    expect(unhealthy.body.status).toBe('unhealthy');
    expect(unhealthy.body.reasons[0]).toMatch(/^storage \(sqlite\) has refused writes/);
    expect((await get(`${url}/health/ready`)).code).toBe(503);

    rmSync(join(at, 'filler'));
    const ok = await until<HealthReport>(`${url}/health`, (a) => a.body.status === 'ok');
    expect(ok).toMatchObject({ code: 200, body: { reasons: [] } });
    expect((await get<Status>(`${url}/status`)).body.storage).toMatchObject({ lastError: null, failingSince: null });

    // Every trade sent, including those that waited out the full disk in memory, is stored once.
    await expectEverySentTradeStored(daemon, sim, config, ['BTC-USDT', 'ETH-USDT']);
  });

  it.skipIf('skip' in readOnly)('a database on a read-only filesystem is named as such at start (exit 2), not "unable to open database file"', async () => {
    const at = (readOnly as { at: string }).at;
    const existing = join(at, 'existing.db');
    const storage = new SqliteStorage({ path: existing, writeThread: false });
    await storage.store('x:y', 1, 1);
    await storage.close();
    execFileSync('mount', ['-o', 'remount,ro', at]);
    for (const [path, expected] of [
      [existing, `SQLite database ${existing}: the file is on a read-only filesystem; the collector needs to write it`],
      [join(at, 'new.db'), `SQLite database ${join(at, 'new.db')}: directory ${at} is on a read-only filesystem`],
    ] as const) {
      const config = join(dir, 'ro.yaml');
      writeConfig(config, `storage: { kind: sqlite, path: ${path} }\nhttp: false\n${A_FEED}`);
      const out = await collector(['run', '-c', config]);
      expect(out.code).toBe(2);
      expect(out.stderr).toContain(expected);
    }
  });

  it('a read-only database file is named as such at start (exit 2)', async () => {
    // Root writes any file whatever its mode: the daemon then runs as nobody.
    const asRoot = process.getuid?.() === 0;
    const setpriv = asRoot ? spawnSync('setpriv', ['--version']) : undefined;
    if (setpriv && setpriv.status !== 0) return console.warn('SKIPPED read-only file test: running as root without setpriv to drop privileges');
    const sub = mkdtempSync(join(dir, 'rofile-'));
    chmodSync(dir, 0o755);
    chmodSync(sub, 0o777);
    const path = join(sub, 'ro.db');
    const storage = new SqliteStorage({ path, writeThread: false });
    await storage.store('x:y', 1, 1);
    await storage.close();
    chmodSync(path, 0o444);
    const config = join(sub, 'ro.yaml');
    writeConfig(config, `storage: { kind: sqlite, path: ${path} }\nhttp: false\n${A_FEED}`);
    chmodSync(config, 0o644);
    const run = [join(REPO, 'bin', 'collector.js'), 'run', '-c', config];
    const out = asRoot
      ? spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, ...run], { encoding: 'utf8', cwd: REPO })
      : spawnSync(process.execPath, run, { encoding: 'utf8', cwd: REPO });
    expect(out.stderr).toContain(`SQLite database ${path}: the file is read-only for this user (EACCES)`);
    expect(out.status).toBe(2);
  });
});
