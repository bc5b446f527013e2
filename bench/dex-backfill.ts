/**
 * DEX pool bench (`npm run bench -- dex-backfill`) against a local anvil with a Uniswap v2 pair and
 * v3 pool: (1) backfilling `BENCH_DEX_BLOCKS` blocks (swaps in about a third of them) from history
 * into SQLite, against a plain viem client making the same `eth_getLogs` calls (same ranges) and
 * nothing else, in the same run (ratio: the collector's blocks/s over the plain client's); (2) swaps
 * decoded and stored per second over blocks full of swaps. The SQLite flush interval is 5 ms: the
 * time until the checkpoint is visible is measured, and the default 100 ms would be most of it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createPublicClient, http, numberToHex, type Address } from 'viem';
import type { ChainSettings } from '../collectors/dex/chain-rpc.js';
import { PoolCollector, type PoolTarget } from '../collectors/dex/pool-collector.js';
import { builtInDexProtocols } from '../collectors/dex/protocols.js';
import { SimulatedChain } from '../collectors/dex/simulator/chain.js';
import { randomTrading } from '../collectors/dex/simulator/trading.js';
import { silentLogger } from '../common/logger.js';
import { SqliteStorage } from '../storage/sqlite.js';
import { envInt, median, pairedRatios, printJson, printTable, progress, row, type BenchRow } from './support/report.js';

const BLOCKS = envInt('BENCH_DEX_BLOCKS', 2_000);
const DENSE_BLOCKS = envInt('BENCH_DEX_DENSE_BLOCKS', 40);
const ROUNDS = envInt('BENCH_ROUNDS', 3);
const RANGE = 500;

function targets(chain: SimulatedChain, historyMs: number): PoolTarget[] {
  return [
    { key: 'dex:anvil:weth-usdc-v2', address: chain.v2.address, protocol: builtInDexProtocols.get('uniswap-v2'), base: 'WETH', historyMs },
    { key: 'dex:anvil:weth-usdc-v3', address: chain.v3.address, protocol: builtInDexProtocols.get('uniswap-v3'), base: 'WETH', historyMs },
  ];
}

/** Runs a pool collector into `storage` until its checkpoint is at `head`; returns the seconds it took. */
async function collectUntil(collector: PoolCollector, storage: SqliteStorage, head: bigint): Promise<number> {
  const abort = new AbortController();
  const started = performance.now();
  const done = collector.run(storage, abort.signal);
  for (;;) {
    const record = await storage.collectorState!.load(collector.id);
    const at = record?.checkpoints[0]?.lastTradeId;
    if (at !== undefined && BigInt(at.split(':')[0]!) >= head) break;
    await sleep(5);
  }
  const took = (performance.now() - started) / 1000;
  abort.abort();
  await done;
  return took;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'qc-bench-dex-'));
  const chain = await SimulatedChain.start();
  try {
    const first = await chain.public.getBlockNumber();
    progress(`making ${BLOCKS} blocks`);
    await randomTrading(chain, Math.floor(BLOCKS / 4), 1);
    await chain.mine(Math.max(1, BLOCKS - Number((await chain.public.getBlockNumber()) - first)));
    const head = await chain.public.getBlockNumber();
    const historyMs = Number((await chain.public.getBlock()).timestamp - (await chain.public.getBlock({ blockNumber: first })).timestamp) * 1000;
    const settings: ChainSettings = { rpcUrl: chain.rpcUrl, confirmations: 0, maxBlockRange: RANGE, pollIntervalMs: 10, requestsPerSecond: 100_000 };
    const collectorSeconds: number[] = [];
    const plainSeconds: number[] = [];
    const addresses: Address[] = [chain.v2.address, chain.v3.address];
    for (let round = 1; round <= ROUNDS; round++) {
      const storage = new SqliteStorage({ path: join(dir, `backfill-${round}.db`), flushIntervalMs: 5 });
      collectorSeconds.push(await collectUntil(new PoolCollector('pool:anvil', 'anvil', settings, targets(chain, historyMs), silentLogger), storage, head));
      await storage.close();
      // The plain client: the same ranges of eth_getLogs, nothing decoded or stored.
      const plain = createPublicClient({ transport: http(chain.rpcUrl, { batch: false, retryCount: 0 }) });
      const started = performance.now();
      for (let from = first; from <= head; from += BigInt(RANGE)) {
        const to = from + BigInt(RANGE) - 1n < head ? from + BigInt(RANGE) - 1n : head;
        await plain.request({ method: 'eth_getLogs', params: [{ address: addresses, fromBlock: numberToHex(from), toBlock: numberToHex(to) }] });
      }
      plainSeconds.push((performance.now() - started) / 1000);
      progress(`round ${round}: collector ${collectorSeconds.at(-1)!.toFixed(3)} s, plain getLogs ${plainSeconds.at(-1)!.toFixed(3)} s`);
    }

    // Blocks full of swaps (ten each), then read and stored from the head.
    const denseStart = await chain.public.getBlockNumber();
    for (let b = 0; b < DENSE_BLOCKS; b++) {
      await chain.setAutomine(false);
      for (let i = 0; i < 10; i++) await (i % 2 === 0 ? chain.v3Swap(b % 2 === 0, 10n ** 17n) : chain.v2Swap(b % 2 === 0, 10n ** 17n));
      await chain.mine();
      await chain.setAutomine(true);
    }
    const denseHead = await chain.public.getBlockNumber();
    const denseHistory = Number((await chain.public.getBlock()).timestamp - (await chain.public.getBlock({ blockNumber: denseStart })).timestamp) * 1000;
    const swapSeconds: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const storage = new SqliteStorage({ path: join(dir, `dense-${round}.db`), flushIntervalMs: 5 });
      swapSeconds.push(await collectUntil(new PoolCollector('pool:anvil', 'anvil', settings, targets(chain, denseHistory), silentLogger), storage, denseHead));
      await storage.close();
    }
    const blocks = Number(head - first) + 1;
    const swaps = DENSE_BLOCKS * 10;
    const rows: BenchRow[] = [
      row(
        `backfill ${blocks} blocks → SQLite (blocks/s)`,
        blocks / median(collectorSeconds),
        'blocks/s',
        { name: 'plain client, same eth_getLogs calls', value: blocks / median(plainSeconds) },
        median(pairedRatios(plainSeconds, collectorSeconds)),
      ),
      row(`swaps decoded and stored (${swaps} swaps in ${DENSE_BLOCKS} blocks)`, swaps / median(swapSeconds), 'swaps/s'),
    ];
    printTable(`DEX bench — anvil, Uniswap v2 + v3, ${ROUNDS} rounds (median); node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`, rows);
    printJson('dex-backfill', { blocks, range: RANGE, rounds: ROUNDS, collectorSeconds, plainSeconds, swapSeconds }, rows);
  } finally {
    await chain.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
