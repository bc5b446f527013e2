import { describe, expect, it } from 'vitest';
import { krakenKlines } from '../collectors/exchanges/kraken/klines.js';
import { krakenRestLimits } from '../collectors/exchanges/kraken/rest-limits.js';
import { startKrakenSimulator, type KrakenSimulatorOptions } from '../collectors/exchanges/kraken/simulator/index.js';
import type { Kline } from '../collectors/klines/kline.js';
import type { KlinePageQuery } from '../collectors/klines/protocol.js';
import { PoliteRestClient } from '../collectors/rest/rest-client.js';
import { silentLogger } from '../common/logger.js';
import { docsExample, fixture, NO_FIXTURES } from './support/fixtures.js';
import { useSimulator } from './support/simulator-harness.js';

const MINUTE = 60_000;
// A budget window no test run crosses (windows are aligned to the wall clock).
const ONE_WINDOW = 1e12;

type OhlcRow = [number, string, string, string, string, string, string, number];
interface OhlcBody {
  error: string[];
  result?: Record<string, OhlcRow[] | number>;
}

/** A page query for 1m candles of `pair` with open times [from, to]. */
function query(from: number, to: number, pair = 'XBTUSD', interval = '1m', intervalMs = MINUTE): KlinePageQuery {
  return { exchangeSymbol: pair, interval, intervalMs, from, to, now: Date.now() };
}

/** Asks one page the way the poller does: pageRequest, GET, parsePage, keeping [from, to]. */
async function page(http: PoliteRestClient, restUrl: string, q: KlinePageQuery): Promise<Kline[]> {
  const request = krakenKlines.pageRequest(q);
  const klines = krakenKlines.parsePage(await http.getJson(`${restUrl}${request.path}`, request.params, new AbortController().signal), q);
  return klines.filter((k) => k.openTime >= q.from && k.openTime <= q.to);
}

/** Open times of consecutive candles. */
function openTimes(from: number, count: number, intervalMs = MINUTE): number[] {
  return Array.from({ length: count }, (_, i) => from + i * intervalMs);
}

/** The rows of an OHLC answer and its `last`. */
function rowsOf(body: OhlcBody, key: string): { rows: OhlcRow[]; last: number } {
  expect(body.error).toEqual([]);
  expect(Object.keys(body.result!).sort()).toEqual([key, 'last'].sort());
  return { rows: body.result![key] as OhlcRow[], last: body.result!.last as number };
}

describe('Kraken klines hooks', () => {
  it.skipIf(NO_FIXTURES)('reads the recorded OHLC page (rest_OHLC_XBTUSDT_1m_2025-11.json): 720 committed minutes and the open one, flat where nothing traded', () => {
    const body: unknown = JSON.parse(fixture('kraken', 'rest_OHLC_XBTUSDT_1m_2025-11.json'));
    const klines = krakenKlines.parsePage(body, query(1762777020_000, 1762820220_000, 'XBTUSDT'));
    expect(klines).toHaveLength(721);
    expect(klines.map((k) => k.openTime)).toEqual(openTimes(1762777020_000, 721));
    expect(klines[0]).toEqual({ openTime: 1762777020_000, open: 106038.2, high: 106038.2, low: 106038.2, close: 106038.2, volume: 0, quoteVolume: 0, trades: 0 });
    expect(klines[3]).toEqual({
      openTime: 1762777200_000, open: 106038.1, high: 106044.3, low: 106038.1, close: 106040.1, volume: 0.08317981,
      // vwap 106039.6 × volume: Kraken's vwap is rounded to the pair's 0.1 tick.
      quoteVolume: 106039.6 * 0.08317981, trades: 3,
    });
    expect(klines[3]!.quoteVolume! / klines[3]!.volume).toBeCloseTo(106039.6, 6);
    expect(klines.at(-1)!.openTime).toBe(1762820220_000);
    expect(klines.filter((k) => k.trades! > 0)).toHaveLength(505);
    expect(klines.every((k) => (k.trades === 0) === (k.volume === 0) && k.low <= Math.min(k.open, k.close) && k.high >= Math.max(k.open, k.close))).toBe(true);
  });

  it.skipIf(NO_FIXTURES)('reads the pair whatever Kraken keys it by (docs example: XXBTZUSD for XBTUSD), on the interval grid only', () => {
    const docs = JSON.parse(docsExample('kraken', 'rest_ohlc_shape')) as { result: { XXBTZUSD: unknown[][] } };
    // The documented example's time (1700000000) is illustrative and on no minute grid: refused, not misfiled.
    expect(() => krakenKlines.parsePage(docs, query(0, 1e13))).toThrow(/kraken: OHLC entry at 2023-11-14T22:13:20.000Z does not open on the 1 min grid/);
    docs.result.XXBTZUSD[0]![0] = 1699999980;
    expect(krakenKlines.parsePage(docs, query(0, 1e13))).toEqual([
      { openTime: 1699999980_000, open: 37000, high: 37500, low: 36800, close: 37200, volume: 150.5, quoteVolume: 37100 * 150.5, trades: 320 },
    ]);
  });

  it('asks OHLC from one interval before the first wanted open time (since is exclusive), nothing for `to`', () => {
    const from = 1762777020_000;
    expect(krakenKlines.pageRequest(query(from, from + 719 * MINUTE, 'XBTUSDT'))).toEqual({ path: '/0/public/OHLC', params: { pair: 'XBTUSDT', interval: 1, since: 1762776960 } });
    const hour = 3_600_000;
    expect(krakenKlines.pageRequest(query(1762776000_000, 1762776000_000 + 10 * hour, 'XBTUSD', '1h', hour)).params).toEqual({ pair: 'XBTUSD', interval: 60, since: 1762772400 });
    expect(krakenKlines.pageRequest(query(0, 10 * MINUTE)).params.since).toBe(0);
  });

  it('spells pairs as REST altnames (trade-history.ts) and keeps the trade hooks’ symbol checks', () => {
    expect(krakenKlines.toExchangeSymbol('BTC-USDT')).toBe('XBTUSDT');
    expect(krakenKlines.toExchangeSymbol('BTC-USD')).toBe('XBTUSD');
    expect(krakenKlines.toExchangeSymbol('ETH-USD')).toBe('ETHUSD');
    expect(krakenKlines.toExchangeSymbol('DOGE-USD')).toBe('XDGUSD');
    expect(() => krakenKlines.toExchangeSymbol('XBT-USD')).toThrow(/spells bitcoin BTC/);
    expect(() => krakenKlines.toExchangeSymbol('btc-usd')).toThrow(/kraken: bad symbol/);
  });

  it('serves 720 candles of the documented intervals but 1w (Thursday weeks), with trades and derived quote volume', () => {
    expect(krakenKlines.intervals).toEqual({ '1m': '1', '5m': '5', '15m': '15', '30m': '30', '1h': '60', '4h': '240', '1d': '1440', '15d': '21600' });
    expect(krakenKlines.maxPerRequest).toBe(720);
    expect(krakenKlines.maxHistoryCandles).toBe(720);
    expect(krakenKlines.optionalFields).toEqual(['quote_volume', 'trades']);
  });

  it.skipIf(NO_FIXTURES)('reads SystemStatus: only maintenance stops polling (rest_SystemStatus.json, docs example, cancel_only, post_only)', () => {
    expect(krakenKlines.health.request).toEqual({ path: '/0/public/SystemStatus', params: {} });
    expect(krakenKlines.health.parse(JSON.parse(fixture('kraken', 'rest_SystemStatus.json')))).toEqual({ ok: true });
    expect(krakenKlines.health.parse(JSON.parse(docsExample('kraken', 'rest_system_status')))).toEqual({ ok: true });
    const status = (s: string) => ({ error: [], result: { status: s, timestamp: '2025-11-11T00:17:10Z' } });
    expect(krakenKlines.health.parse(status('maintenance'))).toEqual({ ok: false, reason: 'system status maintenance (at 2025-11-11T00:17:10Z)' });
    expect(krakenKlines.health.parse(status('cancel_only'))).toEqual({ ok: true });
    expect(krakenKlines.health.parse(status('post_only'))).toEqual({ ok: true });
    expect(krakenKlines.health.parse({ error: ['EService:Unavailable'] })).toEqual({ ok: false, reason: 'EService:Unavailable' });
    expect(() => krakenKlines.health.parse({ error: [], result: {} })).toThrow(/SystemStatus answer has no status/);
  });
});

describe('Kraken OHLC simulator', () => {
  const harness = useSimulator((options: KrakenSimulatorOptions) => startKrakenSimulator(options));
  const budget = { requests: 100, windowMs: ONE_WINDOW };

  it('serves only the 720 most recent committed candles and the open one, oldest first, whatever `since` asks', async () => {
    await harness.start({ symbols: ['BTC-USD', 'BTC-USDT'], tradesPerSecond: 20, restRequestLimit: budget });
    const { rows, last } = rowsOf((await harness.getJson<OhlcBody>('/0/public/OHLC?pair=XBTUSD&interval=1&since=0')).body, 'XXBTZUSD');
    expect(rows).toHaveLength(721);
    const open = rows.at(-1)![0];
    expect(rows.map((r) => r[0])).toEqual(openTimes(open - 720 * 60, 721, 60));
    expect(last).toBe(open - 60);
    // `since` is exclusive: the candles after it, and the open one always.
    expect(rowsOf((await harness.getJson<OhlcBody>(`/0/public/OHLC?pair=XBTUSD&since=${rows[700]![0]}`)).body, 'XXBTZUSD').rows.map((r) => r[0])).toEqual(rows.slice(701).map((r) => r[0]));
    expect(rowsOf((await harness.getJson<OhlcBody>(`/0/public/OHLC?pair=XBTUSD&since=${open + 3600}`)).body, 'XXBTZUSD').rows.map((r) => r[0])).toEqual([open]);
    // The result key is the pair's own: XBTUSDT has no legacy name.
    expect(rowsOf((await harness.getJson<OhlcBody>('/0/public/OHLC?pair=XBTUSDT&interval=60')).body, 'XBTUSDT').rows.every((r) => r[0] % 3600 === 0)).toBe(true);
    // Rows print like the recording: prices with the pair's decimals, volume with 8.
    expect(rows[0]).toEqual([open - 720 * 60, expect.stringMatching(/^\d+\.\d{2}$/), expect.any(String), expect.any(String), expect.any(String), expect.stringMatching(/^\d+\.\d{2}$/), expect.stringMatching(/^\d+\.\d{8}$/), expect.any(Number)]);
  });

  it('pages through the protocol hooks: the wanted minutes, contiguous, the newest built from the generated trades', async () => {
    const sim = await harness.start({ symbols: ['BTC-USD'], tradesPerSecond: 200, restRequestLimit: budget });
    await new Promise((resolve) => setTimeout(resolve, 150));
    sim.pause();
    const trades = sim.generatedTrades('BTC-USD');
    const lastMinute = Math.floor(trades.at(-1)!.time / MINUTE) * MINUTE;
    const http = new PoliteRestClient({ label: 'kraken', logger: silentLogger, limits: krakenRestLimits });
    const from = lastMinute - 100 * MINUTE;
    const got = await page(http, sim.restUrl, query(from, lastMinute));
    expect(got.map((k) => k.openTime)).toEqual(openTimes(from, 101));
    // The minute of the last trades is built from them: counts and volume agree.
    const inMinute = trades.filter((t) => t.time >= lastMinute);
    const candle = got.at(-1)!;
    expect(candle.trades).toBe(inMinute.length);
    expect(candle.close).toBe(Number(inMinute.at(-1)!.price));
    expect(candle.volume).toBeCloseTo(inMinute.reduce((sum, t) => sum + Number(t.amount), 0), 7);
    const quote = inMinute.reduce((sum, t) => sum + Number(t.price) * Number(t.amount), 0);
    // Derived from the vwap Kraken rounds to the pair's 0.01: within half a cent per unit of volume.
    expect(Math.abs(candle.quoteVolume! - quote)).toBeLessThanOrEqual(0.005 * candle.volume + 1e-6);
  });

  it('sends a minute without trades as a flat row at the previous close (vwap 0, volume 0, count 0)', async () => {
    // No trades at all: the open minute (after the start) has none; the synthetic ones before it all traded.
    await harness.start({ symbols: ['BTC-USD'], tradesPerSecond: 0, restRequestLimit: budget });
    const since = Math.floor(Date.now() / MINUTE) * 60 - 3 * 60;
    const { rows } = rowsOf((await harness.getJson<OhlcBody>(`/0/public/OHLC?pair=XBTUSD&since=${since}`)).body, 'XXBTZUSD');
    // Three minutes, or four if a minute turned meanwhile.
    expect(rows.length).toBeGreaterThanOrEqual(3);
    expect(rows.map((r) => r[0])).toEqual(openTimes(since + 60, rows.length, 60));
    const [previous, open] = [rows.at(-2)!, rows.at(-1)!];
    expect(open.slice(1)).toEqual([previous[4], previous[4], previous[4], previous[4], '0.00', '0.00000000', 0]);
    const [flat] = krakenKlines.parsePage({ error: [], result: { XXBTZUSD: [open], last: 0 } }, query(0, 1e13));
    expect(flat).toMatchObject({ volume: 0, quoteVolume: 0, trades: 0 });
  });

  it('refuses unknown pairs and intervals the way Kraken does: 200 with an error list', async () => {
    const sim = await harness.start({ symbols: ['BTC-USD'], tradesPerSecond: 10, restRequestLimit: budget });
    expect(await harness.getJson('/0/public/OHLC?pair=FOOUSD')).toEqual({ status: 200, body: { error: ['EQuery:Unknown asset pair'] } });
    expect(await harness.getJson('/0/public/OHLC')).toEqual({ status: 200, body: { error: ['EGeneral:Invalid arguments'] } });
    expect(await harness.getJson('/0/public/OHLC?pair=XBTUSD&interval=2')).toEqual({ status: 200, body: { error: ['EGeneral:Invalid arguments'] } });
    expect(await harness.getJson('/0/public/OHLC?pair=XBTUSD&since=yesterday')).toEqual({ status: 200, body: { error: ['EGeneral:Invalid arguments:since'] } });
    const http = new PoliteRestClient({ label: 'kraken', logger: silentLogger });
    await expect(page(http, sim.restUrl, query(0, MINUTE, 'FOOUSD'))).rejects.toThrow('kraken: OHLC refused: EQuery:Unknown asset pair');
  });

  it('answers 200 {"error":["EGeneral:Too many requests"]} over the budget, counted by rateLimited(), which the REST limits read as a throttle', async () => {
    const sim = await harness.start({ symbols: ['BTC-USD'], tradesPerSecond: 10, restRequestLimit: { requests: 2, windowMs: ONE_WINDOW } });
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await harness.getJson<OhlcBody>('/0/public/OHLC?pair=XBTUSD&since=0'));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(answers.map((a) => a.body.error)).toEqual([[], [], ['EGeneral:Too many requests'], ['EGeneral:Too many requests']]);
    expect(krakenRestLimits.throttledBody!(answers[2]!.body)).toBe(5000);
    expect(sim.rateLimited()).toBe(2);
    // OHLC and Trades share the per-IP budget.
    expect((await harness.getJson('/0/public/Trades?pair=XBTUSD')).status).toBe(429);
    expect(sim.rateLimited()).toBe(3);
    expect(sim.restRequests('/0/public/OHLC')).toBe(4);
    expect(sim.restRequests()).toBe(5);
  });

  it('during maintenance SystemStatus says so and market data answers EService:Unavailable; both recover after', async () => {
    const sim = await harness.start({ symbols: ['BTC-USD'], tradesPerSecond: 10, restRequestLimit: budget });
    const http = new PoliteRestClient({ label: 'kraken', logger: silentLogger, limits: krakenRestLimits });
    const status = async () => krakenKlines.health.parse((await harness.getJson(krakenKlines.health.request.path)).body);
    const recent = Math.floor(Date.now() / MINUTE) * MINUTE - 5 * MINUTE;
    expect(await status()).toEqual({ ok: true });
    sim.setMaintenance(true);
    expect(await status()).toEqual({ ok: false, reason: expect.stringMatching(/^system status maintenance \(at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)$/) });
    expect(await harness.getJson('/0/public/OHLC?pair=XBTUSD')).toEqual({ status: 200, body: { error: ['EService:Unavailable'] } });
    expect((await harness.getJson('/0/public/Trades?pair=XBTUSD')).body).toEqual({ error: ['EService:Unavailable'] });
    await expect(page(http, sim.restUrl, query(recent, recent + MINUTE))).rejects.toThrow('kraken: OHLC refused: EService:Unavailable');
    sim.setMaintenance(false);
    expect(await status()).toEqual({ ok: true });
    expect((await page(http, sim.restUrl, query(recent, recent + MINUTE))).map((k) => k.openTime)).toEqual([recent, recent + MINUTE]);
    expect(sim.rateLimited()).toBe(0);
  });
});
