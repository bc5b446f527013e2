import { parseAbi, type Address, type PublicClient } from 'viem';
import { quotePerBase, readPoolCall, readToken, toUnits, type DexProtocol, type PoolInfo } from '../protocol.js';

const PAIR_ABI = parseAbi([
  'function token0() view returns (address)',
  'function token1() view returns (address)',
  'function getReserves() view returns (uint112 reserve0, uint112 reserve1, uint32 blockTimestampLast)',
  'event Sync(uint112 reserve0, uint112 reserve1)',
  'event Swap(address indexed sender, uint256 amount0In, uint256 amount1In, uint256 amount0Out, uint256 amount1Out, address indexed to)',
]);

interface PairState {
  reserve0: bigint;
  reserve1: bigint;
}

const abs = (x: bigint) => (x < 0n ? -x : x);

/** Uniswap v2 pairs (and their forks with the same events): reserves from `Sync`, volumes from `Swap`. */
export const uniswapV2: DexProtocol<PairState> = {
  name: 'uniswap-v2',
  events: PAIR_ABI.filter((x) => x.type === 'event'),

  async readPool(client: PublicClient, address: Address) {
    const read = <T>(functionName: 'token0' | 'token1' | 'getReserves') =>
      readPoolCall('uniswap-v2', address, () => client.readContract({ address, abi: PAIR_ABI, functionName }) as Promise<T>);
    const [token0, token1] = await Promise.all([read<Address>('token0'), read<Address>('token1'), read('getReserves')]);
    const [t0, t1] = await Promise.all([readToken(client, token0), readToken(client, token1)]);
    return { address, protocol: 'uniswap-v2', token0: t0, token1: t1, fee: 3000 };
  },

  async readState(client, pool, blockNumber) {
    const [reserve0, reserve1] = await client.readContract({ address: pool.address, abi: PAIR_ABI, functionName: 'getReserves', blockNumber });
    return { reserve0, reserve1 };
  },

  apply(state, event) {
    const a = event.args as Record<string, bigint>;
    if (event.eventName === 'Sync') {
      state.reserve0 = a.reserve0!;
      state.reserve1 = a.reserve1!;
      return undefined;
    }
    if (event.eventName === 'Swap') return { amount0: abs(a.amount0In! - a.amount0Out!), amount1: abs(a.amount1In! - a.amount1Out!) };
    return undefined;
  },

  fields(state, pool: PoolInfo) {
    const reserve0 = toUnits(state.reserve0, pool.token0.decimals);
    const reserve1 = toUnits(state.reserve1, pool.token1.decimals);
    return { price: reserve0 > 0 ? quotePerBase(reserve1 / reserve0, pool) : 0, reserve0, reserve1 };
  },

  // The constant-product curve: at price t, reserve0 = √(k/t) and reserve1 = √(k·t).
  async depth(_client, _pool, state) {
    const x = Number(state.reserve0);
    const y = Number(state.reserve1);
    const k = x * y;
    return { price: y / x, flow: (t) => ({ amount0: Math.abs(Math.sqrt(k / t) - x), amount1: Math.abs(Math.sqrt(k * t) - y) }) };
  },
};
