/**
 * What a DEX protocol is to the pool collector (collectors/dex/pool-collector.ts): one object per
 * protocol (collectors/dex/<protocol>/index.ts), listed once in protocols.ts. The engine never
 * names a protocol; it reads pools, decodes their events and turns their state into samples
 * through this interface.
 */
import { formatUnits, type AbiEvent, type Address, type PublicClient } from 'viem';

export interface TokenInfo {
  address: Address;
  symbol: string;
  decimals: number;
}

/** A pool as read from the chain at start. */
export interface PoolInfo {
  address: Address;
  protocol: string;
  token0: TokenInfo;
  token1: TokenInfo;
  /** Fee in hundredths of a bip (3000 = 0.3 %), where the protocol has tiers; v2 pairs: 3000. */
  fee: number;
  /** v3: ticks between initializable ticks. */
  tickSpacing?: number;
  /** Prices are quoted per this token (the feed's `base`; default token0). */
  baseIsToken0: boolean;
}

/** One decoded event of a pool. */
export interface PoolEvent {
  eventName: string;
  args: Record<string, unknown>;
}

/**
 * The raw amounts of token0 and token1 that move through a pool (fee excluded) while its price
 * (raw token1 per raw token0) goes from where it is to `target` (see depth.ts).
 */
export type PriceFlow = (target: number) => { amount0: number; amount1: number };

/** What one swap moved, in raw token units, each as an absolute amount. */
export interface SwapAmounts {
  amount0: bigint;
  amount1: bigint;
}

/** A protocol: how its pools are read, which events change them, and what a sample holds. */
export interface DexProtocol<State = unknown> {
  /** As in configs: `uniswap-v2`. */
  readonly name: string;
  /** The events that change a pool's state (asked of `eth_getLogs`). */
  readonly events: readonly AbiEvent[];
  /**
   * Reads the pool's tokens, decimals and fee; throws an Error saying why when the address holds
   * no pool of this protocol (no code, a call reverts or answers nothing).
   */
  readPool(client: PublicClient, address: Address): Promise<Omit<PoolInfo, 'baseIsToken0'>>;
  /** The pool's state at the end of `blockNumber`, read with calls. */
  readState(client: PublicClient, pool: PoolInfo, blockNumber: bigint): Promise<State>;
  /** Applies one event (in chain order) to `state`; returns what it swapped when it is a swap. */
  apply(state: State, event: PoolEvent): SwapAmounts | undefined;
  /** The sample fields of a state, decimals applied where they are token amounts (volumes are added by the engine). */
  fields(state: State, pool: PoolInfo): Record<string, number>;
  /**
   * For `depth`: the pool's raw price (token1 per token0) in `state`, and the amounts that move through it
   * while the price goes to a target (reading what it needs at `blockNumber`, e.g. v3 initialized ticks).
   */
  depth(client: PublicClient, pool: PoolInfo, state: State, blockNumber: bigint): Promise<{ price: number; flow: PriceFlow }>;
}

/** Raw token units as a float of whole tokens: the decimal text rounded once (exact to the double). */
export function toUnits(raw: bigint, decimals: number): number {
  return Number.parseFloat(formatUnits(raw, decimals));
}

/** Quote per base from a price of token1 per token0 in whole tokens. */
export function quotePerBase(price1Per0: number, pool: PoolInfo): number {
  return pool.baseIsToken0 ? price1Per0 : 1 / price1Per0;
}

/** Calls a view function, turning a revert or an empty answer into `not a <protocol> pool`. */
export async function readPoolCall<T>(protocol: string, address: Address, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    const why = (err as { shortMessage?: string }).shortMessage ?? (err as Error).message;
    throw new Error(`${address} is not a ${protocol} pool: ${why.split('\n')[0]}`);
  }
}

/** Reads an ERC-20's symbol and decimals. */
export async function readToken(client: PublicClient, address: Address): Promise<TokenInfo> {
  const [symbol, decimals] = await Promise.all([
    client.readContract({ address, abi: ERC20_ABI, functionName: 'symbol' }),
    client.readContract({ address, abi: ERC20_ABI, functionName: 'decimals' }),
  ]);
  return { address, symbol, decimals };
}

const ERC20_ABI = [
  { type: 'function', name: 'symbol', stateMutability: 'view', inputs: [], outputs: [{ type: 'string' }] },
  { type: 'function', name: 'decimals', stateMutability: 'view', inputs: [], outputs: [{ type: 'uint8' }] },
] as const;

/** The protocols the pool collector reads, by name. */
export interface DexProtocolDirectory {
  readonly names: readonly string[];
  /** The protocol called `name`; throws naming the known ones. */
  get(name: string): DexProtocol;
}

export function protocolDirectory(protocols: readonly DexProtocol[]): DexProtocolDirectory {
  const byName = new Map(protocols.map((p) => [p.name, p]));
  const names = [...byName.keys()];
  return {
    names,
    get(name) {
      const p = byName.get(name);
      if (!p) throw new Error(`unknown DEX protocol ${JSON.stringify(name)}; known: ${names.join(', ')}`);
      return p;
    },
  };
}
