import {
  createPublicClient,
  createTestClient,
  createWalletClient,
  getContract,
  http,
  type Address,
  type Hash,
  type PublicClient,
  type TestClient,
  type WalletClient,
} from 'viem';
import { foundry } from 'viem/chains';
import { startAnvil, type AnvilNode, type AnvilOptions } from './anvil.js';
import { simulatorArtifacts, type Artifact } from './contracts.js';

/** anvil's first dev account (its key is public): it deploys and sends everything. */
const DEPLOYER: Address = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
/** TickMath bounds, exclusive: a swap limited by them goes as far as its amount takes it. */
export const MIN_SQRT_RATIO = 4295128739n;
export const MAX_SQRT_RATIO = 1461446703485210103287273882157n;
const Q96 = 2n ** 96n;

export interface SimulatedToken {
  address: Address;
  symbol: string;
  decimals: number;
}

export interface SimulatedPool {
  address: Address;
  protocol: 'uniswap-v2' | 'uniswap-v3';
  token0: SimulatedToken;
  token1: SimulatedToken;
}

/** A v3 position the simulator minted (owned by the driver). */
export interface Position {
  tickLower: number;
  tickUpper: number;
  liquidity: bigint;
}

export interface ChainOptions extends AnvilOptions {
  /** Price of WETH in USDC both pools start at; default 2000. */
  price?: number;
  /**
   * Seconds each block's timestamp is after the previous one's; default 1. 0 keeps anvil's own
   * (the wall clock: blocks mined in one second share a timestamp, as on some L2s).
   */
  blockInterval?: number;
}

/**
 * A local chain for tests and `collector simulate --chain`: anvil with two tokens (WETH, 18
 * decimals; USDC, 6), a Uniswap v2 pair and a Uniswap v3 pool (0.3 %) of them, both with
 * liquidity, and a driver contract that swaps, mints and burns on them.
 */
export class SimulatedChain {
  readonly public: PublicClient;
  readonly wallet: WalletClient;
  readonly test: TestClient;
  weth!: SimulatedToken;
  usdc!: SimulatedToken;
  v2!: SimulatedPool;
  v3!: SimulatedPool;
  /** Positions minted on the v3 pool, in order. */
  readonly positions: Position[] = [];
  /** Ticks between initializable ticks of the v3 pool (60 at 0.3 %). */
  readonly tickSpacing = 60;
  /** The contract that swaps, mints and burns (and pays the pools). */
  driver!: Address;
  readonly artifacts = simulatorArtifacts();

  private constructor(readonly node: AnvilNode) {
    const transport = http(node.rpcUrl, { batch: false });
    // No cache: a test reads the head right after its last swap.
    this.public = createPublicClient({ chain: foundry, transport, pollingInterval: 50, cacheTime: 0 });
    this.wallet = createWalletClient({ chain: foundry, transport, account: DEPLOYER });
    this.test = createTestClient({ chain: foundry, mode: 'anvil', transport });
  }

  get rpcUrl(): string {
    return this.node.rpcUrl;
  }

  /** Starts anvil and deploys everything (about a second). */
  static async start(options: ChainOptions = {}): Promise<SimulatedChain> {
    const chain = new SimulatedChain(await startAnvil(options));
    try {
      const interval = options.blockInterval ?? 1;
      if (interval > 0) await chain.test.setBlockTimestampInterval({ interval });
      await chain.deploy(options.price ?? 2000);
    } catch (err) {
      await chain.stop();
      throw err;
    }
    return chain;
  }

  async stop(): Promise<void> {
    await this.node.stop();
  }

  private async deployContract(artifact: Artifact, args: readonly unknown[] = []): Promise<Address> {
    const hash = await this.wallet.deployContract({ abi: artifact.abi, bytecode: artifact.bytecode, args, account: DEPLOYER, chain: foundry });
    const receipt = await this.public.waitForTransactionReceipt({ hash, pollingInterval: 20 });
    if (!receipt.contractAddress) throw new Error('deployment made no contract');
    return receipt.contractAddress;
  }

  /** Sends a call and waits until it is mined; throws when it reverted. */
  async send(address: Address, artifact: Artifact, functionName: string, args: readonly unknown[]): Promise<Hash> {
    // A fixed allowance, not an estimate: queued for a block (automine off) the state may change first.
    // 10 M (a pool's deployment) when mined alone; 3 M when queued (a swap across many ticks; ten fit in a block).
    const gas = this.automine ? 10_000_000n : 3_000_000n;
    const hash = await this.wallet.writeContract({ address, abi: artifact.abi, functionName, args, account: DEPLOYER, chain: foundry, gas });
    if (!this.automine) return hash;
    const receipt = await this.public.waitForTransactionReceipt({ hash, pollingInterval: 20 });
    if (receipt.status !== 'success') throw new Error(`${functionName} reverted`);
    return hash;
  }

  private automine = true;

  /** With automine off, transactions wait in the mempool until `mine()`: several swaps in one block. */
  async setAutomine(on: boolean): Promise<void> {
    await this.test.setAutomine(on);
    this.automine = on;
  }

  /** Mines `blocks` blocks (with whatever waits in the mempool in the first). */
  async mine(blocks = 1): Promise<void> {
    await this.test.mine({ blocks });
  }

  private async deploy(price: number): Promise<void> {
    const a = this.artifacts;
    const token = async (symbol: string, decimals: number): Promise<SimulatedToken> => ({
      address: await this.deployContract(a.testToken, [symbol === 'WETH' ? 'Wrapped Ether' : 'USD Coin', symbol, decimals]),
      symbol,
      decimals,
    });
    this.weth = await token('WETH', 18);
    this.usdc = await token('USDC', 6);
    this.driver = await this.deployContract(a.poolDriver);
    for (const t of [this.weth, this.usdc]) await this.send(t.address, a.testToken, 'mint', [this.driver, 10n ** 40n]);
    const [token0, token1] = BigInt(this.weth.address) < BigInt(this.usdc.address) ? [this.weth, this.usdc] : [this.usdc, this.weth];
    // Raw price: token1 units per token0 unit.
    const usdcRaw = price * 10 ** (this.usdc.decimals - this.weth.decimals);
    const raw = token0 === this.weth ? usdcRaw : 1 / usdcRaw;

    const v2Factory = await this.deployContract(a.v2Factory, [DEPLOYER]);
    await this.send(v2Factory, a.v2Factory, 'createPair', [token0.address, token1.address]);
    const pair = (await this.public.readContract({ address: v2Factory, abi: a.v2Factory.abi, functionName: 'getPair', args: [token0.address, token1.address] })) as Address;
    this.v2 = { address: pair, protocol: 'uniswap-v2', token0, token1 };
    // 1000 WETH and its worth of USDC.
    const wethAmount = 1000n * 10n ** 18n;
    const usdcAmount = BigInt(Math.round(1000 * price)) * 10n ** 6n;
    const [amount0, amount1] = token0 === this.weth ? [wethAmount, usdcAmount] : [usdcAmount, wethAmount];
    await this.send(this.driver, a.poolDriver, 'v2Mint', [pair, amount0, amount1]);

    const v3Factory = await this.deployContract(a.v3Factory);
    await this.send(v3Factory, a.v3Factory, 'createPool', [token0.address, token1.address, 3000]);
    const pool = (await this.public.readContract({ address: v3Factory, abi: a.v3Factory.abi, functionName: 'getPool', args: [token0.address, token1.address, 3000] })) as Address;
    this.v3 = { address: pool, protocol: 'uniswap-v3', token0, token1 };
    const sqrtPriceX96 = BigInt(Math.round(Math.sqrt(raw) * 2 ** 48)) * 2n ** 48n;
    await this.send(pool, a.v3Pool, 'initialize', [sqrtPriceX96]);
    const tick = Math.floor(Math.log(raw) / Math.log(1.0001));
    const at = (t: number) => Math.floor(t / this.tickSpacing) * this.tickSpacing;
    // One wide position and a ladder of narrow ones, so large swaps cross many initialized ticks.
    // About 1000 WETH moves the price 10 % (either token order: L·Δ√P in raw units is symmetric).
    const liquidity = 10n ** 18n;
    await this.mintPosition(at(tick - 20_000), at(tick + 20_000), liquidity / 10n);
    for (let i = -10; i < 10; i++) await this.mintPosition(at(tick) + i * 300, at(tick) + i * 300 + 600, liquidity / 50n);
  }

  /** Mints liquidity on the v3 pool between two initializable ticks. */
  async mintPosition(tickLower: number, tickUpper: number, liquidity: bigint): Promise<Hash> {
    const hash = await this.send(this.driver, this.artifacts.poolDriver, 'v3Mint', [this.v3.address, tickLower, tickUpper, liquidity]);
    this.positions.push({ tickLower, tickUpper, liquidity });
    return hash;
  }

  /** Burns `liquidity` of a position minted before. */
  async burnPosition(position: Position, liquidity: bigint): Promise<Hash> {
    const hash = await this.send(this.driver, this.artifacts.poolDriver, 'v3Burn', [this.v3.address, position.tickLower, position.tickUpper, liquidity]);
    position.liquidity -= liquidity;
    return hash;
  }

  /** Sells `amountIn` raw units of token0 (zeroForOne) or token1 on the v2 pair. */
  v2Swap(zeroForOne: boolean, amountIn: bigint): Promise<Hash> {
    return this.send(this.driver, this.artifacts.poolDriver, 'v2Swap', [this.v2.address, zeroForOne, amountIn]);
  }

  /** Sells `amountIn` raw units of token0 (zeroForOne) or token1 on the v3 pool, with no price limit. */
  v3Swap(zeroForOne: boolean, amountIn: bigint): Promise<Hash> {
    const limit = zeroForOne ? MIN_SQRT_RATIO + 1n : MAX_SQRT_RATIO - 1n;
    return this.send(this.driver, this.artifacts.poolDriver, 'v3Swap', [this.v3.address, zeroForOne, amountIn, limit]);
  }

  /** Reads the v3 pool's `slot0` and `liquidity` at a block. */
  async v3State(blockNumber?: bigint): Promise<{ sqrtPriceX96: bigint; tick: number; liquidity: bigint }> {
    const pool = getContract({ address: this.v3.address, abi: this.artifacts.v3Pool.abi, client: this.public });
    const slot0 = (await pool.read.slot0({ blockNumber })) as readonly [bigint, number, ...unknown[]];
    const liquidity = (await pool.read.liquidity({ blockNumber })) as bigint;
    return { sqrtPriceX96: slot0[0], tick: slot0[1], liquidity };
  }

  /** Reads the v2 pair's reserves at a block. */
  async v2Reserves(blockNumber?: bigint): Promise<{ reserve0: bigint; reserve1: bigint }> {
    const r = (await this.public.readContract({ address: this.v2.address, abi: this.artifacts.v2Pair.abi, functionName: 'getReserves', blockNumber })) as readonly [
      bigint,
      bigint,
      number,
    ];
    return { reserve0: r[0], reserve1: r[1] };
  }

  /** The pool's price as a float of raw units, token1 per token0. */
  static priceOfSqrt(sqrtPriceX96: bigint): number {
    const s = Number(sqrtPriceX96) / Number(Q96);
    return s * s;
  }
}
