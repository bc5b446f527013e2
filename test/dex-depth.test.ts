import { describe, expect, it } from 'vitest';
import { MemoryStorage } from '../storage/memory.js';
import { dexCollectors, dexConfig, randomTrading, untilBlock, untilHead, chainForThisFile } from './support/dex-chain.js';

const chain = chainForThisFile();

const BANDS = [10, 50, 100];
const FEE = 0.003;

/** Relative closeness for amounts computed in floating point by the collector and in integers by the pool. */
function expectClose(actual: number, expected: number, what: string): void {
  expect(Math.abs(actual - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(Math.abs(expected) * 1e-9 + 1e-9);
}

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
    const blockAt = new Map<number, bigint>();
    for (let n = start; n <= head; n++) blockAt.set(Number((await chain.public.getBlock({ blockNumber: n })).timestamp) * 1000, n);

    const v3 = await storage.fetch('dex-depth:anvil:weth-usdc-v3', 0, Number.MAX_SAFE_INTEGER);
    const v3Pool = await storage.fetch('dex:anvil:weth-usdc-v3', 0, Number.MAX_SAFE_INTEGER);
    expect(v3.map(([t]) => t)).toEqual(v3Pool.map(([t]) => t)); // a depth sample for every block the pool changed in
    let nonZero = 0;
    for (const [t, value] of v3) {
      const depth = value as Record<string, number>;
      const blockNumber = blockAt.get(t)!;
      const { sqrtPriceX96 } = await chain.v3State(blockNumber);
      const price = (Number(sqrtPriceX96) / 2 ** 96) ** 2;
      // The pool itself, asked (eth_call at that block) for a swap of unlimited size stopping at the band's edge.
      const moveTo = async (target: number, zeroForOne: boolean) => {
        const limit = BigInt(Math.floor(Math.sqrt(target) * 2 ** 96));
        const { result } = await chain.public.simulateContract({
          address: chain.driver,
          abi: chain.artifacts.poolDriver.abi,
          functionName: 'v3Swap',
          args: [chain.v3.address, zeroForOne, 10n ** 30n, limit],
          account: chain.wallet.account!,
          blockNumber,
        });
        return result as readonly [bigint, bigint];
      };
      for (const bps of BANDS) {
        const x = bps / 10_000;
        const ask = price * (1 + x) * (1 - FEE);
        const bid = (price * (1 - x)) / (1 - FEE);
        const expectedAsk = ask > price ? Number((await moveTo(ask, false))[1]) / 1e6 : 0; // USDC paid, fee included
        const expectedBid = bid < price ? -Number((await moveTo(bid, true))[1]) / 1e6 : 0; // USDC received
        expectClose(depth[`ask_depth_${bps}bps`]!, expectedAsk, `v3 ask ${bps}bps at block ${blockNumber}`);
        expectClose(depth[`bid_depth_${bps}bps`]!, expectedBid, `v3 bid ${bps}bps at block ${blockNumber}`);
        if (expectedAsk > 0) nonZero += 1;
      }
      // Within 10 bps a 0.3 % pool trades nothing: its fee alone is 30 bps.
      expect([depth.ask_depth_10bps, depth.bid_depth_10bps]).toEqual([0, 0]);
    }
    expect(nonZero).toBeGreaterThan(v3.length); // the 50 and 100 bps bands hold liquidity

    // v2: the constant-product curve from the reserves at that block.
    const v2 = await storage.fetch('dex-depth:anvil:weth-usdc-v2', 0, Number.MAX_SAFE_INTEGER);
    expect(v2.length).toBeGreaterThan(10);
    for (const [t, value] of v2) {
      const depth = value as Record<string, number>;
      const { reserve0, reserve1 } = await chain.v2Reserves(blockAt.get(t)!);
      const [x0, y0] = [Number(reserve0), Number(reserve1)];
      const price = y0 / x0;
      for (const bps of BANDS) {
        const x = bps / 10_000;
        const ask = price * (1 + x) * 0.997;
        const bid = (price * (1 - x)) / 0.997;
        // Reserve1 at a price p is √(x·y·p): what goes in (gross of the 0.3 % fee) or out to get there.
        const expectedAsk = ask > price ? (Math.sqrt(x0 * y0 * ask) - y0) / 0.997 / 1e6 : 0;
        const expectedBid = bid < price ? (y0 - Math.sqrt(x0 * y0 * bid)) / 1e6 : 0;
        expectClose(depth[`ask_depth_${bps}bps`]!, expectedAsk, `v2 ask ${bps}bps`);
        expectClose(depth[`bid_depth_${bps}bps`]!, expectedBid, `v2 bid ${bps}bps`);
      }
      const [[, pool]] = (await storage.fetch('dex:anvil:weth-usdc-v2', t, t)) as [[number, Record<string, number>]];
      expect(depth.price).toBe(pool.price);
    }
  }, 120_000);
});
