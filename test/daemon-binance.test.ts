import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { startBinanceSimulator, type BinanceSimulator } from '../collectors/exchanges/binance/simulator.js';
import { collector, startCollectorDaemon, type RunningDaemon } from './support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'qc-daemon-'));
let sim: BinanceSimulator | undefined;
let daemon: RunningDaemon | undefined;
afterAll(async () => {
  daemon?.child.kill('SIGKILL');
  await sim?.close();
});

type TradeRow = [number, { price: number; amount: number; count: number; buy_amount: number; notional: number }];

describe('the daemon end to end against a simulated Binance', () => {
  it('stores every trade sent, serves it to other processes while running, and loses nothing on Ctrl-C', async () => {
    sim = await startBinanceSimulator({ symbols: ['BTC-USDT', 'ETH-USDT'], tradesPerSecond: 200, pingIntervalMs: 1_000 });
    const config = join(dir, 'sim.yaml');
    writeFileSync(
      config,
      `storage: { kind: sqlite, path: ./sim.db }
http: { listen: 127.0.0.1:0 }
exchanges:
  binance: { wsUrl: "${sim.wsUrl}", restUrl: "${sim.restUrl}" }
feeds:
  - { name: btc-vwap, kind: trades-vwap, exchange: binance, symbol: BTC-USDT, window: 10s, staleAfter: 30s }
  - { name: btc-raw, exchange: binance, symbol: BTC-USDT, collect: [trades] }
  - { name: eth, exchange: binance, symbol: ETH-USDT, collect: [trades] }
`,
    );
    daemon = await startCollectorDaemon(['--config', config]);

    // While it runs, another process reads what it stored.
    let rows: TradeRow[] = [];
    for (let i = 0; i < 100 && rows.length < 20; i++) {
      await sleep(100);
      rows = JSON.parse((await collector(['fetch', 'trades:binance:BTC-USDT', '-1h', 'now', '-c', config, '-f', 'json'])).stdout) as TradeRow[];
    }
    expect(rows.length).toBeGreaterThanOrEqual(20);
    const price = JSON.parse((await collector(['price', 'btc-vwap', '-c', config, '-f', 'json'])).stdout) as [number, number];
    expect(price[1]).toBeGreaterThan(0);
    const status = (await (await fetch(`${daemon.statusUrl}/status`)).json()) as { collectors: Array<{ id: string; state: string; keys: string[] }> };
    // Three feeds, two symbols, one exchange: one shared collector.
    expect(status.collectors).toHaveLength(1);
    expect(status.collectors[0]).toMatchObject({ id: 'trades:binance', state: 'running' });
    expect(status.collectors[0]!.keys.sort()).toEqual(['trades:binance:BTC-USDT', 'trades:binance:ETH-USDT']);

    // Stop the market, let the last frames arrive, then Ctrl-C: everything sent must be stored.
    sim.pause();
    await sleep(300);
    daemon.child.kill('SIGINT');
    expect(await daemon.exited).toBe(0);
    for (const symbol of ['BTC-USDT', 'ETH-USDT']) {
      const all = JSON.parse((await collector(['fetch', `trades:binance:${symbol}`, '0', 'now', '-c', config, '-f', 'json'])).stdout) as TradeRow[];
      const sent = sim.sent(symbol);
      expect(all.reduce((n, [, v]) => n + v.count, 0)).toBe(sent.count);
      expect(all.reduce((n, [, v]) => n + v.amount, 0)).toBeCloseTo(sent.amount, 6);
    }
  });
});
