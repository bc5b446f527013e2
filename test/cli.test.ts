import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { startBinanceSimulator } from '../collectors/exchanges/binance/simulator/index.js';
import { builtInExchanges } from '../collectors/exchanges/index.js';
import { describeFault, parseFaults, scheduleFaults } from '../src/cli/faults.js';
import type { ProcessFigures } from '../src/process-figures.js';
import { collector, REPO, startCollectorDaemon, type RunningDaemon } from './support/cli.js';
import { A_FEED, writeConfig as writeSchemaValidConfig } from './support/config-files.js';
import { SIMULATED } from './support/simulated-exchanges.js';

const dir = mkdtempSync(join(tmpdir(), 'qc-cli-'));
const plugin = join(REPO, 'test', 'support', 'clock-plugin.js');
const daemons: RunningDaemon[] = [];
afterAll(() => daemons.forEach((d) => d.child.kill('SIGKILL')));

/** A config the schema accepts (see writeConfig in support/config-files.ts). */
const writeConfig = (name: string, body: string): string => writeSchemaValidConfig(join(dir, name), body);

/** A config written to be refused. */
function writeBadConfig(name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, body);
  return file;
}

async function status(url: string): Promise<{ collectors: Array<Record<string, unknown>>; state: string; process: ProcessFigures }> {
  return (await (await fetch(`${url}/status`)).json()) as never;
}

// Each test runs several CLI processes (each a Node start-up); beside other test files on two cores that takes a while.
describe('collector CLI', { timeout: 90_000 }, () => {
  it('run collects into SQLite while fetch, keys, price and status read from other processes; Ctrl-C stops cleanly', async () => {
    const config = writeConfig(
      'clock.yaml',
      `plugins: [${JSON.stringify(plugin)}]
storage: { kind: sqlite, path: ./clock.db }
http: { listen: 127.0.0.1:0 }
feeds:
  - { name: ticks, kind: clock-count, exchange: local, symbol: TICK-TOCK, windowMs: 60000, collect: ["clock:10ms"] }
`,
    );
    const daemon = await startCollectorDaemon(['--config', config]);
    daemons.push(daemon);
    const health = await fetch(`${daemon.statusUrl}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', failed: [], degraded: [], reasons: [] });
    // Wait until the daemon has stored and flushed some ticks.
    let rows: Array<[number, { tick: number }]> = [];
    for (let i = 0; i < 100 && rows.length < 5; i++) {
      await sleep(100);
      const out = await collector(['fetch', 'clock:local:TICK-TOCK', '-1h', 'now', '--config', config, '--format', 'json']);
      expect(out.stderr).toBe('');
      expect(out.code).toBe(0);
      rows = JSON.parse(out.stdout) as typeof rows;
    }
    expect(rows.length).toBeGreaterThanOrEqual(5);
    expect(rows.map(([, v]) => v.tick)).toEqual(rows.map((_, i) => rows[0]![1].tick + i));

    const csv = await collector(['fetch', 'clock:local:TICK-TOCK', '0', 'now', '-c', config, '-f', 'csv']);
    expect(csv.stdout.split('\n')[0]).toBe('timestamp,tick');
    const keys = await collector(['keys', '-c', config]);
    expect(keys.code).toBe(0);
    expect(keys.stdout).toMatch(/clock:local:TICK-TOCK\s+\d+\s+\d{4}-\d\d-\d\dT/);
    const price = await collector(['price', 'ticks', '-c', config, '-f', 'json']);
    expect(JSON.parse(price.stdout)[1]).toBeGreaterThan(0);

    const st = await collector(['status', '--url', daemon.statusUrl]);
    expect(st.code).toBe(0);
    expect(st.stdout).toMatch(/quoting-collector .*: running, up/);
    expect(st.stdout).toMatch(/clock:TICK-TOCK\s+running\s+0\s+\d+/);
    expect(st.stdout).toMatch(/^process: CPU [\d.]+%, RSS [\d.]+ MiB, heap [\d.]+\/[\d.]+ MiB, event-loop lag p50 [\d.]+ ms p99 [\d.]+ ms, \d+ fds, \d+ sockets$/m);
    const json = await status(daemon.statusUrl);
    // A plugin's collector holds no connection the framework sees, and nothing in wait.
    expect(json.collectors[0]).toMatchObject({ id: 'clock:TICK-TOCK', state: 'running', restarts: 0, lastError: null, connections: 0, bufferedFrames: 0 });
    // The daemon's own process: its descriptors include the SQLite file and the status server's socket.
    expect(json.process).toMatchObject({ rssBytes: expect.any(Number), openFds: expect.any(Number), openSockets: expect.any(Number) });
    expect(json.process.rssBytes).toBeGreaterThan(json.process.heapUsedBytes);
    expect(json.process.openFds).toBeGreaterThan(json.process.openSockets);
    expect(json.process.openSockets).toBeGreaterThanOrEqual(1);
    const metrics = await (await fetch(`${daemon.statusUrl}/metrics`)).text();
    expect(metrics).toMatch(/collector_items_stored_total\{collector="clock:TICK-TOCK",kind="clock"\} \d+/);

    daemon.child.kill('SIGINT');
    expect(await daemon.exited).toBe(0);
    expect(daemon.stderr()).toMatch(/storage flushed and closed/);
    // Everything the daemon stored is there after it stopped.
    const after = await collector(['fetch', 'clock:local:TICK-TOCK', '0', 'now', '-c', config, '-f', 'json']);
    const all = JSON.parse(after.stdout) as typeof rows;
    expect(all.length).toBeGreaterThanOrEqual(rows.length);
    expect(all.at(-1)![1].tick).toBe(all.length + all[0]![1].tick - 1);
  });

  it('stops by itself after --duration and exits 0', async () => {
    const config = writeConfig(
      'duration.yaml',
      `plugins: [${JSON.stringify(plugin)}]\nstorage: { kind: memory }\nhttp: { listen: 127.0.0.1:0 }\nfeeds:\n  - { name: t, exchange: local, symbol: A-B, collect: [clock] }\n`,
    );
    const daemon = await startCollectorDaemon(['--config', config, '--duration', '300ms']);
    expect(await daemon.exited).toBe(0);
  });

  it('a bad config exits 2 naming the file and the field, and starts nothing', async () => {
    const config = writeBadConfig('bad.yaml', `http: { listen: 127.0.0.1:0 }\nfeeds:\n  - { name: x, kind: trades-vwap, exchange: binance, symbol: BTCUSDT }\n`);
    for (const cmd of ['run', 'validate']) {
      const out = await collector([cmd, '--config', config]);
      expect(out.code).toBe(2);
      expect(out.stderr).toBe(`collector: ${config}: feeds[0].symbol: expected BASE-QUOTE in upper case, e.g. BTC-USDT\n`);
      expect(out.stdout).toBe('');
    }
    const missing = await collector(['validate', '--config', join(dir, 'nope.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.yaml: cannot read the config file: ENOENT/);
  });

  it('every example config in config/ is valid', async () => {
    const { readdirSync } = await import('node:fs');
    for (const file of readdirSync(join(REPO, 'config')).filter((f) => f.endsWith('.yaml'))) {
      const out = await collector(['validate', '--config', `config/${file}`]);
      expect(out.stderr, file).toBe('');
      expect(out.code, file).toBe(0);
    }
  });

  it('validate never prints a secret from the config', async () => {
    const config = writeConfig('secret.yaml', `storage: { kind: redis-timeseries, url: "redis://user:hunter2@127.0.0.1:1", password: "\${QC_SECRET}" }\n${A_FEED}`);
    const out = await collector(['validate', '--config', config], { QC_SECRET: 's3cr3t' });
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/url=redis:\/\/user:\*\*\*@127\.0\.0\.1:1 password=\*\*\*/);
    expect(out.stdout).not.toMatch(/hunter2|s3cr3t/);
  });

  it('validate shows what a config would run; the default config is valid', async () => {
    const out = await collector(['validate', '--config', 'config/default.yaml']);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/config\/default\.yaml: OK/);
    expect(out.stdout).toMatch(/collectors \(4\): trades:binance → trades:binance:BTC-USDT, trades:binance:ETH-USDT; klines:binance:ETH-USDT:1m → klines:binance:ETH-USDT:1m, gaps:binance:ETH-USDT:1m; candles:binance → .*; liquidity:binance → liquidity:binance:ETH-USDT/);
  });

  it('validate names what an exchange lacks: an error where nothing could be collected, a warning where gaps are recorded', async () => {
    const lacking = writeConfig(
      'lacking.yaml',
      'feeds:\n  - { name: b, exchange: bybit, symbol: BTC-USDT, collect: [trades] }\n  - { name: k, exchange: kraken, symbol: BTC-USD, collect: [klines:1m], history: 2d }\n',
    );
    const out = await collector(['validate', '--config', lacking]);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('warning: bybit has no trade history over REST: trades missed while disconnected are recorded as gaps (gaps:bybit:BTC-USDT), not backfilled');
    expect(out.stdout).toContain('warning: history 2d reaches past the 720 most recent 1m klines kraken serves (12h): older ones are recorded as gaps (gaps:kraken:BTC-USD:1m)');
    const cases: Array<[string, string]> = [
      ['{ name: x, exchange: binance, symbol: BTC-USDT, collect: [klines:2m] }', 'collect "klines:2m": binance has no 2m klines; it serves 1s, 1m, 3m'],
      ['{ name: x, exchange: mtgox, symbol: BTC-USD, collect: [trades] }', `collect "trades": unknown exchange "mtgox"; known: ${builtInExchanges.names.join(', ')}`],
    ];
    for (const [feed, message] of cases) {
      const bad = await collector(['validate', '--config', writeConfig('unserved.yaml', `feeds:\n  - ${feed}\n`)]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain(`feeds[0]: ${message}`);
    }
  });

  it('fetch with a bad key or range exits 2 with one line, and touches nothing stored', async () => {
    const config = writeConfig('read.yaml', `storage: { kind: sqlite, path: ./read.db }\n${A_FEED}`);
    const seed = await collector(['keys', '-c', config]);
    expect(seed.stderr).toMatch(/read\.db/); // no database yet: said clearly
    expect(seed.code).toBe(2);
    const { SqliteStorage } = await import('../storage/sqlite.js');
    const s = new SqliteStorage({ path: join(dir, 'read.db') });
    await s.store('trades:binance:BTC-USDT', { price: 1, amount: 2 }, 1_000);
    await s.close();
    const cases: Array<[string[], RegExp]> = [
      [['fetch', 'trades binance', '0', 'now'], /^collector: bad key "trades binance"/],
      [['fetch', 'trades:binance:BTC-USDT', 'now', '-1h'], /^collector: bad range for trades:binance:BTC-USDT: start \d+ is after end \d+/],
      [['fetch', 'trades:binance:BTC-USDT', 'yesterday', 'now'], /^collector: START: bad time "yesterday"/],
      [['fetch', 'trades:binance:BTC-USDT', '0', 'now', '-f', 'xml'], /^collector: --format: expected table, json or csv/],
    ];
    for (const [args, message] of cases) {
      const out = await collector([...args, '-c', config]);
      expect(out.code).toBe(2);
      expect(out.stderr).toMatch(message);
      expect(out.stderr.trim().split('\n')).toHaveLength(1);
    }
    const ok = await collector(['fetch', 'trades:binance:BTC-USDT', '0', 'now', '-c', config, '-f', 'json']);
    expect(JSON.parse(ok.stdout)).toEqual([[1_000, { price: 1, amount: 2 }]]);
    const empty = await collector(['fetch', 'trades:binance:ETH-USDT', '0', 'now', '-c', config, '-f', 'json']);
    expect(JSON.parse(empty.stdout)).toEqual([]);
  });

  it('simulate serves a Binance stream until Ctrl-C, and refuses an exchange it cannot simulate', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [join(REPO, 'bin', 'collector.js'), 'simulate', '--port', '0', '--symbols', 'BTC-USDT'], { cwd: REPO });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    for (let i = 0; i < 100 && !/restUrl: "(http:\/\/[^"]+)"/.test(out); i++) await sleep(50);
    const restUrl = /restUrl: "(http:\/\/[^"]+)"/.exec(out)![1]!;
    const info = (await (await fetch(`${restUrl}/api/v3/exchangeInfo`)).json()) as { symbols: Array<{ symbol: string }> };
    expect(info.symbols.map((s) => s.symbol)).toEqual(['BTCUSDT']);
    child.kill('SIGINT');
    expect(await new Promise((resolve) => child.on('close', resolve))).toBe(0);
    const badFault = await collector(['simulate', '--faults', 'explode:1s']);
    expect(badFault.code).toBe(2);
    expect(badFault.stderr).toMatch(/^collector: --faults: bad fault "explode:1s": expected drop\|malformed\|stall/);
    const bad = await collector(['simulate', '--exchange', 'mtgox']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(`collector: --exchange: no simulator for mtgox; available: ${SIMULATED.map((e) => e.name).join(', ')}\n`);
  });

  it('simulate -e starts the simulator an exchange object names', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [join(REPO, 'bin', 'collector.js'), 'simulate', '-e', 'kraken', '--port', '0', '--symbols', 'BTC-USD'], { cwd: REPO });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    for (let i = 0; i < 100 && !/restUrl: "(http:\/\/[^"]+)"/.test(out); i++) await sleep(50);
    expect(out).toMatch(/^kraken simulator: BTC-USD at 20 trades\/s each\n {2}exchanges: \{ kraken: \{ wsUrl: "ws:/);
    child.kill('SIGINT');
    expect(await new Promise((resolve) => child.on('close', resolve))).toBe(0);
  });

  it('simulate --faults injects the faults it was given into live connections', async () => {
    const { spawn } = await import('node:child_process');
    const { WebSocket } = await import('ws');
    const child = spawn(process.execPath, [join(REPO, 'bin', 'collector.js'), 'simulate', '--port', '0', '--symbols', 'BTC-USDT', '--faults', 'malformed:100ms,drop:400ms,429:10s:1s'], { cwd: REPO });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    for (let i = 0; i < 100 && !/wsUrl: "(ws:\/\/[^"]+)"/.test(out); i++) await sleep(50);
    expect(out).toMatch(/faults: malformed every 100 ms, drop every 400 ms, 429 every 10000 ms for 1000 ms/);
    const socket = new WebSocket(`${/wsUrl: "(ws:\/\/[^"]+)"/.exec(out)![1]}/ws`);
    const frames: string[] = [];
    socket.on('message', (data: Buffer) => frames.push(data.toString()));
    const closed = new Promise<number>((resolve) => socket.on('close', (code: number) => resolve(code)));
    expect(await closed).toBe(1006); // cut without a close handshake, like a network failure
    expect(frames.some((f) => { try { JSON.parse(f); return false; } catch { return true; } })).toBe(true);
    child.kill('SIGINT');
    expect(await new Promise((resolve) => child.on('close', resolve))).toBe(0);
  });

  it('simulate --faults parses reject, 429, maintenance and corrupt-book, and refuses bad specs saying what was expected', () => {
    expect(parseFaults('reject, reject:20s, 429:2m:10s, 429:1m, maintenance:5m:30s, corrupt-book:15s, stall:60s').map(describeFault)).toEqual([
      'reject always',
      'reject for the first 20000 ms',
      '429 every 120000 ms for 10000 ms',
      '429 every 60000 ms for 5000 ms',
      'maintenance every 300000 ms for 30000 ms',
      'corrupt-book every 15000 ms',
      'stall every 60000 ms for 5000 ms',
    ]);
    const cases: Array<[string, string]> = [
      ['explode:1s', 'bad fault "explode:1s": expected drop|malformed|stall|reject|429|maintenance|corrupt-book, written drop:<every>, malformed:<every>, stall:<every>[:<for>], reject[:<for>], 429:<every>[:<for>], maintenance:<every>[:<for>], corrupt-book:<every>'],
      ['429', 'bad fault "429": say how often, e.g. 429:30s; expected 429:<every>[:<for>]'],
      ['maintenance:10s:10s', 'bad fault "maintenance:10s:10s": it must last less than its period (10000 ms ≥ 10000 ms); expected maintenance:<every>[:<for>]'],
      ['corrupt-book:5s:1s', 'bad fault "corrupt-book:5s:1s": too many parts; expected corrupt-book:<every>'],
      ['reject:1s:2s', 'bad fault "reject:1s:2s": too many parts; expected reject[:<for>]'],
      ['reject:0s', 'bad fault "reject:0s": how long must be positive; expected reject[:<for>]'],
      ['429:often', 'bad fault "429:often": bad duration "often"'],
    ];
    for (const [spec, message] of cases) expect(() => parseFaults(spec), spec).toThrow(message);
  });

  it('simulate --faults reject, 429, maintenance and corrupt-book act on the simulator', async () => {
    const { WebSocket } = await import('ws');
    const sim = await startBinanceSimulator({ symbols: ['BTC-USDT'], tradesPerSecond: 10 });
    const corrupt = vi.spyOn(sim, 'corruptNextBookUpdate');
    const struck: string[] = [];
    const stop = scheduleFaults(sim, parseFaults('reject:300ms,429:300ms:100ms,maintenance:200ms:100ms,corrupt-book:200ms'), (plan) => struck.push(plan.fault));
    try {
      const subscribe = async (): Promise<string> => {
        const socket = new WebSocket(`${sim.wsUrl}/ws`);
        await new Promise((resolve) => socket.once('open', resolve));
        const reply = new Promise<string>((resolve) => socket.once('message', (data: Buffer) => resolve(data.toString())));
        socket.send('{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1}');
        const text = await reply;
        socket.terminate();
        return text;
      };
      // Refused the way Binance refuses a stream, then accepted once the window is over.
      expect(await subscribe()).toBe('{"error":{"code":2,"msg":"Invalid request: invalid stream"},"id":1}');
      await vi.waitFor(async () => expect(await subscribe()).toBe('{"result":null,"id":1}'), { timeout: 5_000 });
      await vi.waitFor(async () => {
        const res = await fetch(`${sim.restUrl}/api/v3/time`);
        expect(res.status).toBe(429);
        expect(res.headers.get('retry-after')).toBe('1');
      }, { timeout: 5_000, interval: 20 });
      await vi.waitFor(async () => {
        const res = await fetch(`${sim.restUrl}/sapi/v1/system/status`);
        expect(res.status === 200 ? await res.json() : undefined).toEqual({ status: 1, msg: 'system_maintenance' });
      }, { timeout: 5_000, interval: 20 });
      await vi.waitFor(() => expect(corrupt).toHaveBeenCalled(), { timeout: 5_000 });
      expect(new Set(struck)).toEqual(new Set(['reject', '429', 'maintenance', 'corrupt-book']));
    } finally {
      stop();
      await sim.close();
    }
  });

  it('with no exchange reachable the daemon keeps running and shows its collectors reconnecting', async () => {
    const config = writeConfig(
      'offline.yaml',
      `storage: { kind: memory }
http: { listen: 127.0.0.1:0 }
exchanges:
  binance: { wsUrl: "ws://127.0.0.1:9", restUrl: "http://127.0.0.1:9" }
feeds:
  - { name: btc, kind: trades-vwap, exchange: binance, symbol: BTC-USDT }
collector: { restart: { initialDelay: 50ms, maxDelay: 200ms } }
`,
    );
    const daemon = await startCollectorDaemon(['--config', config]);
    daemons.push(daemon);
    let c: Record<string, unknown> = {};
    for (let i = 0; i < 100; i++) {
      await sleep(50);
      c = (await status(daemon.statusUrl)).collectors[0]!;
      if ((c.restarts as number) >= 2) break;
    }
    expect(c.restarts as number).toBeGreaterThanOrEqual(2);
    expect(c.lastError).toMatch(/ECONNREFUSED|connect/);
    expect(['running', 'backing-off']).toContain(c.state);
    const printed = await collector(['status', '--url', daemon.statusUrl]);
    expect(printed.stdout).toMatch(/trades:binance\s+(running|backing-off)/);
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
  });
});
