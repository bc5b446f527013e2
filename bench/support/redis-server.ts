/**
 * Throwaway `redis-server` processes, free of any test framework, for benchmarks and tests
 * (test/support/redis-server.ts re-exports them and adds the test-only pieces):
 * each on a free loopback port, with an optional `--loadmodule`, stoppable and restartable on
 * the same port; and the choice of which TimeSeries Redis to use.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';

/** Where another build drops the module; used when no environment variable says otherwise. */
export const AUTO_DETECTED_MODULE = '/work/rts/redistimeseries.so';

/** Which TimeSeries Redis to use: an already running one (`url`) or a module to load (`module`). */
export interface TimeSeriesTarget {
  url?: string;
  module?: string;
}

/**
 * `REDIS_TIMESERIES_URL` (a running TimeSeries Redis), else `REDIS_TIMESERIES_MODULE` (a .so
 * to load into our own redis-server), else the auto-detected build; undefined when none.
 * `REDIS_TIMESERIES_MODULE=` (set, empty) turns auto-detection off.
 */
export function timeSeriesTarget(): TimeSeriesTarget | undefined {
  const url = process.env.REDIS_TIMESERIES_URL || undefined;
  const configured = process.env.REDIS_TIMESERIES_MODULE;
  const module = configured !== undefined ? configured || undefined : existsSync(AUTO_DETECTED_MODULE) ? AUTO_DETECTED_MODULE : undefined;
  if (url) return { url, module };
  if (module) return { module };
  return undefined;
}

/** A free TCP port on 127.0.0.1 (free when asked; the server binds it right after). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Sends one command over a fresh connection and returns the raw reply text ('' if the server closed first). */
export async function rawCommand(port: number, args: string[], timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp(port, '127.0.0.1');
    let reply = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no reply to ${args[0]} on port ${port}`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(reply);
    };
    socket.once('connect', () => socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`));
    socket.on('data', (d: Buffer) => {
      reply += d.toString();
      if (reply.endsWith('\r\n')) done();
    });
    socket.once('close', done);
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

const running = new Set<RedisServer>();
// A crashed run must not leave servers behind.
process.once('exit', () => {
  for (const server of running) server.process?.kill('SIGKILL');
});

/** Options of {@link RedisServer.start}. */
export interface RedisServerOptions {
  /** A module to `--loadmodule` (e.g. redistimeseries.so). */
  module?: string;
  /** Sets `--requirepass`. */
  password?: string;
}

/** The message `RedisServer.start` fails with when there is no redis-server on PATH. */
export const NO_REDIS_SERVER = 'redis-server not found on PATH (install redis-server)';

/** One redis-server process of our own, on a free loopback port, with its data in a temp dir. */
export class RedisServer {
  process: ChildProcess | undefined;
  private output = '';

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly options: RedisServerOptions,
  ) {}

  /** Starts redis-server from PATH and waits until it answers PING. */
  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), mkdtempSync(join(tmpdir(), 'collector-redis-')), options);
    running.add(server);
    try {
      await server.launch();
    } catch (err) {
      await server.dispose();
      throw err;
    }
    return server;
  }

  /** `redis://[:password@]127.0.0.1:<port>`. */
  get url(): string {
    return `redis://${this.options.password ? `:${encodeURIComponent(this.options.password)}@` : ''}127.0.0.1:${this.port}`;
  }

  /** The server's pid while it runs (e.g. to profile or watch it). */
  get pid(): number | undefined {
    return this.process?.pid;
  }

  /** Stops the server; by default it saves first, so a restart finds the data again. */
  async stop({ save = true }: { save?: boolean } = {}): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const auth = this.options.password ? ['AUTH', this.options.password] : undefined;
    if (auth) {
      // SHUTDOWN needs an authenticated connection: use a client that can pipeline both.
      const client = createClient({ url: this.url });
      client.on('error', () => undefined);
      await client.connect();
      await client.sendCommand(['SHUTDOWN', save ? 'SAVE' : 'NOSAVE']).catch(() => undefined);
      client.destroy();
    } else {
      await rawCommand(this.port, ['SHUTDOWN', save ? 'SAVE' : 'NOSAVE']).catch(() => undefined);
    }
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(killer);
    this.process = undefined;
  }

  /** Starts the server again on the same port, with the same data directory. */
  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  /** Stops the server without saving and removes its data directory. */
  async dispose(): Promise<void> {
    running.delete(this);
    const child = this.process;
    // No pid: it never started (spawn failed), so there is no exit to wait for.
    if (child && child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGKILL');
      await exited;
    }
    this.process = undefined;
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async launch(): Promise<void> {
    const args = ['--port', String(this.port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1', '--dir', this.dir];
    if (this.options.password) args.push('--requirepass', this.options.password);
    if (this.options.module) args.push('--loadmodule', this.options.module);
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.process = child;
    this.output = '';
    child.stdout!.on('data', (d: Buffer) => (this.output += d));
    child.stderr!.on('data', (d: Buffer) => (this.output += d));
    const failed = new Promise<never>((_, reject) => {
      child.once('error', (err) => reject(new Error((err as NodeJS.ErrnoException).code === 'ENOENT' ? NO_REDIS_SERVER : String(err))));
      child.once('exit', (code) => reject(new Error(`redis-server ${args.join(' ')} exited with ${code}:\n${this.output.slice(-2000)}`)));
    });
    failed.catch(() => undefined); // only awaited while starting
    const deadline = Date.now() + 10_000;
    for (;;) {
      // NOAUTH also proves the server is answering.
      const reply = await Promise.race([rawCommand(this.port, ['PING'], 500).catch(() => ''), failed]);
      if (reply.startsWith('+PONG') || reply.startsWith('-NOAUTH')) return;
      if (Date.now() > deadline) throw new Error(`redis-server on port ${this.port} did not answer PING:\n${this.output.slice(-2000)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** Stops every server still running. */
export async function disposeRedisServers(): Promise<void> {
  await Promise.all([...running].map((s) => s.dispose()));
}
