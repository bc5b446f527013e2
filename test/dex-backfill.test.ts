import { describe, expect, it } from 'vitest';
import { MemoryStorage } from '../storage/memory.js';
import { chainForThisFile, dexCollectors, dexConfig, expectedSamples, providerProxy, randomTrading, untilBlock, type SimulatedChain } from './support/dex-chain.js';
import type { PoolCollector } from '../collectors/dex/pool-collector.js';

const chain = chainForThisFile();

const V2 = 'dex:anvil:weth-usdc-v2';
const V3 = 'dex:anvil:weth-usdc-v3';

/** Runs the config's pool collector into `storage` until its checkpoint reaches the chain's head; returns its start block. */
async function collectToHead(config: Awaited<ReturnType<typeof dexConfig>>, storage: MemoryStorage, during?: () => Promise<void>) {
  const [collector] = dexCollectors(config);
  const abort = new AbortController();
  const done = collector!.run(storage, abort.signal);
  try {
    const start = await untilBlock(storage, 'pool:anvil', V3, 0n);
    await during?.();
    await untilBlock(storage, 'pool:anvil', V3, await chain.public.getBlockNumber(), 60_000);
    return { start, collector: collector as PoolCollector };
  } finally {
    abort.abort();
    await done;
  }
}

describe('pool collector: restarts and backfill', () => {
  it('a collector stopped for 500 blocks resumes from its checkpoint: no block missed, no swap counted twice', async () => {
    const config = await dexConfig(chain);
    const storage = new MemoryStorage();
    const { start } = await collectToHead(config, storage, () => randomTrading(chain, 40, 11));
    // Stopped: 500 blocks go by, about a third of them with swaps.
    const stoppedAt = await chain.public.getBlockNumber();
    await randomTrading(chain, 160, 12);
    await chain.mine(500 - Number((await chain.public.getBlockNumber()) - stoppedAt));
    expect(await chain.public.getBlockNumber()).toBe(stoppedAt + 500n);
    await collectToHead(config, storage, () => randomTrading(chain, 20, 13));
    const head = await chain.public.getBlockNumber();
    for (const [key, pool] of [
      [V2, chain.v2],
      [V3, chain.v3],
    ] as const) {
      const stored = await storage.fetch(key, 0, Number.MAX_SAFE_INTEGER);
      const expected = await expectedSamples(chain, pool, start, head);
      expect(stored).toEqual(expected);
    }
  }, 120_000);

  it('history from a provider refusing wide eth_getLogs ranges (Alchemy, Infura, QuickNode errors) and answering 429s still stores every block', async () => {
    const from = await chain.public.getBlockNumber();
    await randomTrading(chain, 60, 21);
    await chain.mine(300);
    const proxy = await providerProxy(chain.rpcUrl, { maxRange: 40, rateLimitEvery: 7, maxRateLimited: 3 });
    try {
      const first = await chain.public.getBlock({ blockNumber: from });
      const last = await chain.public.getBlock();
      // History reaching back to block `from`, from the head's time.
      const historySeconds = Number(last.timestamp - first.timestamp);
      const config = await dexConfig(
        { ...chain, rpcUrl: proxy.url, v2: chain.v2, v3: chain.v3 } as SimulatedChain,
        '',
        `, history: ${historySeconds}s`,
      );
      expect(config.chains.anvil!.maxBlockRange).toBe(50);
      const storage = new MemoryStorage();
      const { collector } = await collectToHead(config, storage);
      expect(proxy.counts.rangeErrors).toBeGreaterThan(2);
      expect(proxy.counts.rateLimited).toBe(3);
      expect(collector.rpc!.counters.rateLimited).toBe(3);
      const head = await chain.public.getBlockNumber();
      for (const [key, pool] of [
        [V2, chain.v2],
        [V3, chain.v3],
      ] as const) {
        // From block `from`: the last block at or before the head's time minus the history.
        expect(await storage.fetch(key, 0, Number.MAX_SAFE_INTEGER)).toEqual(await expectedSamples(chain, pool, from, head));
      }
    } finally {
      await proxy.close();
    }
  }, 120_000);
});
