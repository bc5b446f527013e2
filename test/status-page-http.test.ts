/**
 * The status page's HTTP side, without a browser: GET /series on every backend (the charts read
 * through the storage interface only), the page's files as the package ships them, and the
 * browser's way in (`/?token=` once, then a session cookie).
 */
import type { Server } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TRADE_FIELDS } from '../collectors/trades/trade.js';
import { LIQUIDITY_FIELDS } from '../collectors/liquidity/depth.js';
import { DataCollector } from '../src/data-collector.js';
import { pageRoutes } from '../src/http/page.js';
import { seriesRoutes, type SeriesChart } from '../src/http/series.js';
import { startStatusServer } from '../src/http/status-server.js';
import { MemoryStorage } from '../storage/memory.js';
import { RedisTimeSeriesStorage } from '../storage/redis-timeseries/index.js';
import { SqliteStorage } from '../storage/sqlite.js';
import type { DataCollectionStorage } from '../storage/types.js';
import { disposeRedisServers, RedisServer, SKIP_MESSAGE, timeSeriesTarget } from './support/redis-server.js';

const dir = mkdtempSync(join(tmpdir(), 'qc-status-page-http-'));
const TOKEN = 'http-test-t0ken';
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await disposeRedisServers();
});

/** Serves `storage` as the daemon does: /status, the page and /series, behind the token. */
async function serve(storage: DataCollectionStorage): Promise<string> {
  const dc = new DataCollector([], storage);
  const { server, url } = await startStatusServer(dc, '127.0.0.1', 0, { token: TOKEN, routes: [...pageRoutes(), ...seriesRoutes(storage)] });
  cleanups.push(() => close(server), () => storage.close());
  return url;
}
function close(server: Server): Promise<unknown> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(resolve));
}
const bearer = { authorization: `Bearer ${TOKEN}` };

const timeSeries = timeSeriesTarget();
if (!timeSeries) console.warn(`${SKIP_MESSAGE} (/series on redis-timeseries)`);
const backends: Array<{ name: string; skip?: string; open: () => Promise<DataCollectionStorage> }> = [
  { name: 'memory', open: async () => new MemoryStorage() },
  { name: 'sqlite', open: async () => new SqliteStorage({ path: join(dir, 'series.db') }) },
  {
    name: 'redis-timeseries',
    skip: timeSeries ? undefined : SKIP_MESSAGE,
    open: async () => RedisTimeSeriesStorage.open({ url: timeSeries!.url ?? (await RedisServer.start({ module: timeSeries!.module })).url }),
  },
];

// A minute boundary, long past: every bucket is complete.
const T = 1_700_000_040_000;
const trade = (price: number, amount: number) => ({ price, amount, count: 1, buy_amount: amount, notional: price * amount });
const book = (spread: number, bid: number, ask: number) => ({ bid: 99, ask: 101, mid: 100, spread_bps: spread, bid_depth_10bps: 1, bid_depth_50bps: bid, bid_depth_100bps: 1, ask_depth_10bps: 1, ask_depth_50bps: ask, ask_depth_100bps: 1 });

describe.each(backends)('GET /series on $name', ({ skip, open }) => {
  it.skipIf(skip !== undefined)('charts trades (last price, volume per minute), liquidity (spread, depth ±50 bps) and klines (close) in buckets from `from` on', async () => {
    const storage = await open();
    const url = await serve(storage);
    await storage.declare({ key: 'trades:sim:BTC-USDT', fields: TRADE_FIELDS });
    await storage.declare({ key: 'liquidity:sim:BTC-USDT', fields: LIQUIDITY_FIELDS });
    await storage.declare({ key: 'klines:sim:BTC-USDT:1m', fields: { open: 'last', high: 'last', low: 'last', close: 'last', volume: 'last' } });
    await storage.storeMany([
      { key: 'trades:sim:BTC-USDT', timestamp: T - 1_000, value: trade(99, 50) }, // before the bucket `from` falls in
      { key: 'trades:sim:BTC-USDT', timestamp: T, value: trade(100, 1) },
      { key: 'trades:sim:BTC-USDT', timestamp: T + 4_000, value: trade(101, 2) },
      { key: 'trades:sim:BTC-USDT', timestamp: T + 5_000, value: trade(102, 0.5) },
      { key: 'liquidity:sim:BTC-USDT', timestamp: T + 1_000, value: book(3, 10, 20) },
      { key: 'liquidity:sim:BTC-USDT', timestamp: T + 2_000, value: book(2, 30, 40) },
      { key: 'klines:sim:BTC-USDT:1m', timestamp: T, value: { open: 1, high: 3, low: 1, close: 2, volume: 5 } },
    ]);
    await storage.flush();
    const chart = async (key: string, from: number) => {
      const res = await fetch(`${url}/series?key=${encodeURIComponent(key)}&from=${from}&to=${T + 9_999}&bucket=5000`, { headers: bearer });
      expect(res.status).toBe(200);
      return (await res.json()) as SeriesChart;
    };

    // `from` inside a bucket reads the whole bucket: the page asks again from its newest one as it fills.
    expect(await chart('trades:sim:BTC-USDT', T + 1_234)).toEqual({
      key: 'trades:sim:BTC-USDT',
      kind: 'trades',
      bucketMs: 5000,
      from: T,
      to: T + 9_999,
      columns: ['price', 'volume/min'],
      rows: [
        [T, 101, 36], // 3 traded in 5 s: 36 a minute
        [T + 5_000, 102, 6],
      ],
    });
    expect(await chart('liquidity:sim:BTC-USDT', T)).toMatchObject({ columns: ['spread bps', 'depth ±50bps'], rows: [[T, 2, 70]] });
    expect(await chart('klines:sim:BTC-USDT:1m', T)).toMatchObject({ columns: ['close'], rows: [[T, 2]] });
    expect(await chart('trades:sim:ETH-USDT', T)).toMatchObject({ rows: [] }); // nothing stored yet
  });
});

describe('GET /series refuses what it cannot chart, naming the parameter', () => {
  it('answers 400 for a missing key or from, a kind without a chart, a bucket under 1 s and too many buckets', async () => {
    const url = await serve(new MemoryStorage());
    const cases: Array<[string, RegExp]> = [
      ['from=0', /^key: required/],
      ['key=trades:sim:BTC-USDT', /^from: required/],
      ['key=gaps:sim:BTC-USDT&from=0', /^key: no chart for gaps series; charted: trades, liquidity, klines, candles$/],
      ['key=trades:sim:BTC-USDT&from=0&bucket=10', /^bucket: at least 1000 ms, got 10$/],
      ['key=trades:sim:BTC-USDT&from=-5', /^from: expected a whole number of ms ≥ 0, got "-5"$/],
      ['key=trades:sim:BTC-USDT&from=0&to=100000000', /^from: at most 5000 buckets of 5000 ms, asked for 20000$/],
      ['key=trades:sim:BTC-USDT&from=10000&to=0', /^from: 10000 is after to 0$/],
    ];
    for (const [query, message] of cases) {
      const res = await fetch(`${url}/series?${query}`, { headers: bearer });
      expect([query, res.status]).toEqual([query, 400]);
      expect(((await res.json()) as { error: string }).error, query).toMatch(message);
    }
  });
});

describe('the page behind the token', () => {
  it('serves its files from the package with a strict content policy, to a browser that opened /?token= once', async () => {
    const url = await serve(new MemoryStorage());
    // A person opening the page without the cookie is told how to get in.
    const denied = await fetch(`${url}/`);
    expect([denied.status, denied.headers.get('content-type')]).toEqual([401, 'text/html; charset=utf-8']);
    expect(await denied.text()).toContain('Open it once as\n<code>/?token=&lt;http.token&gt;</code>');
    expect((await fetch(`${url}/page/app.js`)).status).toBe(401);
    expect((await fetch(`${url}/?token=nope`, { redirect: 'manual' })).status).toBe(401);

    const login = await fetch(`${url}/?token=${TOKEN}`, { redirect: 'manual' });
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('/');
    const port = new URL(url).port;
    const cookie = login.headers.get('set-cookie')!;
    expect(cookie).toMatch(new RegExp(`^qc_session_${port}=[0-9a-f]{64}; Path=/; HttpOnly; SameSite=Strict$`));
    expect(cookie).not.toContain(TOKEN);
    const session = { cookie: cookie.split(';')[0]! };

    const index = await fetch(`${url}/`, { headers: session });
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(index.headers.get('content-security-policy')).toContain("default-src 'self'");
    const html = await index.text();
    expect(html).toContain('<script src="/page/app.js" type="module"></script>');
    expect(html).not.toContain(TOKEN);
    for (const [path, type] of [['/page/app.js', 'text/javascript'], ['/page/app.css', 'text/css'], ['/page/uPlot.iife.min.js', 'text/javascript'], ['/page/uPlot.min.css', 'text/css']]) {
      const res = await fetch(`${url}${path}`, { headers: session });
      expect([path, res.status, res.headers.get('content-type')]).toEqual([path, 200, `${type}; charset=utf-8`]);
      expect((await res.arrayBuffer()).byteLength, path).toBeGreaterThan(1000);
    }
    expect((await fetch(`${url}/status`, { headers: session })).status).toBe(200);
    expect((await fetch(`${url}/series?key=trades:sim:BTC-USDT&from=0&to=1`, { headers: session })).status).toBe(200);
    // A session of another port (another daemon on the host), or a made-up one, opens nothing.
    const otherPort = { cookie: session.cookie.replace(`qc_session_${port}=`, 'qc_session_1=') };
    expect((await fetch(`${url}/status`, { headers: otherPort })).status).toBe(401);
    expect((await fetch(`${url}/status`, { headers: { cookie: `qc_session_${port}=${'0'.repeat(64)}` } })).status).toBe(401);
    // The cookie's value is no bearer token.
    expect((await fetch(`${url}/status`, { headers: { authorization: `Bearer ${session.cookie.split('=')[1]}` } })).status).toBe(401);
  });
});
