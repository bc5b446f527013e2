import { setTimeout as sleep } from 'node:timers/promises';
import { SimulatedChain } from '../../collectors/dex/simulator/chain.js';
import { randomTrading } from '../../collectors/dex/simulator/trading.js';
import { UsageError } from './errors.js';

/**
 * `collector simulate --chain`: a local Ethereum node (anvil) with a WETH/USDC Uniswap v2 pair and v3
 * pool, swapped on at random, until Ctrl-C. Prints the `chains` and `feeds` lines of a config
 * reading both pools. Needs the dev dependencies (anvil, solc, the Uniswap core artifacts).
 */
export async function simulateChainCommand(opts: { port: string; rate: string }): Promise<number> {
  const port = Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError(`--port: expected 0 to 65535, got ${opts.port}`);
  const swapsPerSecond = Number(opts.rate);
  if (!Number.isFinite(swapsPerSecond) || swapsPerSecond < 0) throw new UsageError(`--rate: expected swaps per second ≥ 0, got ${opts.rate}`);
  // Block times from the wall clock, so `collector fetch dex:... -1h now` finds the samples.
  const chain = await SimulatedChain.start({ port, blockInterval: 0 });
  const feed = (name: string, address: string, protocol: string) =>
    `    - { name: ${name}, kind: dex-price, chain: anvil, pool: "${address}", protocol: ${protocol}, base: WETH, alias: ${name} }\n`;
  process.stdout.write(
    `chain simulator (anvil): WETH/USDC on a Uniswap v2 pair and a v3 pool (0.3 %), ${swapsPerSecond} swaps/s\n` +
      `  chains: { anvil: { rpcUrl: "${chain.rpcUrl}", wsUrl: "${chain.rpcUrl.replace(/^http/, 'ws')}", confirmations: 0, pollInterval: 500ms } }\n` +
      `  feeds:\n` +
      feed('weth-usdc-v2', chain.v2.address, 'uniswap-v2') +
      feed('weth-usdc-v3', chain.v3.address, 'uniswap-v3') +
      'Ctrl-C stops.\n',
  );
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  let seed = 1;
  while (!stop.signal.aborted) {
    if (swapsPerSecond > 0) await randomTrading(chain, 1, seed++).catch((err: Error) => process.stderr.write(`swap failed: ${err.message}\n`));
    await sleep(swapsPerSecond > 0 ? 1000 / swapsPerSecond : 60_000, undefined, { signal: stop.signal }).catch(() => undefined);
  }
  await chain.stop();
  return 0;
}
