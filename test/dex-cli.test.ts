import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { Sample } from '../storage/types.js';
import { collector, startCollectorDaemon } from './support/cli.js';
import { expectedSamples, randomTrading, chainForThisFile } from './support/dex-chain.js';
import { writeConfig } from './support/config-files.js';
import { freePort } from '../bench/support/redis-server.js';

// Block times from the wall clock (blocks in one second share it), so `collector price` at now sees them.
const chain = chainForThisFile({ blockInterval: 0 });

function configFile(feeds: string[], storage = 'storage: { kind: memory }', http = 'http: false'): string {
  const file = join(mkdtempSync(join(tmpdir(), 'qc-dex-cli-')), 'config.yaml');
  writeConfig(
    file,
    `${storage}\n${http}\nchains: { anvil: { rpcUrl: "${chain.rpcUrl}", confirmations: 0, pollInterval: 100ms } }\nfeeds:\n${feeds.map((f) => `  - ${f}\n`).join('')}`,
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
    await randomTrading(chain, 40, 41);
    const head = await chain.public.getBlock();
    // A day of history: from where each pool was created (blocks share timestamps here, so no block
    // in between can be named by time).
    const history = 86_400;
    const dir = mkdtempSync(join(tmpdir(), 'qc-dex-cli-db-'));
    const file = configFile(
      [
        `{ name: weth-usdc-v2, kind: dex-price, chain: anvil, pool: "${chain.v2.address}", protocol: uniswap-v2, base: WETH, alias: weth-usdc-v2, history: ${history}s }`,
        `{ name: weth-usdc-v3, kind: dex-price, chain: anvil, pool: "${chain.v3.address}", protocol: uniswap-v3, base: WETH, alias: weth-usdc-v3, history: ${history}s }`,
      ],
      `storage: { kind: sqlite, path: ${join(dir, 'dex.db')} }`,
      'http: { listen: 127.0.0.1:0 }',
    );
    const daemon = await startCollectorDaemon(['-c', file]);
    try {
      for (const [key, pool] of [
        ['dex:anvil:weth-usdc-v2', chain.v2],
        ['dex:anvil:weth-usdc-v3', chain.v3],
      ] as const) {
        const expected = await expectedSamples(chain, pool, await creationBlock(pool.address), head.number);
        // Read while the daemon runs (SQLite is read from another process), until it has reached the head.
        await vi.waitFor(
          async () => {
            const fetched = await collector(['fetch', key, '0', '9999999999999', '-c', file, '-f', 'json']);
            expect(JSON.parse(fetched.stdout)).toEqual(expected);
          },
          { timeout: 30_000, interval: 200 },
        );
      }
    } finally {
      daemon.child.kill('SIGTERM');
      expect(await daemon.exited).toBe(0);
    }
    const price = await collector(['price', 'weth-usdc-v3', '-c', file, '-f', 'json']);
    const [, value] = JSON.parse(price.stdout) as [number, number];
    const last = (await expectedSamples(chain, chain.v3, await creationBlock(chain.v3.address), head.number)).at(-1)![1] as Record<string, number>;
    expect(value).toBe(last.price);
  }, 60_000);

  it('collector backfill --feed fills a DEX feed up to the head with a progress bar over blocks; a second run reads only the new blocks', async () => {
    await randomTrading(chain, 30, 61);
    const dir = mkdtempSync(join(tmpdir(), 'qc-dex-cli-bf-'));
    const file = configFile(
      [`{ name: weth-usdc-v3, kind: dex-price, chain: anvil, pool: "${chain.v3.address}", protocol: uniswap-v3, base: WETH, alias: weth-usdc-v3 }`],
      `storage: { kind: sqlite, path: ${join(dir, 'dex.db')} }`,
    );
    // From the start of the chain: the pool's history begins where it was created.
    const first = await collector(['backfill', '--feed', 'weth-usdc-v3', '--from', '0', '--progress', '-c', file]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/dex:anvil:weth-usdc-v3 \[.*\] 100% \| \d+\/\d+ blocks/);
    expect(first.stdout).toMatch(/^dex:anvil:weth-usdc-v3: \d+ blocks read, \d+ samples stored, \d+ requests \(0 ranges split, 0 rate limited\)/);
    await randomTrading(chain, 10, 62);
    const head = await chain.public.getBlockNumber();
    const second = await collector(['backfill', '--feed', 'weth-usdc-v3', '--from', '0', '-c', file]);
    expect(second.code, second.stderr).toBe(0);
    const fetched = JSON.parse((await collector(['fetch', 'dex:anvil:weth-usdc-v3', '0', '9999999999999', '-c', file, '-f', 'json'])).stdout) as Sample[];
    expect(fetched).toEqual(await expectedSamples(chain, chain.v3, await creationBlock(chain.v3.address), head));
    const blocksRead = (text: string) => Number(/: (\d+) blocks read/.exec(text)![1]);
    expect(blocksRead(second.stdout)).toBeLessThan(blocksRead(first.stdout) + 15);
  }, 60_000);

  it('collector status shows a pool collector\'s reorgs in its repairs column', async () => {
    const file = configFile(
      [`{ name: weth-usdc-v3, kind: dex-price, chain: anvil, pool: "${chain.v3.address}", protocol: uniswap-v3, base: WETH, alias: weth-usdc-v3 }`],
      'storage: { kind: memory }',
      'http: { listen: 127.0.0.1:0 }',
    );
    const daemon = await startCollectorDaemon(['-c', file]);
    const stored = async () => ((await (await fetch(`${daemon.statusUrl}/status`)).json()) as { collectors: Array<{ itemsStored: number }> }).collectors[0]!.itemsStored;
    try {
      await vi.waitFor(async () => expect(await stored()).toBeGreaterThan(0), { timeout: 30_000, interval: 100 }); // the pool's state at start
      const before = await collector(['status', '--url', daemon.statusUrl]);
      expect(before.stdout).toMatch(/^pool:anvil\s+running\b.*\s-\s+-\s+-\s*$/m); // nothing repaired, dropped, failed
      const snapshot = await chain.test.snapshot();
      await randomTrading(chain, 5, 81);
      await vi.waitFor(async () => expect(await stored()).toBeGreaterThan(1), { timeout: 30_000, interval: 100 }); // a block after the snapshot read
      await chain.test.revert({ id: snapshot });
      await randomTrading(chain, 2, 82);
      await vi.waitFor(
        async () => expect((await collector(['status', '--url', daemon.statusUrl])).stdout).toMatch(/^pool:anvil\s+running\b.*\s1 reorgs\s/m),
        { timeout: 30_000, interval: 200 },
      );
    } finally {
      daemon.child.kill('SIGTERM');
      expect(await daemon.exited).toBe(0);
    }
  }, 60_000);
  it('a chain that does not answer at start is no config error: the daemon runs, its pool collector backs off naming the endpoint (key masked)', async () => {
    const closed = await freePort();
    const file = join(mkdtempSync(join(tmpdir(), 'qc-dex-cli-down-')), 'config.yaml');
    writeConfig(
      file,
      `storage: { kind: memory }\nhttp: { listen: 127.0.0.1:0 }\n` +
        `chains: { down: { rpcUrl: "http://127.0.0.1:${closed}/v2/s3cretkeyAlchemyLike0123456789ab", pollInterval: 100ms } }\n` +
        `collector: { restart: { initialDelay: 100ms, maxDelay: 500ms } }\n` +
        `feeds:\n  - { name: weth-usdc-v3, kind: dex-price, chain: down, pool: "${chain.v3.address}", protocol: uniswap-v3 }\n`,
    );
    const daemon = await startCollectorDaemon(['-c', file]);
    try {
      await vi.waitFor(
        async () => {
          const status = (await (await fetch(`${daemon.statusUrl}/status`)).json()) as { collectors: Array<{ kind: string; state: string; lastError: string | null }> };
          const pool = status.collectors.find((c) => c.kind === 'pool');
          expect(pool?.state).toBe('backing-off');
          expect(pool?.lastError).toContain(`cannot reach http://127.0.0.1:${closed}/v2/`);
          expect(pool?.lastError).toContain('ECONNREFUSED');
          expect(JSON.stringify(status)).not.toContain('s3cretkey');
        },
        { timeout: 15_000, interval: 200 },
      );
      expect(daemon.stderr()).toContain('chain unreachable at start');
      expect(daemon.stderr()).not.toContain('s3cretkey');
    } finally {
      daemon.child.kill('SIGTERM');
      expect(await daemon.exited).toBe(0);
    }
  });
  it('collector reload refuses a DEX feed whose pool is wrong (exit 2 naming it, as at start) and applies one whose pool is right', async () => {
    const good = `{ name: weth-usdc-v3, kind: dex-price, chain: anvil, pool: "${chain.v3.address}", protocol: uniswap-v3, base: WETH, alias: weth-usdc-v3 }`;
    const file = configFile([good], 'storage: { kind: memory }', 'http: { listen: 127.0.0.1:0 }');
    const daemon = await startCollectorDaemon(['-c', file]);
    try {
      const rewrite = (feed: string) => configFile([good, feed], 'storage: { kind: memory }', 'http: { listen: 127.0.0.1:0 }');
      const wrong = rewrite(`{ name: v2-as-v3, kind: dex-price, chain: anvil, pool: "${chain.v2.address}", protocol: uniswap-v3 }`);
      // The daemon reads its own file again: put the new text there.
      writeConfig(file, readFileSync(wrong, 'utf8'));
      const refused = await collector(['reload', '-u', daemon.statusUrl]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(`feeds[1] (v2-as-v3): chain anvil: ${chain.v2.address} is not a uniswap-v3 pool`);
      writeConfig(file, readFileSync(rewrite(`{ name: weth-usdc-v2, kind: dex-price, chain: anvil, pool: "${chain.v2.address}", protocol: uniswap-v2, base: WETH, alias: weth-usdc-v2 }`), 'utf8'));
      const applied = await collector(['reload', '-u', daemon.statusUrl]);
      expect(applied.code, applied.stderr).toBe(0);
      expect(applied.stdout).toMatch(/^reloaded /);
    } finally {
      daemon.child.kill('SIGTERM');
      expect(await daemon.exited).toBe(0);
    }
  });
});

/** The block a contract was deployed in. */
async function creationBlock(address: `0x${string}`): Promise<bigint> {
  let n = 0n;
  while ((await chain.public.getCode({ address, blockNumber: n })) === undefined) n++;
  return n;
}
