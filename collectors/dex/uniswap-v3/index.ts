import { parseAbi, type Address, type PublicClient } from 'viem';
import { quotePerBase, readPoolCall, readToken, type DexProtocol, type PoolInfo } from '../protocol.js';

const POOL_ABI = parseAbi([
  'function token0() view returns (address)',
  'function token1() view returns (address)',
  'function fee() view returns (uint24)',
  'function tickSpacing() view returns (int24)',
  'function liquidity() view returns (uint128)',
  'function tickBitmap(int16 wordPosition) view returns (uint256)',
  'function ticks(int24 tick) view returns (uint128 liquidityGross, int128 liquidityNet, uint256 feeGrowthOutside0X128, uint256 feeGrowthOutside1X128, int56 tickCumulativeOutside, uint160 secondsPerLiquidityOutsideX128, uint32 secondsOutside, bool initialized)',
  'function slot0() view returns (uint160 sqrtPriceX96, int24 tick, uint16 observationIndex, uint16 observationCardinality, uint16 observationCardinalityNext, uint8 feeProtocol, bool unlocked)',
  'event Initialize(uint160 sqrtPriceX96, int24 tick)',
  'event Mint(address sender, address indexed owner, int24 indexed tickLower, int24 indexed tickUpper, uint128 amount, uint256 amount0, uint256 amount1)',
  'event Burn(address indexed owner, int24 indexed tickLower, int24 indexed tickUpper, uint128 amount, uint256 amount0, uint256 amount1)',
  'event Swap(address indexed sender, address indexed recipient, int256 amount0, int256 amount1, uint160 sqrtPriceX96, uint128 liquidity, int24 tick)',
]);

interface PoolState {
  sqrtPriceX96: bigint;
  tick: number;
  /** Liquidity in range at the current tick. */
  liquidity: bigint;
}

const Q96 = 2 ** 96;

/** The initialized ticks in `[from, to]` with their liquidityNet, ascending: from the tick bitmap and `ticks`, at `blockNumber`. */
async function initializedTicks(client: PublicClient, pool: PoolInfo, from: number, to: number, blockNumber: bigint): Promise<Array<[number, number]>> {
  const spacing = pool.tickSpacing!;
  const compressed = (tick: number) => Math.floor(tick / spacing);
  const words: number[] = [];
  for (let w = compressed(from) >> 8; w <= compressed(to) >> 8; w++) words.push(w);
  const bitmaps = await Promise.all(
    words.map((w) => client.readContract({ address: pool.address, abi: POOL_ABI, functionName: 'tickBitmap', args: [w], blockNumber })),
  );
  const found: number[] = [];
  words.forEach((w, i) => {
    const bits = bitmaps[i]!;
    for (let b = 0; b < 256; b++) {
      if (((bits >> BigInt(b)) & 1n) === 0n) continue;
      const tick = (w * 256 + b) * spacing;
      if (tick >= from && tick <= to) found.push(tick);
    }
  });
  const nets = await Promise.all(
    found.map((tick) => client.readContract({ address: pool.address, abi: POOL_ABI, functionName: 'ticks', args: [tick], blockNumber })),
  );
  return found.map((tick, i) => [tick, Number(nets[i]![1])]);
}
const abs = (x: bigint) => (x < 0n ? -x : x);

/**
 * Uniswap v3 pools: price, tick and in-range liquidity from `Swap`; `Mint` and `Burn` change the
 * liquidity when their range holds the current tick (as the pool's own _modifyPosition does).
 */
export const uniswapV3: DexProtocol<PoolState> = {
  name: 'uniswap-v3',
  events: POOL_ABI.filter((x) => x.type === 'event'),

  async readPool(client: PublicClient, address: Address) {
    const read = <T>(functionName: 'token0' | 'token1' | 'fee' | 'tickSpacing' | 'slot0') =>
      readPoolCall('uniswap-v3', address, () => client.readContract({ address, abi: POOL_ABI, functionName }) as Promise<T>);
    const [token0, token1, fee, tickSpacing] = await Promise.all([
      read<Address>('token0'),
      read<Address>('token1'),
      read<number>('fee'),
      read<number>('tickSpacing'),
      read('slot0'),
    ]);
    const [t0, t1] = await Promise.all([readToken(client, token0), readToken(client, token1)]);
    return { address, protocol: 'uniswap-v3', token0: t0, token1: t1, fee, tickSpacing };
  },

  async readState(client, pool, blockNumber) {
    const [slot0, liquidity] = await Promise.all([
      client.readContract({ address: pool.address, abi: POOL_ABI, functionName: 'slot0', blockNumber }),
      client.readContract({ address: pool.address, abi: POOL_ABI, functionName: 'liquidity', blockNumber }),
    ]);
    return { sqrtPriceX96: slot0[0], tick: slot0[1], liquidity };
  },

  apply(state, event) {
    const a = event.args;
    switch (event.eventName) {
      case 'Initialize':
        state.sqrtPriceX96 = a.sqrtPriceX96 as bigint;
        state.tick = a.tick as number;
        return undefined;
      case 'Swap':
        state.sqrtPriceX96 = a.sqrtPriceX96 as bigint;
        state.tick = a.tick as number;
        state.liquidity = a.liquidity as bigint;
        return { amount0: abs(a.amount0 as bigint), amount1: abs(a.amount1 as bigint) };
      case 'Mint':
      case 'Burn': {
        const inRange = (a.tickLower as number) <= state.tick && state.tick < (a.tickUpper as number);
        if (inRange) state.liquidity += event.eventName === 'Mint' ? (a.amount as bigint) : -(a.amount as bigint);
        return undefined;
      }
      default:
        return undefined;
    }
  },

  fields(state, pool: PoolInfo) {
    const sqrt = Number(state.sqrtPriceX96) / Q96;
    const price1Per0 = sqrt * sqrt * 10 ** (pool.token0.decimals - pool.token1.decimals);
    return {
      price: quotePerBase(price1Per0, pool),
      liquidity: Number(state.liquidity),
      sqrt_price_x96: Number(state.sqrtPriceX96),
      tick: state.tick,
    };
  },

  async depth(client, pool, state, blockNumber) {
    const sqrtP = Number(state.sqrtPriceX96) / Q96;
    // The bands reach 1 % and the fee at most 1 % more: the initialized ticks within ±250 ticks (2.5 %) matter.
    const ticks = await initializedTicks(client, pool, state.tick - 250, state.tick + 250, blockNumber);
    const flow = (target: number) => {
      const end = Math.sqrt(target);
      let amount0 = 0;
      let amount1 = 0;
      let liquidity = Number(state.liquidity);
      const segment = (a: number, b: number) => {
        amount1 += liquidity * (b - a);
        amount0 += liquidity * (1 / a - 1 / b);
      };
      let at = sqrtP;
      if (end > sqrtP) {
        // Up: crossing tick t adds its liquidityNet.
        for (const [t, net] of ticks) {
          if (t <= state.tick) continue;
          const edge = Math.sqrt(1.0001 ** t);
          if (edge >= end) break;
          segment(at, edge);
          liquidity += net;
          at = edge;
        }
        segment(at, end);
      } else {
        // Down: crossing tick t (at or below the current one) takes its liquidityNet away.
        for (let i = ticks.length - 1; i >= 0; i--) {
          const [t, net] = ticks[i]!;
          if (t > state.tick) continue;
          const edge = Math.sqrt(1.0001 ** t);
          if (edge <= end) break;
          segment(edge, at);
          liquidity -= net;
          at = edge;
        }
        segment(end, at);
      }
      return { amount0, amount1 };
    };
    return { price: sqrtP * sqrtP, flow };
  },
};
