/**
 * A throwaway Redis Cluster for tests: three masters (no replicas) on free loopback ports,
 * each a `redis-server --cluster-enabled yes` with the TimeSeries module loaded and its data
 * in a temp dir, joined with `redis-cli --cluster create`. Only used when a module to load is
 * known (see timeSeriesTarget); an already running cluster is not supported.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './redis-server.js';

const run = promisify(execFile);

export const CLUSTER_SKIP_MESSAGE =
  'SKIPPED redis-timeseries cluster tests: set REDIS_TIMESERIES_MODULE=/path/to/redistimeseries.so (the tests start a Redis Cluster of their own and load it)';

/** One node of the cluster: its client port and its process. */
export interface ClusterNode {
  port: number;
  /** The cluster bus port (set explicitly: client port + 10000 may not exist for ephemeral ports). */
  busPort: number;
  /** redis-server's arguments, kept to restart it on the same ports and data directory. */
  args: string[];
  process: ChildProcess;
  output: string;
}

const running = new Set<RedisClusterHarness>();
// A crashed test run must not leave servers behind.
process.once('exit', () => {
  for (const cluster of running) for (const node of cluster.nodes) node.process.kill('SIGKILL');
});

/** Options of {@link RedisClusterHarness.start}. */
export interface RedisClusterOptions {
  /** The module every node loads (redistimeseries.so). */
  module: string;
  /** Masters; default 3 (the fewest `redis-cli --cluster create` accepts). */
  masters?: number;
  /** Ports (of `masters`) whose node starts without the module, to test the start-up check. */
  withoutModule?: number[];
  /** Every node requires this password (`--requirepass`, and `--masterauth` for the cluster's own links). */
  password?: string;
}

/** A running Redis Cluster of our own. */
export class RedisClusterHarness {
  readonly nodes: ClusterNode[] = [];

  private constructor(
    private readonly dir: string,
    private readonly password: string | undefined,
  ) {}

  /** Starts the nodes, creates the cluster and waits until every node reports cluster_state:ok. */
  static async start(options: RedisClusterOptions): Promise<RedisClusterHarness> {
    const cluster = new RedisClusterHarness(mkdtempSync(join(tmpdir(), 'collector-redis-cluster-')), options.password);
    running.add(cluster);
    try {
      const count = options.masters ?? 3;
      for (let i = 0; i < count; i++) {
        const module = options.withoutModule?.includes(i) ? undefined : options.module;
        cluster.nodes.push(await cluster.create(i, module));
      }
      const nodes = cluster.nodes.map((n) => `127.0.0.1:${n.port}`);
      await run('redis-cli', [...cluster.auth(), '--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
      await cluster.waitUntilOk();
      return cluster;
    } catch (err) {
      await cluster.dispose();
      throw err;
    }
  }

  /** `redis://127.0.0.1:<port>` of every node (seed nodes for a cluster client). */
  get urls(): string[] {
    return this.nodes.map((n) => `redis://127.0.0.1:${n.port}`);
  }

  /** Runs a command on one node (not following redirections) and returns its reply text. */
  async command(port: number, ...args: string[]): Promise<string> {
    const { stdout } = await run('redis-cli', [...this.auth(), '-p', String(port), ...args], { timeout: 10_000 });
    return stdout.trim();
  }

  /** Keys held by each node, in node order (DBSIZE). */
  async keysPerNode(): Promise<number[]> {
    return Promise.all(this.nodes.map(async (n) => Number(await this.command(n.port, 'DBSIZE'))));
  }

  /** Empties every node (the cluster is ours: nothing else lives in it). */
  async flushAll(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.command(n.port, 'FLUSHALL')));
  }

  /**
   * Stops node `index` after saving its data (SHUTDOWN SAVE writes an RDB even without save
   * points), as a master restarting for maintenance does.
   */
  async stopNode(index: number): Promise<void> {
    const node = this.nodes[index]!;
    const exited = new Promise<void>((resolve) => node.process.once('exit', () => resolve()));
    await this.command(node.port, 'SHUTDOWN', 'SAVE').catch(() => undefined);
    await exited;
  }

  /** Starts node `index` again: same ports, same data and cluster config; waits for cluster_state:ok. */
  async startNode(index: number): Promise<void> {
    const node = this.nodes[index]!;
    await this.launch(node);
    await this.waitUntilOk();
  }

  /** Kills every node and removes their data. */
  async dispose(): Promise<void> {
    running.delete(this);
    await Promise.all(
      this.nodes.map(async (n) => {
        if (n.process.exitCode !== null || n.process.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => n.process.once('exit', () => resolve()));
        n.process.kill('SIGKILL');
        await exited;
      }),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async create(index: number, module: string | undefined): Promise<ClusterNode> {
    const nodeDir = join(this.dir, `node-${index}`);
    mkdirSync(nodeDir);
    const port = await freePort();
    const busPort = await freePort();
    const args = [
      '--port', String(port),
      '--cluster-enabled', 'yes',
      '--cluster-port', String(busPort),
      '--cluster-config-file', join(nodeDir, 'nodes.conf'),
      '--cluster-node-timeout', '5000',
      '--save', '',
      '--appendonly', 'no',
      '--bind', '127.0.0.1',
      '--dir', nodeDir,
    ];
    if (module) args.push('--loadmodule', module);
    if (this.password) args.push('--requirepass', this.password, '--masterauth', this.password);
    const node = { port, busPort, args } as ClusterNode;
    await this.launch(node);
    return node;
  }

  /** Starts a node's redis-server and waits until it accepts connections. */
  private async launch(node: ClusterNode): Promise<void> {
    const { args, port } = node;
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    node.process = child;
    node.output = '';
    const ready = new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer) => {
        node.output += d;
        if (node.output.includes('Ready to accept connections')) resolve();
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('error', (err) =>
        reject(new Error((err as NodeJS.ErrnoException).code === 'ENOENT' ? 'redis-server not found on PATH (install redis-server)' : String(err))),
      );
      child.once('exit', (code) => reject(new Error(`redis-server ${args.join(' ')} exited with ${code}:\n${node.output.slice(-2000)}`)));
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`redis-server on port ${port} did not start:\n${node.output.slice(-2000)}`)), 10_000);
    });
    try {
      await Promise.race([ready, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** redis-cli's arguments to authenticate, if the nodes need a password. */
  private auth(): string[] {
    return this.password ? ['-a', this.password, '--no-auth-warning'] : [];
  }

  /** Every node must agree the cluster is ok and know every node, or a client may see a half-made map. */
  private async waitUntilOk(): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const infos = await Promise.all(this.nodes.map((n) => this.command(n.port, 'CLUSTER', 'INFO').catch(() => '')));
      const ok = infos.every(
        (info) => /cluster_state:ok/.test(info) && /cluster_slots_ok:16384/.test(info) && new RegExp(`cluster_known_nodes:${this.nodes.length}\\b`).test(info),
      );
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`the Redis Cluster did not become ok:\n${infos.join('\n---\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
