/**
 * Klines backfill bench (`npm run bench -- klines-backfill`): time to fill 30 days of 1m klines
 * (43,200 candles) from the Binance simulator into SQLite, within Binance's published request
 * weight limit (6,000 per minute; /api/v3/klines weighs 2 per page of ≤ 1,000), against the
 * least time that limit allows for the same weight. Rounds fill fresh files back to back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBinanceSimulator } from '../collectors/exchanges/binance/simulator/index.js';
import { KlineHistory } from '../collectors/klines/kline-history.js';
import { binanceKlines } from '../collectors/exchanges/binance/klines.js';
import { PoliteRestClient } from '../collectors/rest/rest-client.js';
import { silentLogger } from '../common/logger.js';
import { SqliteStorage } from '../storage/sqlite.js';
import { envInt, median, printJson, printTable, progress, row, type BenchRow } from './support/report.js';

const DAYS = envInt('BENCH_KLINE_DAYS', 30);
const ROUNDS = envInt('BENCH_ROUNDS', 3);
const MINUTE = 60_000;
// rest-api.md "LIMITS": REQUEST_WEIGHT 6000 per minute; klines weight 2 for limit ≤ 1000 (any limit since 2023).
const WEIGHT_PER_MINUTE = 6000;
const KLINES_WEIGHT = 2;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'qc-bench-klines-'));
  const sim = await startBinanceSimulator({ symbols: ['BTC-USDT'], tradesPerSecond: 10, restWeightLimit: { weight: WEIGHT_PER_MINUTE, windowMs: 60_000 } });
  const loadBefore = loadavg()[0]!;
  const seconds: number[] = [];
  const minimums: number[] = [];
  let candles = 0;
  let requests = 0;
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const storage = new SqliteStorage({ path: join(dir, `round-${round}.db`) });
      const http = new PoliteRestClient({ label: 'binance', logger: silentLogger, limits: binanceKlines.limits });
      const history = new KlineHistory({ protocol: binanceKlines, symbol: 'BTC-USDT', interval: '1m', restUrl: sim.restUrl, http, logger: silentLogger });
      await history.declare(storage);
      const now = Date.now();
      const from = now - DAYS * 24 * 60 * MINUTE;
      const started = performance.now();
      let lastShown = 0;
      const result = await history.fill(storage, { from, to: now }, new AbortController().signal, ({ done, total }) => {
        if (performance.now() - lastShown > 1000 || done === total) {
          lastShown = performance.now();
          progress(`round ${round}: ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} candles`);
        }
      });
      await storage.flush();
      const took = (performance.now() - started) / 1000;
      const stored = (await storage.fetch(history.key, from, now)).length;
      await storage.close();
      // The least time the weight limit allows: its sustained rate; a fresh minute's burst allows more.
      const weight = result.requests * KLINES_WEIGHT;
      seconds.push(took);
      minimums.push((weight / WEIGHT_PER_MINUTE) * 60);
      candles = stored;
      requests = result.requests;
      progress(`round ${round}: ${stored} candles, ${result.requests} requests (weight ${weight}) in ${took.toFixed(2)} s`);
    }
    const rows: BenchRow[] = [
      row('backfill 30 d of 1m klines → SQLite', median(seconds), 's', { name: 'least time the weight limit allows (sustained rate)', value: median(minimums) }),
      row('candles stored', candles, 'candles'),
      row('requests (weight 2 each)', requests, 'requests'),
      row('candles/s', candles / median(seconds), 'candles/s', { name: 'limit-allowed candles/s (6000 weight/min ÷ 2 per 1000)', value: (WEIGHT_PER_MINUTE / 60 / KLINES_WEIGHT) * 1000 }),
    ];
    printTable(`klines backfill bench — ${DAYS} days of 1m klines from the Binance simulator, ${ROUNDS} rounds (median); node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`, rows);
    console.log(`weight limit hit (429s from the simulator): ${sim.rateLimited()}`);
    printJson('klines-backfill', { days: DAYS, rounds: ROUNDS, seconds, rateLimited: sim.rateLimited(), loadAverageBefore: loadBefore, loadAverageAfter: loadavg()[0] }, rows);
  } finally {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
