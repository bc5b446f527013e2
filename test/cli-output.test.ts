import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { SqliteStorage } from '../storage/sqlite.js';
import type { Point } from '../storage/types.js';
import { collector, collectorInto } from './support/cli.js';
import { writeConfig } from './support/config-files.js';
import { freePort } from './support/redis-server.js';

const dir = mkdtempSync(join(tmpdir(), 'qc-cli-output-'));
const KEY = 'trades:binance:BTC-USDT';
// Enough for about 6 MB of json, 4 MB of csv and 7 MB of table: far beyond a pipe's 64 KB.
const SAMPLES = 100_000;
const T0 = 1_700_000_000_000;
const config = join(dir, 'big.yaml');
const FORMATS = ['table', 'json', 'csv'] as const;

beforeAll(async () => {
  writeConfig(
    config,
    `storage: { kind: sqlite, path: ./big.db }
feeds:
  - { name: btc-vwap, kind: trades-vwap, exchange: binance, symbol: BTC-USDT }
  - { name: btc-collect, exchange: binance, symbol: BTC-USDT, collect: [trades] }
`,
  );
  const storage = new SqliteStorage({ path: join(dir, 'big.db') });
  await storage.declare({ key: KEY, fields: { price: 'last', amount: 'sum' } });
  for (let from = 0; from < SAMPLES; from += 10_000) {
    const points: Point[] = [];
    for (let i = from; i < from + 10_000; i++) points.push({ key: KEY, value: { price: 60_000 + (i % 1000) / 7, amount: 0.001 * ((i % 97) + 1) }, timestamp: T0 + i });
    expect((await storage.storeMany(points)).rejected).toEqual([]);
  }
  await storage.close();
});

const fetchArgs = (format: string) => ['fetch', KEY, '0', 'now', '-c', config, '-f', format];

/** `collector ARGS > file`: the output as a file receives it. */
async function toFile(args: string[], file: string): Promise<{ code: number | null; stderr: string }> {
  const fd = openSync(file, 'w');
  try {
    return await collectorInto(args, fd);
  } finally {
    closeSync(fd);
  }
}

/** `collector ARGS | READER... > file`: the CLI writes into a real pipe read by another process. */
async function throughPipe(args: string[], reader: string[], file: string): Promise<{ code: number | null; stderr: string; readerCode: number | null }> {
  const fd = openSync(file, 'w');
  const child = spawn(reader[0]!, reader.slice(1), { stdio: ['pipe', fd, 'inherit'] });
  closeSync(fd);
  const readerExited = once(child, 'close');
  const input = child.stdin!;
  const run = collectorInto(args, input);
  // The CLI holds the pipe's write end now; the reader sees the end of its input when the CLI exits.
  input.destroy();
  const result = await run;
  const [readerCode] = (await readerExited) as [number | null];
  return { ...result, readerCode };
}

// Each case runs the CLI over 100k samples a few times; beside other test files on two cores that takes a while.
describe('collector output through a pipe', { timeout: 120_000 }, () => {
  it.each(FORMATS)('fetch -f %s piped through cat arrives whole, the same bytes as redirected to a file; | head -c 100 ends it quietly', async (format) => {
    const file = join(dir, `file.${format}`);
    const piped = join(dir, `piped.${format}`);
    const direct = await toFile(fetchArgs(format), file);
    expect(direct).toEqual({ code: 0, stderr: '' });
    expect(statSync(file).size).toBeGreaterThan(format === 'csv' ? 3_500_000 : 5_000_000);
    if (format === 'json') expect((JSON.parse(readFileSync(file, 'utf8')) as unknown[]).length).toBe(SAMPLES);
    else expect(readFileSync(file, 'utf8').trimEnd().split('\n')).toHaveLength(SAMPLES + (format === 'table' ? 2 : 1));

    const pipe = await throughPipe(fetchArgs(format), ['cat'], piped);
    expect(pipe).toEqual({ code: 0, stderr: '', readerCode: 0 });
    expect(readFileSync(piped).equals(readFileSync(file))).toBe(true);

    // A reader that has enough after 100 bytes (| head -c 100): the CLI ends quietly.
    const head = join(dir, `head.${format}`);
    const early = await throughPipe(fetchArgs(format), ['head', '-c', '100'], head);
    expect(early).toEqual({ code: 0, stderr: '', readerCode: 0 });
    expect(readFileSync(head).equals(readFileSync(file).subarray(0, 100))).toBe(true);
  });

  it('the test reading the pipe itself gets the whole json too', async () => {
    const out = await collector(fetchArgs('json'));
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const samples = JSON.parse(out.stdout) as Array<[number, unknown]>;
    expect(samples).toHaveLength(SAMPLES);
    expect(samples.at(-1)![0]).toBe(T0 + SAMPLES - 1);
  });
});

describe('collector exit codes', { timeout: 60_000 }, () => {
  it('fetch of a kind no collector writes exits 2 naming it and the known kinds; a known kind with no samples exits 0', async () => {
    const unknown = await collector(['fetch', 'foo:binance:BTC-USDT', '0', 'now', '-c', config]);
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toBe('collector: foo:binance:BTC-USDT: no collector writes series of kind "foo"; known kinds: candles, dex, dex-depth, gaps, klines, liquidity, trades\n');
    const empty = await collector(['fetch', 'trades:binance:ETH-USDT', '0', 'now', '-c', config, '-f', 'json']);
    expect(empty).toEqual({ code: 0, stdout: '[]\n', stderr: '' });
  });

  it('price on a feed with no pricing kind exits 2 saying what to do; on a pricing feed it prints the price', async () => {
    const collectOnly = await collector(['price', 'btc-collect', '-c', config]);
    expect(collectOnly.code).toBe(2);
    expect(collectOnly.stderr.trim().split('\n')).toHaveLength(1);
    expect(collectOnly.stderr).toMatch(/^collector: \S+big\.yaml: feed btc-collect has no pricing kind \(it only collects trades:binance:BTC-USDT\); read its series with collector fetch, or give it a kind: .*trades-vwap/);
    const priced = await collector(['price', 'btc-vwap', String(T0), String(T0 + 120_000), '-c', config, '-f', 'json']);
    expect(priced.stderr).toBe('');
    expect(priced.code).toBe(0);
    expect((JSON.parse(priced.stdout) as unknown[]).length).toBeGreaterThan(0);
  });

  it('an unreachable Redis exits 2 for every command reading storage, with one line naming the masked URL', async () => {
    const port = await freePort();
    const url = `redis://u:s3cret-pw@127.0.0.1:${port}`;
    const redisConfig = join(dir, 'away.yaml');
    writeConfig(
      redisConfig,
      `storage: { kind: redis-timeseries, url: "${url}", connectTimeoutMs: 300 }
feeds:
  - { name: btc-vwap, kind: trades-vwap, exchange: binance, symbol: BTC-USDT, collect: ["klines:1m"] }
`,
    );
    const commands = [
      ['keys'],
      ['fetch', KEY, '-1h', 'now'],
      ['price', 'btc-vwap'],
      ['status', '--from-storage'],
      ['backfill', '--feed', 'btc-vwap', '--from', '-1h'],
    ].map((args) => [...args, '-c', redisConfig]);
    commands.push(['status', '--redis', url]);
    const results = await Promise.all(commands.map((args) => collector(args)));
    results.forEach((out, i) => {
      const command = commands[i]!.join(' ');
      expect(out.code, command).toBe(2);
      expect(out.stdout, command).toBe('');
      // backfill logs (JSON lines, at warn) while it runs; the message is the one other line.
      const message = out.stderr.trim().split('\n').filter((line) => !line.startsWith('{'));
      expect(message, command).toHaveLength(1);
      expect(message[0], command).toMatch(new RegExp(`^collector: cannot connect to Redis at redis://\\S*\\*\\*\\*@127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
      expect(out.stderr, command).not.toContain('s3cret-pw');
    });
  });
});
