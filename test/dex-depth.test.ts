import { describe, expect, it } from 'vitest';
import { MemoryStorage } from '../storage/memory.js';
import { blocksByTime, dexCollectors, dexConfig, expectDepthOfBlock, randomTrading, untilBlock, untilHead, chainForThisFile } from './support/dex-chain.js';

const chain = chainForThisFile();

describe('pool depth (collect: [depth])', () => {
  it('equals what the pools charge and pay to move their price to each band edge, fee included, per block', async () => {
    expect(chain.v3.token0.symbol).toBe('WETH'); // deployed first: the lower address
    const config = await dexConfig(chain, '', ', collect: [depth]');
    const [collector, ...others] = dexCollectors(config);
    expect(others).toHaveLength(0); // depth is written by the pool's own collector
    expect([...collector!.keys].sort()).toEqual(['dex-depth:anvil:weth-usdc-v2', 'dex-depth:anvil:weth-usdc-v3', 'dex:anvil:weth-usdc-v2', 'dex:anvil:weth-usdc-v3']);
    const storage = new MemoryStorage();
    const abort = new AbortController();
    const done = collector!.run(storage, abort.signal);
    let start: bigint;
    try {
      start = await untilBlock(storage, 'pool:anvil', 'dex:anvil:weth-usdc-v3', 0n);
      await randomTrading(chain, 60, 51);
      await untilHead(chain, storage, 'pool:anvil', 'dex:anvil:weth-usdc-v3');
    } finally {
      abort.abort();
      await done;
    }
    const head = await chain.public.getBlockNumber();
    const blockAt = await blocksByTime(chain, start, head);

    const v3 = await storage.fetch('dex-depth:anvil:weth-usdc-v3', 0, Number.MAX_SAFE_INTEGER);
    const v3Pool = await storage.fetch('dex:anvil:weth-usdc-v3', 0, Number.MAX_SAFE_INTEGER);
    expect(v3.map(([t]) => t)).toEqual(v3Pool.map(([t]) => t)); // a depth sample for every block the pool changed in
    let nonZero = 0;
    for (const [t, value] of v3) {
      const depth = value as Record<string, number>;
      nonZero += await expectDepthOfBlock(chain, chain.v3, blockAt(t), depth);
      // Within 10 bps a 0.3 % pool trades nothing: its fee alone is 30 bps.
      expect([depth.ask_depth_10bps, depth.bid_depth_10bps]).toEqual([0, 0]);
    }
    expect(nonZero).toBeGreaterThan(v3.length); // the 50 and 100 bps bands hold liquidity

    const v2 = await storage.fetch('dex-depth:anvil:weth-usdc-v2', 0, Number.MAX_SAFE_INTEGER);
    expect(v2.length).toBeGreaterThan(10);
    for (const [t, value] of v2) {
      const depth = value as Record<string, number>;
      await expectDepthOfBlock(chain, chain.v2, blockAt(t), depth);
      const [[, pool]] = (await storage.fetch('dex:anvil:weth-usdc-v2', t, t)) as [[number, Record<string, number>]];
      expect(depth.price).toBe(pool.price);
    }
  }, 120_000);
});
