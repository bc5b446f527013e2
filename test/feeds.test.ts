import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildFeeds, loadDataSourceCollectors } from '../feeds/load.js';
import type { CollectorKind } from '../collectors/types.js';
import type { StorageKind } from '../storage/types.js';
import { loadConfig } from '../src/config/load.js';
import { createContainer, registerCollectorKind, registerStorageKind, registryOf } from '../src/container.js';
import { silentLogger } from '../common/logger.js';
import { openStorage } from '../src/open-storage.js';
import { MemoryStorage } from '../storage/memory.js';
// @ts-expect-error -- a plain-JS plugin, as users write them
import { clockCollectorKind, clockCountFeedKind } from './support/clock-plugin.js';
import { A_FEED, writeConfig } from './support/config-files.js';

const dir = mkdtempSync(join(tmpdir(), 'qc-feeds-'));
const context = { exchanges: {}, logger: silentLogger };

function containerWithClock() {
  const container = createContainer();
  registerCollectorKind(container, clockCollectorKind as CollectorKind);
  return container;
}

describe('feeds derive their collectors', () => {
  it('two feeds needing the same data share one collector; the tighter staleAfter wins', () => {
    const container = containerWithClock();
    const registry = registryOf(container);
    const feeds = buildFeeds(
      [
        { name: 'vwap', kind: 'trades-vwap', exchange: 'binance', symbol: 'BTC-USDT', window: 60_000, staleAfterMs: 30_000 },
        { name: 'raw', exchange: 'binance', symbol: 'BTC-USDT', collect: ['trades', 'clock'], staleAfterMs: 10_000 },
        { name: 'eth', exchange: 'binance', symbol: 'ETH-USDT', collect: ['trades'] },
      ],
      registry,
    );
    expect(feeds.map((f) => f.requiredData().map((r) => r.id))).toEqual([
      ['trades:binance:BTC-USDT'],
      ['trades:binance:BTC-USDT', 'clock:binance:BTC-USDT'],
      ['trades:binance:ETH-USDT'],
    ]);
    const collectors = loadDataSourceCollectors(feeds, registry, context);
    const keys = collectors.flatMap((c) => c.keys).sort();
    expect(keys).toEqual(['clock:binance:BTC-USDT', 'trades:binance:BTC-USDT', 'trades:binance:ETH-USDT']);
    // Both Binance symbols go through one trades collector (one connection).
    const trades = collectors.filter((c) => c.kind === 'trades');
    expect(trades).toHaveLength(1);
    expect(trades[0]!.staleAfterMs).toBe(10_000);
  });
});

describe('feed kinds compute prices from storage', () => {
  it('trades-vwap: VWAP over the trailing window at each trade time, exact with shared milliseconds', async () => {
    const registry = registryOf(createContainer());
    const [feed] = buildFeeds([{ name: 'v', kind: 'trades-vwap', exchange: 'binance', symbol: 'BTC-USDT', window: 1_000 }], registry);
    const storage = new MemoryStorage();
    const key = 'trades:binance:BTC-USDT';
    await storage.declare({ key, fields: { price: 'last', amount: 'sum', count: 'sum', buy_amount: 'sum', notional: 'sum' } });
    const trade = (t: number, price: number, amount: number) =>
      storage.store(key, { price, amount, count: 1, buy_amount: 0, notional: price * amount }, t);
    await trade(1_000, 100, 1);
    await trade(1_500, 110, 3);
    await trade(1_500, 120, 1); // same millisecond: notional keeps it exact
    await trade(2_600, 90, 2);
    const points = await feed!.read(storage, 0, 10_000);
    expect(points).toEqual([
      [1_000, 100],
      [1_500, (100 + 330 + 120) / 5],
      [2_600, 180 / 2], // the window (1600, 2600] holds only the last trade
    ]);
    expect(await feed!.value(storage, 2_000)).toBe((100 + 330 + 120) / 5);
    expect(await feed!.value(storage, 900)).toBeUndefined();
  });

  it('kline-close and book-mid read their field; a collection feed says it has no price', async () => {
    const container = createContainer();
    const [close, mid, raw] = buildFeeds(
      [
        { name: 'k', kind: 'kline-close', exchange: 'okx', symbol: 'ETH-USDT', interval: '1m' },
        { name: 'm', kind: 'book-mid', exchange: 'okx', symbol: 'ETH-USDT' },
        { name: 'r', exchange: 'okx', symbol: 'ETH-USDT', collect: ['klines:1m'] },
      ],
      registryOf(container),
    );
    const storage = new MemoryStorage();
    await storage.store('klines:okx:ETH-USDT:1m', { open: 1, high: 3, low: 0.5, close: 2, volume: 10 }, 60_000);
    await storage.store('klines:okx:ETH-USDT:1m', { open: 2, high: 2.5, low: 1.5, close: 2.25, volume: 4 }, 120_000);
    await storage.store('liquidity:okx:ETH-USDT', { bid: 99, ask: 101, mid: 100, spread_bps: 200 }, 5_000);
    expect(await close!.read(storage, 0, 200_000)).toEqual([[60_000, 2], [120_000, 2.25]]);
    expect(await close!.value(storage, 150_000)).toBe(2.25);
    expect(await close!.value(storage, 10_000_000)).toBeUndefined(); // older than 2 intervals
    expect(await mid!.value(storage, 6_000)).toBe(100);
    await expect(raw!.read(storage, 0, 1)).rejects.toThrow(/feed r is a collection feed .*klines:okx:ETH-USDT:1m/);
  });
});

describe('the registry takes new kinds without editing the core', () => {
  it('a plugin named in the config adds a collector kind and a feed kind', async () => {
    const file = join(dir, 'plugin.yaml');
    writeConfig(
      file,
      `plugins: [${JSON.stringify(join(import.meta.dirname, 'support/clock-plugin.js'))}]\nstorage: { kind: memory }\nfeeds:\n  - { name: ticks, kind: clock-count, exchange: local, symbol: TICK-TOCK, windowMs: 5000, collect: ["clock:20ms"] }\n`,
    );
    const container = createContainer();
    const config = await loadConfig(file, container);
    const registry = registryOf(container);
    const feeds = buildFeeds(config.feeds, registry);
    const [clock] = loadDataSourceCollectors(feeds, registry, context);
    expect(clock!.keys).toEqual(['clock:local:TICK-TOCK']);
    const storage = await openStorage(config, { container });
    const ac = new AbortController();
    const running = clock!.run(storage, ac.signal);
    while (clock!.progress.itemsStored < 3) await new Promise((r) => setTimeout(r, 10));
    ac.abort();
    await running;
    expect(await feeds[0]!.value(storage, Date.now())).toBeGreaterThanOrEqual(3);
  });

  it('a storage kind registered in code is usable as storage.kind', async () => {
    const container = createContainer();
    const opened: string[] = [];
    const kind: StorageKind<{ kind: 'tagged-memory'; tag: string }> = {
      name: 'tagged-memory',
      config: z.object({ kind: z.literal('tagged-memory'), tag: z.string() }).strict(),
      async open(config) {
        opened.push(config.tag);
        return new MemoryStorage();
      },
    };
    registerStorageKind(container, kind as StorageKind);
    const file = join(dir, 'storage.yaml');
    writeConfig(file, `storage: { kind: tagged-memory, tag: blue }\n${A_FEED}`);
    const storage = await openStorage(await loadConfig(file, container), { container });
    await storage.store('x:y:Z-W', 1, 1);
    expect(await storage.fetch('x:y:Z-W', 0, 1)).toEqual([[1, 1]]);
    expect(opened).toEqual(['blue']);
    writeConfig(file, `storage: { kind: tagged-memory }\n${A_FEED}`);
    await expect(loadConfig(file, container)).rejects.toThrow(/storage\.tag: Invalid input: expected string/);
  });
});

void clockCountFeedKind;
