import { describe, expect, it } from 'vitest';
import type { PoolCollector } from '../collectors/dex/pool-collector.js';
import { MemoryStorage } from '../storage/memory.js';
import { dexCollectors, dexConfig, expectedSamples, randomTrading, untilBlock, untilHead, chainForThisFile } from './support/dex-chain.js';

const chain = chainForThisFile();

const KEYS = ['dex:anvil:weth-usdc-v2', 'dex:anvil:weth-usdc-v3'] as const;

describe('pool collector: reorgs', () => {
  it('blocks replaced by a reorg (anvil snapshot and revert) leave stored samples equal to the new canonical chain, and are counted', async () => {
    const config = await dexConfig(chain);
    const storage = new MemoryStorage();
    const [collector] = dexCollectors(config) as PoolCollector[];
    const abort = new AbortController();
    const done = collector!.run(storage, abort.signal);
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
      expect(collector!.progress.reorgs).toBe(1);
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
    } finally {
      abort.abort();
      await done;
    }
  }, 120_000);
});
