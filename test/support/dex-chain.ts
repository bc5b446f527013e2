import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect } from 'vitest';
import { decodeEventLog, formatUnits, type Hash } from 'viem';
import { simulatorArtifacts } from '../../collectors/dex/simulator/contracts.js';
import { SimulatedChain, type ChainOptions, type SimulatedPool } from '../../collectors/dex/simulator/chain.js';
import type { PoolCollector } from '../../collectors/dex/pool-collector.js';
import type { DataSourceCollector } from '../../collectors/types.js';
import { silentLogger, type Logger } from '../../common/logger.js';
import { loadConfig, type CollectorConfig } from '../../src/config/load.js';
import { createContainer, registryOf } from '../../src/container.js';
import { collectorsOf } from '../../src/daemon.js';
import { buildFeeds } from '../../feeds/load.js';
import type { DataCollectionStorage, Sample } from '../../storage/types.js';
import { writeConfig } from './config-files.js';

export type { SimulatedChain };
export { randomTrading } from '../../collectors/dex/simulator/trading.js';

/**
 * The simulated chain of this test file: started before its tests, stopped after them. What is
 * returned stands for it (it may be used from the tests on, not at the file's top level).
 */
export function chainForThisFile(options?: ChainOptions): SimulatedChain {
  let chain: SimulatedChain | undefined;
  beforeAll(async () => {
    chain = await SimulatedChain.start(options);
  }, 60_000);
  afterAll(async () => {
    await chain?.stop();
  });
  return new Proxy({} as SimulatedChain, {
    get(_, property) {
      if (!chain) throw new Error('the simulated chain is not started yet: use it inside a test');
      const value = Reflect.get(chain, property, chain) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(chain) : value;
    },
  });
}

/** A config file with a v2 and a v3 feed on the simulated chain (WETH priced in USDC). */
export async function dexConfig(
  chain: SimulatedChain,
  extra = '',
  feedExtra = '',
  chainSettings: { pollInterval?: string; wsUrl?: string } = {},
): Promise<CollectorConfig> {
  const dir = mkdtempSync(join(tmpdir(), 'qc-dex-'));
  const file = join(dir, 'config.yaml');
  writeConfig(
    file,
    `storage: { kind: memory }\nhttp: false\n` +
      `chains: { anvil: { rpcUrl: "${chain.rpcUrl}", confirmations: 2, maxBlockRange: 50, pollInterval: ${chainSettings.pollInterval ?? '50ms'}, requestsPerSecond: 2000` +
      `${chainSettings.wsUrl ? `, wsUrl: "${chainSettings.wsUrl}"` : ''} } }\n` +
      `feeds:\n` +
      `  - { name: weth-usdc-v2, kind: dex-price, chain: anvil, pool: "${chain.v2.address}", protocol: uniswap-v2, base: WETH, alias: weth-usdc-v2${feedExtra} }\n` +
      `  - { name: weth-usdc-v3, kind: dex-price, chain: anvil, pool: "${chain.v3.address}", protocol: uniswap-v3, base: WETH, alias: weth-usdc-v3${feedExtra} }\n` +
      extra,
  );
  return loadConfig(file, createContainer());
}

/** The collectors a config runs (one pool collector for the chain). */
export function dexCollectors(config: CollectorConfig, logger: Logger = silentLogger): DataSourceCollector[] {
  const registry = registryOf(createContainer());
  return collectorsOf(config, buildFeeds(config.feeds, registry), registry, logger);
}

/** Runs the config's pool collector into `storage` until `stop`. */
export function startPoolCollector(config: CollectorConfig, storage: DataCollectionStorage, logger?: Logger): { collector: PoolCollector; stop(): Promise<void> } {
  const [collector] = dexCollectors(config, logger) as PoolCollector[];
  const abort = new AbortController();
  const done = collector!.run(storage, abort.signal);
  return {
    collector: collector!,
    stop: async () => {
      abort.abort();
      await done;
    },
  };
}

/** The block a collector's checkpoint of `key` has reached, or undefined before its first commit. */
export async function checkpointBlock(storage: DataCollectionStorage, collector: string, key: string): Promise<bigint | undefined> {
  const record = await storage.collectorState!.load(collector);
  const c = record?.checkpoints.find((x) => x.key === key);
  const m = /^(\d+):/.exec(c?.lastTradeId ?? '');
  return m ? BigInt(m[1]!) : undefined;
}

/** Waits until the collector's checkpoint of `key` is the chain's head block (number and hash). */
export async function untilHead(chain: SimulatedChain, storage: DataCollectionStorage, collector: string, key: string, timeoutMs = 30_000): Promise<bigint> {
  const head = await chain.public.getBlock();
  const want = `${head.number}:${head.hash}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const record = await storage.collectorState!.load(collector);
    const at = record?.checkpoints.find((x) => x.key === key)?.lastTradeId;
    if (at === want) return head.number;
    if (Date.now() > deadline) throw new Error(`${collector} checkpoint of ${key} is ${at}, not the head ${want}, after ${timeoutMs} ms`);
    await sleep(25);
  }
}

/** Waits until the collector's checkpoint of `key` reaches `block`. */
export async function untilBlock(storage: DataCollectionStorage, collector: string, key: string, block: bigint, timeoutMs = 30_000): Promise<bigint> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const at = await checkpointBlock(storage, collector, key);
    if (at !== undefined && at >= block) return at;
    if (Date.now() > deadline) throw new Error(`${collector} reached block ${at} of ${key}, not ${block}, in ${timeoutMs} ms`);
    await sleep(25);
  }
}

const units = (raw: bigint, decimals: number) => Number.parseFloat(formatUnits(raw, decimals));
const abs = (x: bigint) => (x < 0n ? -x : x);

/**
 * What the pool's samples must be over blocks `(from, to]`, read from the chain independently of the
 * collector: per block timestamp, the pool's state at the last block of that timestamp (getReserves,
 * slot0, liquidity) and the sums of its Swap events' amounts (decoded with Uniswap's own ABIs from
 * the blocks' receipts). The sample at block `from`'s timestamp starts with no volume.
 */
export async function expectedSamples(chain: SimulatedChain, pool: SimulatedPool, from: bigint, to: bigint, extraTimes: readonly number[] = []): Promise<Sample[]> {
  const artifacts = simulatorArtifacts();
  const abi = pool.protocol === 'uniswap-v2' ? artifacts.v2Pair.abi : artifacts.v3Pool.abi;
  const byTime = new Map<number, { last: bigint; volume0: bigint; volume1: bigint; swaps: number; touched: boolean }>();
  for (let n = from; n <= to; n++) {
    const block = await chain.public.getBlock({ blockNumber: n, includeTransactions: false });
    const t = Number(block.timestamp) * 1000;
    const entry = byTime.get(t) ?? { last: n, volume0: 0n, volume1: 0n, swaps: 0, touched: n === from };
    entry.last = n;
    if (n > from) {
      for (const hash of block.transactions as Hash[]) {
        const receipt = await chain.public.getTransactionReceipt({ hash });
        for (const log of receipt.logs) {
          if (log.address.toLowerCase() !== pool.address.toLowerCase()) continue;
          let event;
          try {
            event = decodeEventLog({ abi, data: log.data, topics: log.topics });
          } catch {
            continue; // the pair's own ERC-20 events
          }
          const a = event.args as unknown as Record<string, bigint>;
          if (['Sync', 'Swap', 'Mint', 'Burn'].includes(event.eventName!)) entry.touched = true;
          if (event.eventName !== 'Swap') continue;
          entry.swaps += 1;
          entry.volume0 += pool.protocol === 'uniswap-v2' ? abs(a.amount0In! - a.amount0Out!) : abs(a.amount0!);
          entry.volume1 += pool.protocol === 'uniswap-v2' ? abs(a.amount1In! - a.amount1Out!) : abs(a.amount1!);
        }
      }
    }
    byTime.set(t, entry);
  }
  // A time with no block of its own (a sample of a block a reorg replaced): the state of the last block before it.
  const blocks = [...byTime].sort((a, b) => a[0] - b[0]);
  for (const t of extraTimes) {
    if (byTime.get(t)?.touched) continue;
    const before = blocks.filter(([bt]) => bt <= t).at(-1);
    if (before) byTime.set(t, { last: before[1].last, volume0: 0n, volume1: 0n, swaps: 0, touched: true });
  }
  const out: Sample[] = [];
  const wethIs0 = pool.token0.symbol === 'WETH';
  const { decimals: d0 } = pool.token0;
  const { decimals: d1 } = pool.token1;
  for (const [t, e] of byTime) {
    if (!e.touched) continue;
    const volumes = { volume0: units(e.volume0, d0), volume1: units(e.volume1, d1), swaps: e.swaps };
    if (pool.protocol === 'uniswap-v2') {
      const { reserve0, reserve1 } = await chain.v2Reserves(e.last);
      const r0 = units(reserve0, d0);
      const r1 = units(reserve1, d1);
      out.push([t, { price: wethIs0 ? r1 / r0 : r0 / r1, reserve0: r0, reserve1: r1, ...volumes }]);
    } else {
      const s = await chain.v3State(e.last);
      const sqrt = Number(s.sqrtPriceX96) / 2 ** 96;
      const price1Per0 = sqrt * sqrt * 10 ** (d0 - d1);
      out.push([t, { price: wethIs0 ? price1Per0 : 1 / price1Per0, liquidity: Number(s.liquidity), sqrt_price_x96: Number(s.sqrtPriceX96), tick: s.tick, ...volumes }]);
    }
  }
  return out.sort((a, b) => a[0] - b[0]);
}

const DEPTH_BANDS = [10, 50, 100];
const POOL_FEE = 0.003;

/**
 * Checks a stored depth sample (WETH priced in USDC, 0.3 % pools) against the pool itself at block
 * `blockNumber`: v3 asked (eth_call at that block) for a swap of unlimited size stopping at each band's
 * edge; v2 from the constant-product curve of its reserves then. Returns how many bands held liquidity.
 */
export async function expectDepthOfBlock(chain: SimulatedChain, pool: SimulatedPool, blockNumber: bigint, depth: Record<string, number>): Promise<number> {
  // Relative closeness: the collector computes in floating point, the pool in integers.
  const close = (actual: number, expected: number, what: string) =>
    expect(Math.abs(actual - expected), `${pool.protocol} ${what} at block ${blockNumber}: ${actual} vs ${expected}`).toBeLessThanOrEqual(Math.abs(expected) * 1e-9 + 1e-9);
  let nonZero = 0;
  if (pool.protocol === 'uniswap-v3') {
    const { sqrtPriceX96 } = await chain.v3State(blockNumber);
    const price = (Number(sqrtPriceX96) / 2 ** 96) ** 2;
    const moveTo = async (target: number, zeroForOne: boolean) => {
      const limit = BigInt(Math.floor(Math.sqrt(target) * 2 ** 96));
      const { result } = await chain.public.simulateContract({
        address: chain.driver,
        abi: chain.artifacts.poolDriver.abi,
        functionName: 'v3Swap',
        args: [pool.address, zeroForOne, 10n ** 30n, limit],
        account: chain.wallet.account!,
        blockNumber,
      });
      return result as readonly [bigint, bigint];
    };
    for (const bps of DEPTH_BANDS) {
      const x = bps / 10_000;
      const ask = price * (1 + x) * (1 - POOL_FEE);
      const bid = (price * (1 - x)) / (1 - POOL_FEE);
      const expectedAsk = ask > price ? Number((await moveTo(ask, false))[1]) / 1e6 : 0; // USDC paid, fee included
      const expectedBid = bid < price ? -Number((await moveTo(bid, true))[1]) / 1e6 : 0; // USDC received
      close(depth[`ask_depth_${bps}bps`]!, expectedAsk, `ask ${bps}bps`);
      close(depth[`bid_depth_${bps}bps`]!, expectedBid, `bid ${bps}bps`);
      if (expectedAsk > 0) nonZero += 1;
    }
  } else {
    const { reserve0, reserve1 } = await chain.v2Reserves(blockNumber);
    const [x0, y0] = [Number(reserve0), Number(reserve1)];
    const price = y0 / x0;
    for (const bps of DEPTH_BANDS) {
      const x = bps / 10_000;
      const ask = price * (1 + x) * (1 - POOL_FEE);
      const bid = (price * (1 - x)) / (1 - POOL_FEE);
      // Reserve1 at a price p is √(x·y·p): what goes in (gross of the 0.3 % fee) or out to get there.
      const expectedAsk = ask > price ? (Math.sqrt(x0 * y0 * ask) - y0) / (1 - POOL_FEE) / 1e6 : 0;
      const expectedBid = bid < price ? (y0 - Math.sqrt(x0 * y0 * bid)) / 1e6 : 0;
      close(depth[`ask_depth_${bps}bps`]!, expectedAsk, `ask ${bps}bps`);
      close(depth[`bid_depth_${bps}bps`]!, expectedBid, `bid ${bps}bps`);
      if (expectedAsk > 0) nonZero += 1;
    }
  }
  return nonZero;
}

/** The canonical block a sample stored at `t` (ms) stands for: the last of blocks `[from, to]` at or before `t`. */
export async function blocksByTime(chain: SimulatedChain, from: bigint, to: bigint): Promise<(t: number) => bigint> {
  const times: Array<[number, bigint]> = [];
  for (let n = from; n <= to; n++) times.push([Number((await chain.public.getBlock({ blockNumber: n })).timestamp) * 1000, n]);
  return (t) => {
    const at = times.filter(([bt]) => bt <= t).at(-1);
    if (!at) throw new Error(`no block of ${from}..${to} at or before ${t}`);
    return at[1];
  };
}

/** What the RPC proxy did. */
export interface ProxyCounts {
  requests: number;
  rangeErrors: number;
  rateLimited: number;
}

/**
 * A loopback JSON-RPC proxy in front of anvil that behaves like a hosted provider: an
 * `eth_getLogs` over `maxRange` blocks is refused with one of the providers' own errors (Alchemy's,
 * Infura's with a suggested range, QuickNode's), and every `rateLimitEvery`th request gets HTTP 429
 * with `Retry-After: 1` (at most `maxRateLimited` times).
 */
export async function providerProxy(
  target: string,
  options: { maxRange: number; rateLimitEvery: number; maxRateLimited: number },
): Promise<{ url: string; counts: ProxyCounts; close(): Promise<void> }> {
  const { createServer } = await import('node:http');
  const counts: ProxyCounts = { requests: 0, rangeErrors: 0, rateLimited: 0 };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      void (async () => {
        counts.requests += 1;
        const call = JSON.parse(body) as { id: number; method: string; params: Array<{ fromBlock?: string; toBlock?: string }> };
        if (counts.requests % options.rateLimitEvery === 0 && counts.rateLimited < options.maxRateLimited) {
          counts.rateLimited += 1;
          res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' });
          res.end(JSON.stringify({ jsonrpc: '2.0', id: call.id, error: { code: -32005, message: 'Too Many Requests' } }));
          return;
        }
        if (call.method === 'eth_getLogs') {
          const from = BigInt(call.params[0]!.fromBlock!);
          const to = BigInt(call.params[0]!.toBlock!);
          if (to - from + 1n > BigInt(options.maxRange)) {
            const shapes = [
              { code: -32602, message: `Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range and no limit on the response size, or you can request any block range with a cap of 10K logs in the response. Based on your parameters, this block range should work: [0x${from.toString(16)}, 0x${(from + BigInt(options.maxRange) - 1n).toString(16)}]` },
              { code: -32005, message: `query returned more than 10000 results. Try with this block range [0x${from.toString(16)}, 0x${(from + BigInt(options.maxRange) / 2n).toString(16)}].` },
              { code: -32614, message: `eth_getLogs is limited to a ${options.maxRange} range` },
            ];
            const error = shapes[counts.rangeErrors++ % shapes.length];
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ jsonrpc: '2.0', id: call.id, error }));
            return;
          }
        }
        const answer = await fetch(target, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(await answer.text());
      })().catch((err: Error) => {
        res.writeHead(502);
        res.end(err.message);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
