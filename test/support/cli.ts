import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { Writable } from 'node:stream';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, expect } from 'vitest';
import { disposeRedisServers } from './redis-server.js';

export const REPO = join(import.meta.dirname, '..', '..');
const BIN = join(REPO, 'bin', 'collector.js');

/** Runs `collector ARGS` to completion in its own process. */
export function collector(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runProcess(process.execPath, [BIN, ...args], { env: { LOG_LEVEL: 'warn', ...env } });
}

/** Runs any command to completion (in the repository unless `cwd` says otherwise), with `env` over this process's. */
export function runProcess(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd ?? REPO, env: { ...process.env, ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Runs `collector ARGS` with its stdout on `stdout`: a file descriptor (`> file`) or another
 * child's stdin (`| cat`, a real pipe); resolves with its exit code and stderr.
 */
export function collectorInto(args: string[], stdout: number | Writable, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO, env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', stdout, 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

/** A `collector run` daemon in its own process, with its stderr collected. */
export interface RunningDaemon {
  child: ChildProcessWithoutNullStreams;
  statusUrl: string;
  stderr: () => string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

/** Starts `collector run` and waits for its "running" line (which names the status URL). */
export function startCollectorDaemon(args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunningDaemon> {
  return startDaemonProcess(process.execPath, [BIN, 'run', ...args], { env });
}

/**
 * Starts a command that runs the daemon (`collector run`, however a deploy file spells it) and
 * waits for its "running" line (which names the status URL).
 */
export function startDaemonProcess(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunningDaemon> {
  const child = spawn(command, args, { cwd: options.cwd ?? REPO, env: { ...process.env, LOG_LEVEL: 'info', ...options.env } });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`daemon did not start:\n${stderr}`)), 20_000);
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      const m = /status at (http:\/\/\S+)\/status/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve({ child, statusUrl: m[1]!, stderr: () => stderr, exited });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited with ${code} before starting:\n${stderr}`));
    });
  });
}

/** A `collector simulate` server in its own process, which a test can kill like an exchange going away. */
export interface SimulatorProcess {
  child: ChildProcessWithoutNullStreams;
  wsUrl: string;
  restUrl: string;
  /** Resolves with the exit code (or null when killed by a signal). */
  exited: Promise<number | null>;
}

/** Starts `collector simulate -e EXCHANGE --port 0 --symbols ...` and waits for the URLs it prints. */
export function startSimulatorProcess(exchange: string, symbols: readonly string[]): Promise<SimulatorProcess> {
  const child = spawn(process.execPath, [BIN, 'simulate', '-e', exchange, '--port', '0', '--symbols', symbols.join(',')], { cwd: REPO });
  let out = '';
  child.stderr.on('data', (d: Buffer) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${exchange} simulator did not start:\n${out}`)), 20_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d;
      const m = /wsUrl: "([^"]+)", restUrl: "([^"]+)"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, wsUrl: m[1]!, restUrl: m[2]!, exited });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${exchange} simulator exited with ${code} before starting:\n${out}`));
    });
  });
}

/**
 * Stops the market, lets the last frames arrive, stops the daemon with Ctrl-C (exit 0), then checks
 * from another process that every trade sent was stored once: count and summed amount per symbol.
 */
export async function expectEverySentTradeStored(
  daemon: RunningDaemon,
  sim: { pause(): void; sent(symbol: string): { count: number; amount: number } },
  config: string,
  symbols: readonly string[],
): Promise<void> {
  sim.pause();
  await sleep(300);
  daemon.child.kill('SIGINT');
  expect(await daemon.exited).toBe(0);
  for (const symbol of symbols) {
    const out = await collector(['fetch', `trades:binance:${symbol}`, '0', 'now', '-c', config, '-f', 'json']);
    const rows = JSON.parse(out.stdout) as Array<[number, { amount: number; count: number }]>;
    const sent = sim.sent(symbol);
    expect(rows.reduce((n, [, v]) => n + v.count, 0), symbol).toBe(sent.count);
    expect(rows.reduce((n, [, v]) => n + v.amount, 0), symbol).toBeCloseTo(sent.amount, 6);
  }
}

/** What a test file's daemons run in and with: a temp folder, and the daemons and simulators to stop. */
export interface DaemonTestbed {
  dir: string;
  sims: Array<{ close(): Promise<unknown> }>;
  daemons: RunningDaemon[];
}

/**
 * A temp folder for a test file's configs and databases, and lists for the daemons and simulators
 * it starts: after its tests they are killed (SIGKILL) and closed, with the Redis servers started.
 */
export function daemonTestbed(prefix: string): DaemonTestbed {
  const bed: DaemonTestbed = { dir: mkdtempSync(join(tmpdir(), prefix)), sims: [], daemons: [] };
  afterAll(async () => {
    bed.daemons.forEach((d) => d.child.kill('SIGKILL'));
    await Promise.all(bed.sims.map((s) => s.close()));
    await disposeRedisServers();
  });
  return bed;
}
