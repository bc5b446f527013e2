import { describe, expect, it } from 'vitest';
import { MemoryStorage } from '../storage/memory.js';
import type { Sample } from '../storage/types.js';
import { blocksByTime, dexConfig, expectDepthOfBlock, expectedSamples, randomTrading, startPoolCollector, untilBlock, untilHead, chainForThisFile } from './support/dex-chain.js';

const chain = chainForThisFile();

const KEYS = ['dex:anvil:weth-usdc-v2', 'dex:anvil:weth-usdc-v3'] as const;

/**
 * The depth series beside each pool series: a depth sample at every time the pool has one, each
 * equal to the depth of the canonical block it stands for (the last at or before its time).
 */
async function expectCanonicalDepth(storage: MemoryStorage, from: bigint, to: bigint, after = 0): Promise<void> {
  const blockAt = await blocksByTime(chain, from, to);
  const later = (samples: readonly Sample[]) => samples.filter(([t]) => t > after);
  for (const [key, pool] of [
    [KEYS[0], chain.v2],
    [KEYS[1], chain.v3],
  ] as const) {
    const depth = later(await storage.fetch(key.replace('dex:', 'dex-depth:'), 0, Number.MAX_SAFE_INTEGER));
    expect(depth.map(([t]) => t)).toEqual(later(await storage.fetch(key, 0, Number.MAX_SAFE_INTEGER)).map(([t]) => t));
    for (const [t, value] of depth) await expectDepthOfBlock(chain, pool, blockAt(t), value as Record<string, number>);
  }
}

describe('pool collector: reorgs', () => {
  it('blocks replaced by a reorg (anvil snapshot and revert) leave stored samples and depth equal to the new canonical chain, and are counted', async () => {
    const config = await dexConfig(chain, '', ', collect: [depth]');
    const storage = new MemoryStorage();
    const { collector, stop } = startPoolCollector(config, storage);
    try {
      const start = await untilBlock(storage, 'pool:anvil', KEYS[1], 0n);
      await randomTrading(chain, 20, 31);
      const snapshot = await chain.test.snapshot();
      await randomTrading(chain, 40, 32);
      await untilHead(chain, storage, 'pool:anvil', KEYS[1]);
      const replacedHead = await chain.public.getBlockNumber();
      const beforeReorg = new Map(await storage.fetch(KEYS[1], 0, Number.MAX_SAFE_INTEGER));
      // The last 40 swaps' blocks are replaced by a shorter branch with other swaps...
      await chain.test.revert({ id: snapshot });
      await randomTrading(chain, 15, 33);
      await untilHead(chain, storage, 'pool:anvil', KEYS[1]);
      expect(collector.progress.reorgs).toBe(1);
      // ...which then grows past the replaced head: its blocks' times pass every replaced sample.
      await chain.mine(Number(replacedHead - (await chain.public.getBlockNumber())) + 5);
      await randomTrading(chain, 10, 34);
      await untilHead(chain, storage, 'pool:anvil', KEYS[1]);
      const head = await chain.public.getBlockNumber();
      for (const [key, pool] of [
        [KEYS[0], chain.v2],
        [KEYS[1], chain.v3],
      ] as const) {
        const stored = await storage.fetch(key, 0, Number.MAX_SAFE_INTEGER);
        const expected = await expectedSamples(chain, pool, start, head, stored.map(([t]) => t));
        expect(stored).toEqual(expected);
      }
      // Samples of replaced blocks were rewritten: some now hold other swaps, some none.
      const after = await storage.fetch(KEYS[1], 0, Number.MAX_SAFE_INTEGER);
      const rewritten = after.filter(([t, v]) => beforeReorg.has(t) && JSON.stringify(beforeReorg.get(t)) !== JSON.stringify(v));
      expect(rewritten.length).toBeGreaterThan(5);
      expect(rewritten.some(([, v]) => (v as Record<string, number>).swaps === 0)).toBe(true);
      await expectCanonicalDepth(storage, start, head);
    } finally {
      await stop();
    }
  }, 120_000);

  it('a reorg while the collector is stopped: the restart goes back to a final block and rewrites what was replaced, depth too', async () => {
    const config = await dexConfig(chain, '', ', collect: [depth]');
    const storage = new MemoryStorage();
    const run = async (during: () => Promise<void>) => {
      const { collector, stop } = startPoolCollector(config, storage);
      try {
        await untilBlock(storage, 'pool:anvil', KEYS[1], 0n);
        await during();
        await untilHead(chain, storage, 'pool:anvil', KEYS[1]);
      } finally {
        await stop();
      }
      return collector;
    };
    const start = await chain.public.getBlockNumber();
    let snapshot: `0x${string}` = '0x';
    await run(async () => {
      await randomTrading(chain, 10, 41);
      snapshot = await chain.test.snapshot();
      await randomTrading(chain, 30, 42);
    });
    const stoppedAt = await chain.public.getBlockNumber();
    const before = new Map(await storage.fetch(KEYS[1], 0, Number.MAX_SAFE_INTEGER));
    // Stopped: the last 30 swaps' blocks are replaced by other ones.
    await chain.test.revert({ id: snapshot });
    await randomTrading(chain, 50, 43);
    const restarted = await run(async () => randomTrading(chain, 5, 44));
    expect(restarted.progress.reorgs).toBe(1);
    const head = await chain.public.getBlockNumber();
    // Rewritten from 64 blocks before the replaced checkpoint on (blocks of the test before are read again too).
    const final = stoppedAt - 64n;
    const finalTime = Number((await chain.public.getBlock({ blockNumber: final })).timestamp) * 1000;
    const after = (samples: readonly (readonly [number, unknown])[]) => samples.filter(([t]) => t > finalTime);
    for (const [key, pool] of [
      [KEYS[0], chain.v2],
      [KEYS[1], chain.v3],
    ] as const) {
      const stored = await storage.fetch(key, 0, Number.MAX_SAFE_INTEGER);
      expect(after(stored)).toEqual(after(await expectedSamples(chain, pool, final, head, stored.map(([t]) => t))));
      expect(stored[0]![0]).toBeLessThanOrEqual(Math.min(...before.keys()));
    }
    expect(start).toBeGreaterThan(final);
    const rewritten = (await storage.fetch(KEYS[1], 0, Number.MAX_SAFE_INTEGER)).filter(([t, v]) => before.has(t) && JSON.stringify(before.get(t)) !== JSON.stringify(v));
    expect(rewritten.length).toBeGreaterThan(5);
    await expectCanonicalDepth(storage, final, head, finalTime);
  }, 120_000);
});
