import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** A local Ethereum node (anvil) this process started. */
export interface AnvilNode {
  /** `http://127.0.0.1:<port>`. */
  readonly rpcUrl: string;
  readonly process: ChildProcess;
  /** Stops the node (SIGTERM, then SIGKILL after 2 s); resolves once it exited. */
  stop(): Promise<void>;
}

export interface AnvilOptions {
  /** Default 0: a free port picked by anvil. */
  port?: number;
  /** Seconds between blocks; default: a block per transaction (automine). */
  blockTime?: number;
  /** Timestamp of the genesis block (s). */
  timestamp?: number;
}

/** The anvil binary shipped by the `@foundry-rs/anvil-<os>-<cpu>` package of this platform. */
export function anvilBinary(): string {
  const cpu = process.arch === 'x64' ? 'amd64' : process.arch;
  const pkg = `@foundry-rs/anvil-${process.platform}-${cpu}`;
  try {
    const manifest = createRequire(import.meta.url).resolve(`${pkg}/package.json`);
    return join(dirname(manifest), 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil');
  } catch {
    throw new Error(`anvil is not installed: the package ${pkg} (a dev dependency, via @foundry-rs/anvil) is missing; run npm install`);
  }
}

/** Starts anvil on loopback and waits until it listens. The Uniswap v3 factory is over the 24 KiB code limit, so the limit is off. */
export function startAnvil(options: AnvilOptions = {}): Promise<AnvilNode> {
  const args = ['--host', '127.0.0.1', '--port', String(options.port ?? 0), '--disable-code-size-limit'];
  if (options.blockTime !== undefined) args.push('--block-time', String(options.blockTime));
  if (options.timestamp !== undefined) args.push('--timestamp', String(options.timestamp));
  const child = spawn(anvilBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
      await exited;
      clearTimeout(timer);
    }
  };
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const m = /Listening on (\S+:\d+)/.exec(output);
      if (m) {
        child.stdout.off('data', onData);
        child.stdout.resume(); // anvil logs every request: keep draining so it never blocks
        resolve({ rpcUrl: `http://${m[1]}`, process: child, stop });
      } else if (output.length > 1_000_000) output = output.slice(-10_000);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`anvil exited with code ${code} before listening: ${output.slice(-2_000)}`)));
  });
}
