import type { Hash } from 'viem';
import { seededRandom } from '../../simulator/market.js';
import type { SimulatedChain } from './chain.js';

/**
 * `count` random swaps over both pools: mostly small, one in ten large (a few hundred WETH, across
 * many initialized ticks of the v3 pool), some blocks holding several; a v3 mint and burn now and then.
 */
export async function randomTrading(chain: SimulatedChain, count: number, seed = 1): Promise<void> {
  const rnd = seededRandom(seed);
  const wethIs0 = chain.v3.token0.symbol === 'WETH';
  const amountOf = (sellWeth: boolean, weth: number) =>
    sellWeth ? BigInt(Math.round(weth * 1e6)) * 10n ** 12n : BigInt(Math.round(weth * 2000 * 1e6));
  let done = 0;
  while (done < count) {
    const batch = rnd() < 0.3 ? 2 + Math.floor(rnd() * 4) : 1;
    if (batch > 1) await chain.setAutomine(false);
    const sent: Hash[] = [];
    for (let i = 0; i < batch && done < count; i++, done++) {
      const sellWeth = rnd() < 0.5;
      const weth = rnd() < 0.1 ? 100 + rnd() * 300 : 0.01 + rnd() * 5;
      const zeroForOne = sellWeth === wethIs0;
      sent.push(await (rnd() < 0.5 ? chain.v2Swap(zeroForOne, amountOf(sellWeth, weth)) : chain.v3Swap(zeroForOne, amountOf(sellWeth, weth))));
      if (rnd() < 0.03) {
        const { tick } = await chain.v3State();
        const lower = Math.floor(tick / chain.tickSpacing) * chain.tickSpacing - 2 * chain.tickSpacing;
        sent.push(await chain.mintPosition(lower, lower + 4 * chain.tickSpacing, 5n * 10n ** 16n));
        sent.push(await chain.burnPosition(chain.positions.at(-1)!, 2n * 10n ** 16n));
      }
    }
    if (batch > 1) {
      await chain.mine();
      await chain.setAutomine(true);
      for (const hash of sent) {
        const receipt = await chain.public.waitForTransactionReceipt({ hash, pollingInterval: 20 });
        if (receipt.status !== 'success') throw new Error(`a swap reverted in block ${receipt.blockNumber}`);
      }
    }
  }
}

