import { describe, expect, it } from 'vitest';
import { buildFeeds } from '../feeds/load.js';
import { createContainer, registryOf } from '../src/container.js';
import { MemoryStorage } from '../storage/memory.js';

const dex = { chain: 'ethereum', address: '0x88e6a0c2ddd26feeb64f039a2c41296fcb3f5640', protocol: 'uniswap-v3', base: 'WETH' };
const common = { exchange: 'ethereum', symbol: 'weth-usdc', dex };

describe('DEX feed kinds compute prices from the pool samples', () => {
  it('dex-price: the pool price after each block, and as of a time within maxAge; dex-twap: weighted by how long each price held', async () => {
    const registry = registryOf(createContainer());
    const [price, twap] = buildFeeds(
      [
        { name: 'p', kind: 'dex-price', maxAge: 60_000, ...common },
        { name: 't', kind: 'dex-twap', window: 10_000, maxAge: 60_000, ...common },
      ],
      registry,
    );
    expect(price!.requiredData().map((r) => r.keys)).toEqual([['dex:ethereum:weth-usdc']]);
    const storage = new MemoryStorage();
    const sample = (p: number) => ({ price: p, liquidity: 1, sqrt_price_x96: 1, tick: 0, volume0: 0, volume1: 0, swaps: 1 });
    await storage.storeMany([
      { key: 'dex:ethereum:weth-usdc', timestamp: 100_000, value: sample(2000) },
      { key: 'dex:ethereum:weth-usdc', timestamp: 106_000, value: sample(2100) },
      { key: 'dex:ethereum:weth-usdc', timestamp: 108_000, value: sample(1900) },
    ]);
    expect(await price!.read(storage, 0, 200_000)).toEqual([
      [100_000, 2000],
      [106_000, 2100],
      [108_000, 1900],
    ]);
    expect(await price!.value(storage, 107_000)).toBe(2100);
    expect(await price!.value(storage, 99_999)).toBeUndefined();
    expect(await price!.value(storage, 168_001)).toBeUndefined(); // older than maxAge
    // Over 100..110 s: 2000 for 6 s, 2100 for 2 s, 1900 for 2 s.
    expect(await twap!.value(storage, 110_000)).toBeCloseTo((2000 * 6 + 2100 * 2 + 1900 * 2) / 10, 9);
    // Over 105..115 s: 2000 for 1 s, 2100 for 2 s, 1900 for 7 s.
    expect(await twap!.value(storage, 115_000)).toBeCloseTo((2000 * 1 + 2100 * 2 + 1900 * 7) / 10, 9);
    // At each sample: the window before it (the first sample: its own price).
    expect(await twap!.read(storage, 0, 200_000)).toEqual([
      [100_000, 2000],
      [106_000, 2000],
      [108_000, (2000 * 6 + 2100 * 2) / 8],
    ]);
  });

  it('a feed naming a pool must be a DEX feed, and a DEX feed cannot collect exchange data', () => {
    const registry = registryOf(createContainer());
    expect(() => buildFeeds([{ name: 'x', kind: 'dex-price', exchange: 'binance', symbol: 'BTC-USDT' }], registry)).toThrow(
      /pool is collected for DEX feeds only: name chain, pool and protocol/,
    );
    expect(() => buildFeeds([{ name: 'x', collect: ['trades'], ...common }], registry)).toThrow(/unknown exchange "ethereum"/);
  });
});
