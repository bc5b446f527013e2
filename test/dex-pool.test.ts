import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryStorage } from '../storage/memory.js';
import { SqliteStorage } from '../storage/sqlite.js';
import type { DataCollectionStorage } from '../storage/types.js';
import { RedisTimeSeriesStorage } from '../storage/redis-timeseries/storage.js';
import { disposeRedisServers, RedisServer, SKIP_MESSAGE, timeSeriesTarget } from './support/redis-server.js';
import { checkpointBlock, dexCollectors, dexConfig, expectedSamples, randomTrading, untilBlock, chainForThisFile } from './support/dex-chain.js';

const chain = chainForThisFile();
afterAll(async () => {
  await disposeRedisServers();
}, 30_000);

const target = timeSeriesTarget();
if (!target) console.warn(SKIP_MESSAGE.replace('tests', 'backend of the DEX pool test'));

/** Redis TimeSeries too, where there is one: a running one (REDIS_TIMESERIES_URL) or a server of our own with the module. */
async function redisTimeSeries(): Promise<DataCollectionStorage[]> {
  if (!target) return [];
  const url = target.url ?? (await RedisServer.start({ module: target.module })).url;
  return [await RedisTimeSeriesStorage.open({ url, connectTimeoutMs: 2000 })];
}

describe('pool collector against a local chain (anvil, Uniswap v2 and v3 core)', () => {
  it('stores per block what the chain says: reserves, price, slot0 and liquidity at that block, and the sums swapped (memory, SQLite, Redis TimeSeries)', async () => {
    const config = await dexConfig(chain);
    const dir = mkdtempSync(join(tmpdir(), 'qc-dex-pool-'));
    const backends: DataCollectionStorage[] = [new MemoryStorage(), new SqliteStorage({ path: join(dir, 'dex.db') }), ...(await redisTimeSeries())];
    const abort = new AbortController();
    const runs = backends.map((storage) => {
      const [collector] = dexCollectors(config);
      expect(collector!.id).toBe('pool:anvil');
      return { storage, collector: collector!, done: collector!.run(storage, abort.signal) };
    });
    let head: bigint;
    let starts: bigint[];
    try {
      // Each starts at the head: its first checkpoint says which block.
      starts = await Promise.all(runs.map(({ storage }) => untilBlock(storage, 'pool:anvil', 'dex:anvil:weth-usdc-v3', 0n)));
      await randomTrading(chain, 300, 7);
      head = await chain.public.getBlockNumber();
      await Promise.all(runs.map(({ storage }) => untilBlock(storage, 'pool:anvil', 'dex:anvil:weth-usdc-v3', head)));
    } finally {
      abort.abort();
      await Promise.all(runs.map((r) => r.done));
    }

    for (const [i, { storage }] of runs.entries()) {
      const start = starts[i]!;
      for (const [key, pool] of [
        ['dex:anvil:weth-usdc-v2', chain.v2],
        ['dex:anvil:weth-usdc-v3', chain.v3],
      ] as const) {
        const expected = await expectedSamples(chain, pool, start, head);
        const stored = await storage.fetch(key, 0, Number.MAX_SAFE_INTEGER);
        expect(stored).toEqual(expected);
      }
      const v3 = await storage.fetch('dex:anvil:weth-usdc-v3', 0, Number.MAX_SAFE_INTEGER);
      const ticks = v3.map(([, v]) => (v as Record<string, number>).tick!);
      // Large swaps crossed many initialized ticks (the ladder of positions is 300 ticks apart).
      expect(Math.max(...ticks) - Math.min(...ticks)).toBeGreaterThan(1_200);
      const swaps = (key: string) => storage.fetch(key, 0, Number.MAX_SAFE_INTEGER).then((s) => s.reduce((n, [, v]) => n + (v as Record<string, number>).swaps!, 0));
      expect((await swaps('dex:anvil:weth-usdc-v2')) + (await swaps('dex:anvil:weth-usdc-v3'))).toBe(300);
      expect(await checkpointBlock(storage, 'pool:anvil', 'dex:anvil:weth-usdc-v2')).toBe(head);
      await storage.close();
    }
  }, 120_000);
});
