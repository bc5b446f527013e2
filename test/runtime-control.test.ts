/**
 * Runtime control of a running `collector run` daemon: config reloads (SIGHUP, `collector reload`)
 * and an operator's restart/stop/start of one collector, against three exchange simulators. The
 * simulators count the connections they accept: a collector left untouched keeps its connection.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { startBinanceSimulator, type BinanceSimulator } from '../collectors/exchanges/binance/simulator/index.js';
import { startBybitSimulator, type BybitSimulator } from '../collectors/exchanges/bybit/simulator/index.js';
import { startOkxSimulator, type OkxSimulator } from '../collectors/exchanges/okx/simulator/index.js';
import type { CollectorStateRecord } from '../storage/types.js';
import type { ServiceStatus } from '../src/data-collector.js';
import { silentLogger } from '../common/logger.js';
import { loadConfig } from '../src/config/load.js';
import { createContainer } from '../src/container.js';
import { startDaemon } from '../src/daemon.js';
import { ControlError } from '../src/runtime-control.js';
import { collector, daemonTestbed, startCollectorDaemon, type RunningDaemon } from './support/cli.js';
import { freePort, RedisServer, SKIP_MESSAGE, timeSeriesTarget } from './support/redis-server.js';
import { writeConfig as writeValidConfig } from './support/config-files.js';

const { dir, sims, daemons } = daemonTestbed('qc-runtime-control-');
const TOKEN = 'rc-token-0123456789';
const WAIT = { timeout: 20_000, interval: 100 };
const config = join(dir, 'collector.yaml');

let binance: BinanceSimulator;
let okx: OkxSimulator;
let bybit: BybitSimulator;
let daemon: RunningDaemon;
let port: number;

/** The feeds a test wants, as config lines; the rest of the config stays as the daemon started with it. */
const FEEDS = {
  binance: '  - { name: btc-vwap, kind: trades-vwap, exchange: binance, symbol: BTC-USDT, window: 10s }',
  okx: '  - { name: okx-btc, exchange: okx, symbol: BTC-USDT, collect: [trades] }',
  bybit: '  - { name: bybit-btc, exchange: bybit, symbol: BTC-USDT, collect: [trades] }',
};

/** The daemon's config; `bad` marks one written to be refused (not checked against the schema). */
function writeConfig(feeds: string[], storagePath = './rc.db', bad = false): void {
  (bad ? writeFileSync : writeValidConfig)(
    config,
    `storage: { kind: sqlite, path: ${storagePath} }
http: { listen: "127.0.0.1:${port}", token: "\${QC_TOKEN}" }
exchanges:
  binance: { wsUrl: "${binance.wsUrl}", restUrl: "${binance.restUrl}" }
  okx: { wsUrl: "${okx.wsUrl}", restUrl: "${okx.restUrl}" }
  bybit: { wsUrl: "${bybit.wsUrl}", restUrl: "${bybit.restUrl}" }
feeds:
${feeds.join('\n')}
`,
  );
}

const auth = { authorization: `Bearer ${TOKEN}` };
const cli = (args: string[]) => collector(args, { QC_TOKEN: TOKEN, COLLECTOR_TOKEN: TOKEN });
const post = (path: string, headers: Record<string, string> = auth) => fetch(`${daemon.statusUrl}${path}`, { method: 'POST', headers });

async function status(): Promise<ServiceStatus> {
  return (await (await fetch(`${daemon.statusUrl}/status`, { headers: auth })).json()) as ServiceStatus;
}

async function collectorStatus(id: string) {
  return (await status()).collectors.find((c) => c.id === id);
}

/** Waits until collector `id` runs and has stored more than `items`; resolves with what it stored. */
async function deliveringMore(id: string, items = 0): Promise<number> {
  let stored = 0;
  await vi.waitFor(async () => {
    const c = await collectorStatus(id);
    expect(c?.state).toBe('running');
    stored = c!.itemsStored;
    expect(stored).toBeGreaterThan(items);
  }, WAIT);
  return stored;
}

/** The connections each simulator accepted so far and holds open. */
function connections() {
  return {
    binance: { open: binance.connections(), accepted: binance.connectionsAccepted() },
    okx: { open: okx.connections(), accepted: okx.connectionsAccepted() },
    bybit: { open: bybit.connections(), accepted: bybit.connectionsAccepted() },
  };
}

describe('a collector run daemon collecting from three simulators', () => {
  beforeAll(async () => {
    const options = { symbols: ['BTC-USDT', 'ETH-USDT'], tradesPerSecond: 20 };
    binance = await startBinanceSimulator(options);
    okx = await startOkxSimulator(options);
    bybit = await startBybitSimulator(options);
    sims.push(binance, okx, bybit);
    port = await freePort();
    writeConfig([FEEDS.binance, FEEDS.okx]);
    daemon = await startCollectorDaemon(['--config', config], { QC_TOKEN: TOKEN });
    daemons.push(daemon);
    await deliveringMore('trades:binance');
    await deliveringMore('trades:okx');
  }, 60_000);

  describe('config reload', () => {
    it('collector reload adding a feed starts its collector; the unchanged collectors keep their connections', async () => {
      const before = connections();
      expect(before.binance.open).toBe(1);
      expect(before.okx.open).toBe(1);
      const binanceItems = (await collectorStatus('trades:binance'))!.itemsStored;

      writeConfig([FEEDS.binance, FEEDS.okx, FEEDS.bybit]);
      const out = await cli(['reload', '-c', config]);
      expect(out.stderr).toBe('');
      expect(out.code).toBe(0);
      expect(out.stdout).toMatch(/^reloaded .*collector\.yaml: started trades:bybit; stopped -; restarted -; 2 unchanged; 3 feed\(s\)$/m);

      await deliveringMore('trades:bybit');
      expect(bybit.connections()).toBe(1);
      // The others went on over the connections they had: none closed, none opened.
      expect(connections().binance).toEqual(before.binance);
      expect(connections().okx).toEqual(before.okx);
      await deliveringMore('trades:binance', binanceItems);
      expect((await collectorStatus('trades:binance'))!.restarts).toBe(0);
      const s = await status();
      expect(s.config).toMatchObject({ reloads: { applied: 1, refused: 0 }, lastReload: { result: 'applied' } });
      const metrics = await (await fetch(`${daemon.statusUrl}/metrics`, { headers: auth })).text();
      expect(metrics).toMatch(/^collector_config_reloads_total\{result="applied"\} 1$/m);
      expect(metrics).toMatch(/^collector_config_reloads_total\{result="refused"\} 0$/m);
    }, 60_000);

    it('SIGHUP after removing a feed stops its collector: its data and checkpoint are stored, the others keep their connections', async () => {
      const before = connections();
      // OKX's last frames arrive before its collector goes (as expectEverySentTradeStored lets them).
      okx.pause();
      await sleep(300);
      writeConfig([FEEDS.binance, FEEDS.bybit]);
      daemon.child.kill('SIGHUP');
      await vi.waitFor(async () => expect((await status()).collectors.map((c) => c.id).sort()).toEqual(['trades:binance', 'trades:bybit']), WAIT);
      await vi.waitFor(() => expect(okx.connections()).toBe(0), WAIT);
      expect(connections().binance).toEqual(before.binance);
      expect(connections().bybit).toEqual(before.bybit);
      expect(daemon.stderr()).toMatch(/"trigger":"SIGHUP".*"stopped":\["trades:okx"\].*"msg":"config reloaded"/);

      // Everything OKX sent was written when its collector stopped, as at shutdown; read from another process.
      const rows = JSON.parse((await cli(['fetch', 'trades:okx:BTC-USDT', '0', 'now', '-c', config, '-f', 'json'])).stdout) as Array<[number, { count: number }]>;
      expect(rows.reduce((n, [, v]) => n + v.count, 0)).toBe(okx.sent('BTC-USDT').count);
      const saved = JSON.parse((await cli(['status', '--from-storage', '--json', '-c', config])).stdout) as CollectorStateRecord[];
      const okxRecord = saved.find((r) => r.collector === 'trades:okx');
      expect(okxRecord?.state).toBe('stopped');
      expect(okxRecord?.checkpoints.map((c) => c.key)).toContain('trades:okx:BTC-USDT');
      await deliveringMore('trades:bybit', (await collectorStatus('trades:bybit'))!.itemsStored);
    }, 60_000);

    it('refuses a bad config (collector reload exits 2 with what collector validate says; SIGHUP logs it) and keeps collecting', async () => {
      const before = connections();
      writeConfig([FEEDS.binance, FEEDS.bybit, '  - { name: typo, exchange: binance, symbol: BTCUSDT, collect: [trades] }'], './rc.db', true);
      const validate = await cli(['validate', '-c', config]);
      expect(validate.code).toBe(2);
      expect(validate.stderr).toMatch(/feeds\[2\]\.symbol: expected BASE-QUOTE/);

      // Sent to the daemon (-u): it refuses and says why; the CLI prints that as validate does.
      const viaDaemon = await cli(['reload', '-u', daemon.statusUrl]);
      expect(viaDaemon.code).toBe(2);
      expect(viaDaemon.stderr).toBe(validate.stderr);
      // Located through the config (-c): the file is checked first, with the same words.
      const viaConfig = await cli(['reload', '-c', config]);
      expect(viaConfig.code).toBe(2);
      expect(viaConfig.stderr).toBe(validate.stderr);

      daemon.child.kill('SIGHUP');
      await vi.waitFor(async () => expect((await status()).config?.reloads.refused).toBe(2), WAIT);
      const { config: configStatus } = await status();
      expect(configStatus?.lastReload).toMatchObject({ result: 'refused' });
      expect(`collector: ${configStatus!.lastReload!.message}\n`).toBe(validate.stderr);
      expect(daemon.stderr()).toMatch(/"trigger":"SIGHUP".*feeds\[2\]\.symbol: expected BASE-QUOTE.*"msg":"config reload refused; the running config stays"/);

      // What cannot change while running is refused by name.
      writeConfig([FEEDS.binance, FEEDS.bybit], './elsewhere.db');
      const moved = await cli(['reload', '-c', config]);
      expect(moved.code).toBe(2);
      expect(moved.stderr).toMatch(/collector\.yaml: storage: cannot change while the daemon runs .*restart the daemon/);
      const shown = await cli(['status', '-c', config]);
      expect(shown.stdout).toMatch(/^config .*collector\.yaml: 2 reload\(s\) applied, 3 refused; the last .* ago REFUSED \(the running config stays\): .*storage: cannot change/m);

      // The running config stayed: same collectors, same connections, still storing.
      expect((await status()).collectors.map((c) => [c.id, c.state])).toEqual([
        ['trades:binance', 'running'],
        ['trades:bybit', 'running'],
      ]);
      await deliveringMore('trades:binance', (await collectorStatus('trades:binance'))!.itemsStored);
      expect(connections().binance).toEqual(before.binance);
      expect(connections().bybit).toEqual(before.bybit);
      writeConfig([FEEDS.binance, FEEDS.bybit]);
    }, 60_000);
  });

  describe('operator restart, stop and start', () => {
    it('needs the token for every POST: 401 without it or with a wrong one, and nothing changes', async () => {
      for (const headers of [{}, { authorization: 'Bearer wrong' }] as Array<Record<string, string>>) {
        for (const path of ['/reload', '/collectors/trades:bybit/stop', '/collectors/trades:bybit/restart']) {
          const res = await post(path, headers);
          expect(res.status, path).toBe(401);
          expect(await res.text()).not.toContain('trades:');
        }
      }
      expect((await collectorStatus('trades:bybit'))?.state).toBe('running');
      expect((await status()).config?.reloads).toEqual({ applied: 2, refused: 3 });
      const noToken = await collector(['stop', 'trades:bybit', '-u', daemon.statusUrl]);
      expect(noToken.code).toBe(2);
      expect(noToken.stderr).toMatch(/wants a token: set http\.token in the config or \$COLLECTOR_TOKEN/);
    }, 60_000);

    it('stop keeps a collector stopped by operator (also across a reload) without making the service unhealthy; start runs it again', async () => {
      const res = await post('/collectors/trades:bybit/stop');
      expect(res.status).toBe(200);
      expect(((await res.json()) as { collector: { state: string; stoppedByOperator: boolean } }).collector).toMatchObject({ state: 'stopped', stoppedByOperator: true });
      await vi.waitFor(() => expect(bybit.connections()).toBe(0), WAIT);

      const shown = await cli(['status', '-u', daemon.statusUrl]);
      expect(shown.stdout).toMatch(/^trades:bybit\s+stopped by operator\s/m);
      const health = (await (await fetch(`${daemon.statusUrl}/health`, { headers: auth })).json()) as { status: string; reasons: string[] };
      expect(health.reasons.join('\n')).not.toContain('trades:bybit');
      const metrics = await (await fetch(`${daemon.statusUrl}/metrics`, { headers: auth })).text();
      expect(metrics).toMatch(/^collector_stopped_by_operator\{collector="trades:bybit",kind="trades"\} 1$/m);
      expect(metrics).toMatch(/^collector_stopped_by_operator\{collector="trades:binance",kind="trades"\} 0$/m);

      // A reload leaves it stopped, unchanged or changed (a symbol added: a new collector under its id).
      expect((await cli(['reload', '-c', config])).code).toBe(0);
      writeConfig([FEEDS.binance, FEEDS.bybit, '  - { name: bybit-eth, exchange: bybit, symbol: ETH-USDT, collect: [trades] }']);
      const changed = await cli(['reload', '-c', config]);
      expect(changed.stdout).toMatch(/changed but kept stopped by operator trades:bybit/);
      expect(await collectorStatus('trades:bybit')).toMatchObject({ state: 'stopped', stoppedByOperator: true, keys: ['trades:bybit:BTC-USDT', 'trades:bybit:ETH-USDT'] });
      expect(bybit.connections()).toBe(0);

      const started = await cli(['start', 'trades:bybit', '-c', config]);
      expect(started.code).toBe(0);
      expect(started.stdout).toBe('trades:bybit: running\n');
      await deliveringMore('trades:bybit');
      expect(await collectorStatus('trades:bybit')).toMatchObject({ stoppedByOperator: false, restarts: 0 });
      expect(bybit.connections()).toBe(1);
    }, 60_000);

    it('restart opens a new connection and counts no failure; an unknown id is a 404 listing the known ones (CLI exit 2)', async () => {
      const before = connections();
      const restarted = await cli(['restart', 'trades:binance', '-u', daemon.statusUrl]);
      expect(restarted.code).toBe(0);
      expect(restarted.stdout).toBe('trades:binance: running\n');
      await vi.waitFor(() => expect(binance.connectionsAccepted()).toBe(before.binance.accepted + 1), WAIT);
      expect(await collectorStatus('trades:binance')).toMatchObject({ state: 'running', restarts: 0, lastError: null, failingSince: null });
      await deliveringMore('trades:binance', (await collectorStatus('trades:binance'))!.itemsStored);
      expect(connections().bybit).toEqual(before.bybit);

      const res = await post('/collectors/trades:nowhere/restart');
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ error: 'no collector "trades:nowhere"; known: trades:binance, trades:bybit', known: ['trades:binance', 'trades:bybit'] });
      const unknown = await cli(['stop', 'trades:nowhere', '-c', config]);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toBe('collector: no collector "trades:nowhere"; known: trades:binance, trades:bybit\n');
      expect((await post('/collectors/trades:binance/pause')).status).toBe(404);
    }, 60_000);
  });
});

describe('what a reload restarts (a daemon in this process)', () => {
  it("a pricing change restarts nothing; a symbol added restarts only that exchange's trades collector, and the candles kept hear the new trades collector", async () => {
    const sim = await startBinanceSimulator({ symbols: ['BTC-USDT', 'ETH-USDT'], tradesPerSecond: 50 });
    sims.push(sim);
    const file = join(dir, 'in-process.yaml');
    const write = (window: string, more = '') =>
      writeValidConfig(
        file,
        `storage: { kind: memory }
http: false
exchanges:
  binance: { wsUrl: "${sim.wsUrl}", restUrl: "${sim.restUrl}" }
feeds:
  - { name: btc, kind: trades-vwap, exchange: binance, symbol: BTC-USDT, window: ${window}, collect: ["candles:1m"] }
${more}`,
      );
    write('10s');
    const container = createContainer({ logger: silentLogger });
    const running = await startDaemon(await loadConfig(file, container), container, silentLogger);
    try {
      const item = (id: string) => running.collector.status().collectors.find((c) => c.id === id)!;
      await vi.waitFor(() => expect(item('candles:binance').itemsStored).toBeGreaterThan(0), WAIT);
      const [trades, candles] = ['trades:binance', 'candles:binance'].map((id) => running.collector.collectors.find((c) => c.id === id));
      const feed = running.feeds[0];

      write('30s');
      expect(await running.reload('test')).toMatchObject({ result: 'applied', started: [], stopped: [], restarted: [], unchanged: ['trades:binance', 'candles:binance'], settings: [] });
      expect(running.feeds[0]).not.toBe(feed);
      expect(running.collector.collectors.find((c) => c.id === 'trades:binance')).toBe(trades);
      expect(sim.connectionsAccepted()).toBe(1);

      write('30s', '  - { name: eth, exchange: binance, symbol: ETH-USDT, collect: [trades] }');
      expect(await running.reload('test')).toMatchObject({ result: 'applied', started: [], stopped: [], restarted: ['trades:binance'], unchanged: ['candles:binance'] });
      expect(running.collector.collectors.find((c) => c.id === 'candles:binance')).toBe(candles);
      expect(item('trades:binance').keys).toEqual(['trades:binance:BTC-USDT', 'trades:binance:ETH-USDT']);
      const candlesBefore = item('candles:binance').itemsStored;
      await vi.waitFor(() => expect(item('trades:binance').itemsStored).toBeGreaterThan(0), WAIT);
      // Built from the trades the new collector publishes on the daemon's one trade tap.
      await vi.waitFor(() => expect(item('candles:binance').itemsStored).toBeGreaterThan(candlesBefore), WAIT);
      await vi.waitFor(() => expect(sim.connectionsAccepted()).toBe(2), WAIT);
    } finally {
      await running.stop();
    }
  }, 60_000);
});

const timeSeries = timeSeriesTarget();
if (!timeSeries) console.warn(`${SKIP_MESSAGE} (runtime control in a cluster)`);

describe('in a cluster', () => {
  it.skipIf(!timeSeries)('a reload that changes the collectors is refused naming the way to do it; one that does not is applied; stop and start are refused (409)', async () => {
    const sim = await startBinanceSimulator({ symbols: ['BTC-USDT', 'ETH-USDT'], tradesPerSecond: 20 });
    sims.push(sim);
    const storageUrl = timeSeries!.url ?? (await RedisServer.start({ module: timeSeries!.module })).url;
    const file = join(dir, 'cluster.yaml');
    const write = (window: string, more = '') =>
      writeValidConfig(
        file,
        `storage: { kind: redis-timeseries, url: "${storageUrl}" }
http: false
cluster: { shard: 1/1 }
exchanges:
  binance: { wsUrl: "${sim.wsUrl}", restUrl: "${sim.restUrl}" }
feeds:
  - { name: btc, kind: trades-vwap, exchange: binance, symbol: BTC-USDT, window: ${window} }
${more}`,
      );
    write('10s');
    const container = createContainer({ logger: silentLogger });
    const running = await startDaemon(await loadConfig(file, container), container, silentLogger);
    try {
      await vi.waitFor(() => expect(running.collector.status().collectors[0]).toMatchObject({ id: 'trades:binance', state: 'running' }), WAIT);
      await vi.waitFor(() => expect(sim.connections()).toBe(1), WAIT);
      write('10s', '  - { name: eth, exchange: binance, symbol: ETH-USDT, collect: [trades] }');
      const refused = await running.reload('test');
      expect(refused).toMatchObject({ result: 'refused' });
      expect(refused.result === 'refused' && refused.error).toMatch(/cluster\.yaml: feeds: in a cluster a reload cannot change the collectors .*restart the members one by one/);
      write('1m');
      expect(await running.reload('test')).toMatchObject({ result: 'applied', unchanged: ['trades:binance'] });
      for (const action of ['stop', 'start'] as const) {
        const err = await running.act('trades:binance', action).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ControlError);
        expect(err).toMatchObject({ status: 409, message: expect.stringMatching(/in a cluster the leases decide/) as unknown });
      }
      expect(await running.act('trades:binance', 'restart')).toMatchObject({ state: 'running', restarts: 0 });
      await vi.waitFor(() => expect(sim.connectionsAccepted()).toBe(2), WAIT);
    } finally {
      await running.stop();
    }
  }, 60_000);
});
