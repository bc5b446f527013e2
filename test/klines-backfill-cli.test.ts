import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBinanceSimulator, type BinanceSimulator } from '../collectors/exchanges/binance/simulator/index.js';
import { SqliteStorage } from '../storage/sqlite.js';
import { collector } from './support/cli.js';
import { writeConfig } from './support/config-files.js';

const dir = mkdtempSync(join(tmpdir(), 'qc-backfill-'));
let sim: BinanceSimulator;
let config: string;
beforeAll(async () => {
  sim = await startBinanceSimulator({ symbols: ['BTC-USDT'], tradesPerSecond: 5, klineHoles: { permanentEvery: 1001 } });
  config = join(dir, 'backfill.yaml');
  writeConfig(
    config,
    `storage: { kind: sqlite, path: ./k.db }
exchanges:
  binance: { wsUrl: "${sim.wsUrl}", restUrl: "${sim.restUrl}" }
feeds:
  - { name: btc, exchange: binance, symbol: BTC-USDT, collect: ["klines:1m", "klines:1h"] }
  - { name: trades-only, exchange: binance, symbol: BTC-USDT, collect: [trades] }
`,
  );
});
afterAll(() => sim.close());

const DAY = 86_400_000;

describe('collector backfill', { timeout: 90_000 }, () => {
  it("fills a feed's klines over a range with a progress bar, then asks for nothing already there", async () => {
    const to = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
    const from = to - 3 * DAY;
    const out = await collector(['backfill', '--feed', 'btc', '--from', new Date(from).toISOString(), '--to', String(to), '--progress', '-c', config]);
    expect(out.stderr).toMatch(/klines:binance:BTC-USDT:1m \[=+\] 100% \| 4321\/4321 candles \| \d+\/s \| ETA/);
    expect(out.code).toBe(0);
    // 3 days + 1 of 1m: 4,321 open times, those on the 1001-grid recorded as missing at the exchange.
    const missing = Array.from({ length: 4321 }, (_, i) => from + i * 60_000).filter((t) => (t / 60_000) % 1001 === 0).length;
    expect(out.stdout).toContain(`klines:binance:BTC-USDT:1m: ${4321 - missing} candles stored, ${missing} recorded missing at the exchange`);
    expect(out.stdout).toMatch(/klines:binance:BTC-USDT:1h: 73 candles stored, 0 recorded missing at the exchange, 1 requests/);
    const storage = new SqliteStorage({ path: join(dir, 'k.db'), readOnly: true });
    expect((await storage.fetch('klines:binance:BTC-USDT:1m', from, to)).length).toBe(4321 - missing);
    await storage.close();

    const requests = sim.restRequests('/api/v3/klines');
    const again = await collector(['backfill', '--feed', 'btc', '--from', String(from), '--to', String(to), '-c', config]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/klines:binance:BTC-USDT:1m: 0 candles stored, 0 recorded missing at the exchange, 0 requests/);
    expect(sim.restRequests('/api/v3/klines')).toBe(requests);
  });

  it('refuses an unknown feed, a feed without klines and a reversed range, with exit code 2', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--feed', 'nope', '--from', '-1d'], /no feed named "nope" .*; feeds: btc, trades-only/],
      [['--feed', 'trades-only', '--from', '-1d'], /feed trades-only collects no klines: add e\.g\. "klines:1m"/],
      [['--feed', 'btc', '--from', '-1d', '--to', '-2d'], /--to .* is before --from/],
      [['--feed', 'btc', '--from', 'yesterday'], /^collector: --from: /],
    ];
    for (const [args, message] of cases) {
      const out = await collector(['backfill', ...args, '-c', config]);
      expect(out.stderr, args.join(' ')).toMatch(message);
      expect(out.code, args.join(' ')).toBe(2);
    }
  });
});
