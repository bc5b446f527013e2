import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Sample } from '../storage/types.js';
import { collector } from './support/cli.js';
import { expectedSamples, randomTrading, chainForThisFile } from './support/dex-chain.js';

// Block times from the wall clock (blocks in one second share it), so `collector price` at now sees them.
const chain = chainForThisFile({ blockInterval: 0 });

function configFile(feeds: string[], storage = 'storage: { kind: memory }'): string {
  const file = join(mkdtempSync(join(tmpdir(), 'qc-dex-cli-')), 'config.yaml');
  writeFileSync(
    file,
    `${storage}\nhttp: false\nchains: { anvil: { rpcUrl: "${chain.rpcUrl}", confirmations: 0, pollInterval: 100ms } }\nfeeds:\n${feeds.map((f) => `  - ${f}\n`).join('')}`,
  );
  return file;
}

describe('DEX feeds from the command line (tests spawn bin/collector.js: build first)', () => {
  it('a pool address that holds no pool of the feed protocol, or no contract, or a base that is neither token: exit 2 naming each feed', async () => {
    const file = configFile([
      `{ name: v2-as-v3, kind: dex-price, chain: anvil, pool: "${chain.v2.address}", protocol: uniswap-v3 }`,
      `{ name: nothing-there, kind: dex-price, chain: anvil, pool: "0x000000000000000000000000000000000000dEaD", protocol: uniswap-v2 }`,
      `{ name: wrong-base, kind: dex-price, chain: anvil, pool: "${chain.v3.address}", protocol: uniswap-v3, base: DAI }`,
      `{ name: fine, kind: dex-price, chain: anvil, pool: "${chain.v3.address}", protocol: uniswap-v3, base: USDC, alias: usdc-weth }`,
    ]);
    const { code, stderr } = await collector(['run', '-c', file, '-d', '1s']);
    expect(code).toBe(2);
    expect(stderr).toContain(`feeds[0] (v2-as-v3): chain anvil: ${chain.v2.address} is not a uniswap-v3 pool`);
    expect(stderr).toContain('feeds[1] (nothing-there): chain anvil: 0x000000000000000000000000000000000000dEaD is not a uniswap-v2 pool: no contract at that address');
    expect(stderr).toMatch(/feeds\[2\] \(wrong-base\): chain anvil: base DAI is neither of the pool's tokens \((WETH|USDC) 0x/);
    expect(stderr).not.toContain('(fine)');
  });

  it('collector run stores both pools as the chain says; collector fetch and collector price show them', async () => {
    const from = await chain.public.getBlock();
    await randomTrading(chain, 40, 41);
    const head = await chain.public.getBlock();
    const history = Number(head.timestamp - from.timestamp) + 1;
    const dir = mkdtempSync(join(tmpdir(), 'qc-dex-cli-db-'));
    const file = configFile(
      [
        `{ name: weth-usdc-v2, kind: dex-price, chain: anvil, pool: "${chain.v2.address}", protocol: uniswap-v2, base: WETH, alias: weth-usdc-v2, history: ${history}s }`,
        `{ name: weth-usdc-v3, kind: dex-price, chain: anvil, pool: "${chain.v3.address}", protocol: uniswap-v3, base: WETH, alias: weth-usdc-v3, history: ${history}s }`,
      ],
      `storage: { kind: sqlite, path: ${join(dir, 'dex.db')} }`,
    );
    const run = await collector(['run', '-c', file, '-d', '3s']);
    expect(run.code, run.stderr).toBe(0);
    const first = (await collector(['fetch', 'dex:anvil:weth-usdc-v3', '0', '9999999999999', '-c', file, '-f', 'json'])).stdout;
    const v3 = JSON.parse(first) as Sample[];

    const start = await blockAtOrBefore(v3[0]![0]);
    for (const [key, pool] of [
      ['dex:anvil:weth-usdc-v2', chain.v2],
      ['dex:anvil:weth-usdc-v3', chain.v3],
    ] as const) {
      const fetched = await collector(['fetch', key, '0', '9999999999999', '-c', file, '-f', 'json']);
      expect(JSON.parse(fetched.stdout)).toEqual(await expectedSamples(chain, pool, start, head.number));
    }
    const price = await collector(['price', 'weth-usdc-v3', '-c', file, '-f', 'json']);
    const [, value] = JSON.parse(price.stdout) as [number, number];
    const last = (await expectedSamples(chain, chain.v3, start, head.number)).at(-1)![1] as Record<string, number>;
    expect(value).toBe(last.price);
  }, 60_000);
});

/** The last block at or before `ms` (the collector's first sample is at its start block's time). */
async function blockAtOrBefore(ms: number): Promise<bigint> {
  let n = await chain.public.getBlockNumber();
  while (n > 0n && Number((await chain.public.getBlock({ blockNumber: n })).timestamp) * 1000 > ms) n--;
  return n;
}
