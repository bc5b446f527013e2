import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { builtInExchanges } from '../collectors/exchanges/index.js';
import type { SimulatorControls } from '../collectors/simulator/controls.js';
import { silentLogger } from '../common/logger.js';
import type { RestartPolicy } from '../src/backoff.js';
import { loadConfig } from '../src/config/load.js';
import { ConfigError } from '../src/config/errors.js';
import { createContainer } from '../src/container.js';
import { startDaemon, type Daemon } from '../src/daemon.js';
import { DataCollector, type CollectorStatus, type ServiceStatus } from '../src/data-collector.js';
import { DEFAULT_HEALTH_POLICY, type HealthPolicy, type HealthReport } from '../src/health.js';
import { startStatusServer } from '../src/http/status-server.js';
import { MemoryStorage } from '../storage/memory.js';
import { errorOf } from './support/assertions.js';
import { collector } from './support/cli.js';
import { ScriptedCollector } from './support/scripted-collector.js';
import { A_FEED, writeConfig } from './support/config-files.js';

const dir = mkdtempSync(join(tmpdir(), 'qc-status-server-'));
const running: Array<{ dc: DataCollector; server: Server }> = [];
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const { dc, server } of running.splice(0)) {
    await dc.stop(2_000);
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A DataCollector over memory storage, served on a free loopback port. */
async function serve(collectors: ScriptedCollector[], options: { health?: Partial<HealthPolicy>; token?: string; restart?: Partial<RestartPolicy> } = {}) {
  const dc = new DataCollector(collectors, new MemoryStorage(), {
    restart: { initialDelayMs: 10, maxDelayMs: 40, resetAfterMs: 10_000, ...options.restart },
    watchdogIntervalMs: 20,
  });
  const { server, url } = await startStatusServer(dc, '127.0.0.1', 0, { token: options.token, health: { ...DEFAULT_HEALTH_POLICY, ...options.health } });
  running.push({ dc, server });
  dc.start();
  return { dc, url };
}

async function get(url: string, headers: Record<string, string> = {}): Promise<{ code: number; body: HealthReport & Record<string, unknown>; res: Response }> {
  const res = await fetch(url, { headers });
  return { code: res.status, body: (await res.json()) as never, res };
}

/** Polls `url` until `check` holds for its answer (fails after 15 s). */
async function until(url: string, check: (a: Awaited<ReturnType<typeof get>>) => boolean): Promise<Awaited<ReturnType<typeof get>>> {
  let last: Awaited<ReturnType<typeof get>> | undefined;
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; await sleep(20)) {
    last = await get(url);
    if (check(last)) return last;
  }
  throw new Error(`no answer of ${url} matched; last: ${JSON.stringify(last?.body)}`);
}

describe('/health', () => {
  it('is degraded with the reason while a collector fails beyond the grace, ready while others deliver, and ok once it delivers again', async () => {
    const steady = new ScriptedCollector('steady', [{ samples: 1_000_000, everyMs: 5, then: 'run-until-abort' }]);
    // Fails once, waits out a backoff longer than the grace, then delivers.
    const flaky = new ScriptedCollector('flaky', [{ then: { throw: 'exchange said no to wss://u:pw-s3cret@ex.example/ws' } }, { samples: 1_000_000, everyMs: 5, then: 'run-until-abort' }]);
    const { url } = await serve([steady, flaky], { health: { graceMs: 100 }, restart: { initialDelayMs: 1_500, maxDelayMs: 1_500 } });

    const degraded = await until(`${url}/health`, (a) => a.body.status === 'degraded');
    expect(degraded.code).toBe(200);
    expect(degraded.body.reasons).toEqual([expect.stringMatching(/^collector flaky failing for \S+ \(since \S+Z, backing off\): exchange said no to wss:\/\/u:\*\*\*@ex\.example\/ws$/)]);
    expect(degraded.body).toMatchObject({ failed: [], degraded: [], delivering: true });
    expect(JSON.stringify(degraded.body)).not.toContain('pw-s3cret');
    expect((await get(`${url}/health/ready`)).code).toBe(200); // degraded, but steady delivers
    const status = (await get(`${url}/status`)).body as unknown as { collectors: Array<{ id: string; failingSince: string | null }> };
    expect(status.collectors.find((c) => c.id === 'flaky')!.failingSince).toMatch(/Z$/);

    const ok = await until(`${url}/health`, (a) => a.body.status === 'ok');
    expect(ok.body).toMatchObject({ status: 'ok', reasons: [], failed: [], degraded: [] });
    const after = (await get(`${url}/status`)).body as unknown as { collectors: Array<{ id: string; failingSince: string | null }> };
    expect(after.collectors.find((c) => c.id === 'flaky')!.failingSince).toBeNull();
  });

  it('is unhealthy (503) and not ready when no collector stored anything within noDataFor; live all along', async () => {
    const silent = new ScriptedCollector('silent', [{ then: 'heartbeats' }]);
    const { url } = await serve([silent], { health: { noDataForMs: 300 } });
    const unhealthy = await until(`${url}/health`, (a) => a.code === 503);
    expect(unhealthy.body).toMatchObject({ status: 'unhealthy', delivering: false, reasons: ['no collector stored data in the last 300ms'] });
    expect((await get(`${url}/health/ready`)).code).toBe(503);
    expect(await get(`${url}/health/live`)).toMatchObject({ code: 200, body: { status: 'live' } });
  });

  it('is degraded when a collector failed for good, unhealthy when every one has', async () => {
    const quits = new ScriptedCollector('quits', [{ then: { throw: 'not listed' } }]);
    const steady = new ScriptedCollector('steady', [{ samples: 1_000_000, everyMs: 5, then: 'run-until-abort' }]);
    const { url } = await serve([quits, steady], { restart: { maxRestarts: 0 } });
    const degraded = await until(`${url}/health`, (a) => a.body.failed.length > 0);
    expect(degraded).toMatchObject({ code: 200, body: { status: 'degraded', failed: ['quits'], reasons: ['collector quits failed: not listed'] } });

    const alone = await serve([new ScriptedCollector('alone', [{ then: { throw: 'not listed' } }])], { restart: { maxRestarts: 0 } });
    const unhealthy = await until(`${alone.url}/health`, (a) => a.code === 503);
    expect(unhealthy.body.reasons).toContain('every collector has failed');
  });
});

describe('http.token', () => {
  const token = 'tok-0123456789abcdef';

  it('asks every path but /health/live for the bearer token: 401 with WWW-Authenticate and no data without it or with a wrong one', async () => {
    const steady = new ScriptedCollector('steady', [{ samples: 1_000_000, everyMs: 5, then: 'run-until-abort' }]);
    const { url } = await serve([steady], { token });
    for (const path of ['/health', '/health/ready', '/status', '/metrics', '/nope']) {
      for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: `Bearer ${token}x` }, { authorization: `Basic ${token}` }] as Array<Record<string, string>>) {
        const res = await fetch(`${url}${path}`, { headers });
        const text = await res.text();
        expect(res.status, `${path} ${JSON.stringify(headers)}`).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
        expect(text).not.toMatch(/steady|collector_|ok/);
      }
    }
    const auth = { authorization: `Bearer ${token}` };
    expect((await fetch(`${url}/status`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${url}/metrics`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${url}/health`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${url}/health/live`)).status).toBe(200);
  });

  it('collector status sends the token from the config, or $COLLECTOR_TOKEN with --url; without it exits 2 saying so', async () => {
    const steady = new ScriptedCollector('steady', [{ samples: 1_000_000, everyMs: 5, then: 'run-until-abort' }]);
    const { url } = await serve([steady], { token });
    const config = join(dir, 'token.yaml');
    writeConfig(config, `storage: { kind: memory }\nhttp: { listen: "${new URL(url).host}", token: "\${QC_TOKEN}" }\n${A_FEED}`);
    const fromConfig = await collector(['status', '-c', config], { QC_TOKEN: token });
    expect(fromConfig.stderr).toBe('');
    expect(fromConfig.stdout).toMatch(/steady\s+running/);
    const fromEnv = await collector(['status', '--url', url, '--json'], { COLLECTOR_TOKEN: token });
    expect(JSON.parse(fromEnv.stdout)).toMatchObject({ collectors: [{ id: 'steady' }] });
    const without = await collector(['status', '--url', url], { COLLECTOR_TOKEN: '' });
    expect(without.code).toBe(2);
    expect(without.stderr).toMatch(/wants a token: set http\.token in the config or \$COLLECTOR_TOKEN/);
    expect(without.stdout).toBe('');
  });

  it('is required when http.listen is not a loopback address: the config is refused naming http.token (exit 2)', async () => {
    const write = (name: string, http: string) => {
      const file = join(dir, name);
      writeConfig(file, `storage: { kind: memory }\nhttp: ${http}\n${A_FEED}`);
      return file;
    };
    const open = write('open.yaml', '{ listen: 0.0.0.0:9464 }');
    const out = await collector(['validate', '-c', open]);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/open\.yaml: http\.token: required when http\.listen \(0\.0\.0\.0:9464\) is not a loopback address/);
    const run = await collector(['run', '-c', open]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/http\.token: required/);

    for (const listen of ['"[::]:9464"', '192.168.1.10:9464', 'collector.example:9464']) {
      const err = await errorOf(loadConfig(write('off.yaml', `{ listen: ${listen} }`), createContainer()));
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).toMatch(/http\.token: required/);
    }
    for (const listen of ['127.0.0.1:9464', '127.3.2.1:9464', 'localhost:9464', '"[::1]:9464"']) {
      await expect(loadConfig(write('loop.yaml', `{ listen: ${listen} }`), createContainer())).resolves.toBeDefined();
    }
    const guarded = await collector(['validate', '-c', write('guarded.yaml', '{ listen: 0.0.0.0:9464, token: "${QC_TOKEN}" }')], { QC_TOKEN: token });
    expect(guarded.code).toBe(0);
    expect(guarded.stdout).toMatch(/status server: http:\/\/0\.0\.0\.0:9464 \(token required\)/);
    expect(guarded.stdout).not.toContain(token);
    const empty = await collector(['validate', '-c', write('empty.yaml', '{ listen: 0.0.0.0:9464, token: "${QC_TOKEN:-}" }')]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/http\.token: expected a non-empty token/);
  });
});

describe('resource figures', { timeout: 60_000 }, () => {
  const WAIT = { timeout: 20_000, interval: 50 };

  async function simulator(exchange: string, symbols: string[]): Promise<SimulatorControls<unknown>> {
    const sim = (await builtInExchanges.get(exchange).simulator!({ symbols, tradesPerSecond: 40 })) as unknown as SimulatorControls<unknown>;
    cleanups.push(() => sim.close());
    return sim;
  }

  /** A daemon in this process on the simulators, storing in memory, its status on a free loopback port. */
  async function daemon(name: string, endpoints: Record<string, { wsUrl?: string; restUrl: string }>, feeds: string[], restart = ''): Promise<Daemon & { statusUrl: string }> {
    const file = join(dir, `${name}.yaml`);
    const exchanges = Object.entries(endpoints).map(([exchange, urls]) => `  ${exchange}: ${JSON.stringify({ wsUrl: urls.wsUrl, restUrl: urls.restUrl })}`);
    writeConfig(
      file,
      `storage: { kind: memory }\nhttp: { listen: "127.0.0.1:0" }\ncollector: { restart: { initialDelay: 50ms, maxDelay: 200ms${restart} } }\n` +
        `exchanges:\n${exchanges.join('\n')}\nfeeds:\n${feeds.map((f) => `  - ${f}`).join('\n')}\n`,
    );
    const container = createContainer({ logger: silentLogger });
    const started = await startDaemon(await loadConfig(file, container), container, silentLogger);
    cleanups.push(() => started.stop());
    return started as Daemon & { statusUrl: string };
  }

  const statusOf = async (d: { statusUrl: string }) => (await (await fetch(`${d.statusUrl}/status`)).json()) as ServiceStatus;
  const collectorOf = async (d: { statusUrl: string }, id: string): Promise<CollectorStatus> => (await statusOf(d)).collectors.find((c) => c.id === id)!;
  /** A per-collector gauge of GET /metrics, by collector id. */
  async function gauge(d: { statusUrl: string }, name: string): Promise<Record<string, number>> {
    const text = await (await fetch(`${d.statusUrl}/metrics`)).text();
    return Object.fromEntries([...text.matchAll(new RegExp(`^${name}\\{collector="([^"]+)",kind="[^"]+"\\} (\\S+)$`, 'gm'))].map(([, id, value]) => [id, Number(value)]));
  }

  it('shows the process figures and each collector its connections in /status, /metrics and collector status; a stopped or failed collector holds none', async () => {
    const binance = await simulator('binance', ['BTC-USDT', 'ETH-USDT']);
    const okx = await simulator('okx', ['BTC-USDT']);
    const d = await daemon('figures', { binance, okx }, [
      '{ name: btc, exchange: binance, symbol: BTC-USDT, collect: [trades, "klines:1m", "candles:1m", liquidity] }',
      '{ name: eth, exchange: binance, symbol: ETH-USDT, collect: ["liquidity:rest:1s"] }',
      '{ name: okx, exchange: okx, symbol: BTC-USDT, collect: [trades] }',
    ], ', maxRestarts: 1');
    await vi.waitFor(async () => {
      const status = await statusOf(d);
      for (const id of ['trades:binance', 'liquidity:binance', 'trades:okx']) expect(status.collectors.find((c) => c.id === id)).toMatchObject({ state: 'running', connections: 1 });
    }, WAIT);

    const status = await statusOf(d);
    expect(status.collectors.map((c) => c.kind).sort()).toEqual(['candles', 'klines', 'liquidity', 'liquidity', 'trades', 'trades']);
    for (const c of status.collectors) {
      expect(c.connections, c.id).toBeGreaterThanOrEqual(0);
      expect(c.bufferedFrames, c.id).toBeGreaterThanOrEqual(0);
    }
    // Built from the trade tap: no connection of its own.
    expect(status.collectors.find((c) => c.kind === 'candles')!.connections).toBe(0);
    // The collectors' WebSockets are the simulators' clients.
    const ws = (exchange: string) => status.collectors.filter((c) => c.id.includes(exchange) && ['trades', 'liquidity'].includes(c.kind) && !c.id.includes(':rest')).reduce((n, c) => n + c.connections, 0);
    expect(ws('binance')).toBe(binance.connections());
    expect(ws('okx')).toBe(okx.connections());
    const { process: p } = status;
    expect(p.rssBytes).toBeGreaterThan(p.heapUsedBytes);
    expect(p.heapUsedBytes).toBeGreaterThan(0);
    expect(p.heapTotalBytes).toBeGreaterThanOrEqual(p.heapUsedBytes);
    expect(p.cpuPercent).toBeGreaterThanOrEqual(0);
    expect(p.eventLoopLagMs.p99).toBeGreaterThanOrEqual(p.eventLoopLagMs.p50);
    expect(p.eventLoopLagMs.p50).toBeGreaterThanOrEqual(0);
    // Both ends of the three WebSockets (the simulators run in this process), and three listening sockets.
    expect(p.openSockets).toBeGreaterThanOrEqual(9);
    expect(p.openFds).toBeGreaterThan(p.openSockets);

    const metrics = await (await fetch(`${d.statusUrl}/metrics`)).text();
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_p50_seconds', 'nodejs_eventloop_lag_p99_seconds', 'process_open_fds', 'process_start_time_seconds']) {
      expect(metrics, name).toMatch(new RegExp(`^${name} \\d`, 'm'));
    }
    expect(await gauge(d, 'collector_connections')).toMatchObject({ 'trades:binance': 1, 'liquidity:binance': 1, 'trades:okx': 1, 'candles:binance': 0 });
    expect(Object.keys(await gauge(d, 'collector_buffered_frames')).sort()).toEqual(status.collectors.map((c) => c.id).sort());

    const printed = await collector(['status', '--url', d.statusUrl]);
    expect(printed.stderr).toBe('');
    expect(printed.stdout).toMatch(/^process: CPU \d+(\.\d+)?%, RSS \d+\.\d MiB, heap \d+\.\d\/\d+\.\d MiB, event-loop lag p50 [\d.]+ ms p99 [\d.]+ ms, \d+ fds, \d+ sockets$/m);
    expect(printed.stdout).toMatch(/^collector\s+state\s+restarts\s+items\s+items\/s\s+conns\s+buffered\s/m);
    expect(printed.stdout).toMatch(/^trades:okx\s+running\s+0\s+\d+\s+[\d.]+\s+1\s+\d+\s/m);

    // The exchange goes away: the collector fails for good and holds nothing.
    await okx.close();
    await vi.waitFor(async () => expect(await collectorOf(d, 'trades:okx')).toMatchObject({ state: 'failed', connections: 0, bufferedFrames: 0 }), WAIT);
    // Stopped: its socket closed.
    await d.collector.stopCollector('trades:binance');
    await vi.waitFor(async () => expect(await collectorOf(d, 'trades:binance')).toMatchObject({ state: 'stopped', connections: 0, bufferedFrames: 0 }), WAIT);
    expect(await gauge(d, 'collector_connections')).toMatchObject({ 'trades:binance': 0, 'trades:okx': 0, 'liquidity:binance': 1 });
    expect((await collectorOf(d, 'liquidity:binance')).connections).toBe(binance.connections());
  });

  it('counts as buffered the live trades held behind a backfill the exchange throttles, and none once the collector is stopped', async () => {
    const binance = await simulator('binance', ['BTC-USDT']);
    const d = await daemon('buffered', { binance }, ['{ name: btc, exchange: binance, symbol: BTC-USDT, collect: [trades] }']);
    await vi.waitFor(async () => expect((await collectorOf(d, 'trades:binance')).itemsStored).toBeGreaterThan(0), WAIT);
    // Reconnected, the collector fetches what it missed over REST, which answers 429 (Retry-After 60 s):
    // the live trades wait behind that backfill, in the collector.
    binance.throttleRest();
    binance.dropConnections();
    await vi.waitFor(async () => expect((await collectorOf(d, 'trades:binance')).bufferedFrames).toBeGreaterThan(5), WAIT);
    expect((await gauge(d, 'collector_buffered_frames'))['trades:binance']).toBeGreaterThan(5);
    expect((await collectorOf(d, 'trades:binance')).connections).toBe(1);
    await d.collector.stopCollector('trades:binance');
    expect(await collectorOf(d, 'trades:binance')).toMatchObject({ state: 'stopped', bufferedFrames: 0 });
  });

  it('counts an HTTP request among the connections of its collector while it is on the wire', async () => {
    const binance = await simulator('binance', ['BTC-USDT']);
    // A loopback proxy in front of the simulator's REST API that holds the requests until told.
    let held: Array<() => void> | undefined = [];
    const proxy = createServer((req, res) => {
      const forward = () =>
        void fetch(`${binance.restUrl}${req.url}`).then(async (answer) => {
          res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
          res.end(Buffer.from(await answer.arrayBuffer()));
        });
      if (held) held.push(forward);
      else forward();
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => proxy.close(resolve)));
    const d = await daemon('http', { binance: { restUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` } }, ['{ name: btc, exchange: binance, symbol: BTC-USDT, collect: ["klines:1m"] }']);
    const id = 'klines:binance:BTC-USDT:1m';
    await vi.waitFor(() => expect(held).toHaveLength(1), WAIT);
    expect((await collectorOf(d, id)).connections).toBe(1);
    expect((await gauge(d, 'collector_connections'))[id]).toBe(1);
    const waiting = held!;
    held = undefined;
    waiting.forEach((forward) => forward());
    // Answered and stored; the poller then sleeps until the next minute with nothing on the wire.
    await vi.waitFor(async () => {
      const klines = await collectorOf(d, id);
      expect(klines.itemsStored).toBeGreaterThan(0);
      expect(klines.connections).toBe(0);
    }, WAIT);
  });
});
