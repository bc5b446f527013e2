import { setTimeout as sleep } from 'node:timers/promises';
import { decodeEventLog, numberToHex, toEventSelector, type Address, type Hex } from 'viem';
import type { Logger } from '../../common/logger.js';
import type { CollectorCheckpoint, DataCollectionStorage, Point } from '../../storage/types.js';
import { TradeCheckpoints } from '../trades/trade-checkpoints.js';
import { CollectorProgress, type DataSourceCollector } from '../types.js';
import { ChainRpc, type BlockHeader, type ChainSettings, type RawLog } from './chain-rpc.js';
import { depthFields } from './depth.js';
import { NewHeads } from './new-heads.js';
import { toUnits, type DexProtocol, type PoolInfo } from './protocol.js';

/** One pool to follow, as the feeds asked for it. */
export interface PoolTarget {
  /** `dex:<chain>:<pool alias or address>`. */
  key: string;
  address: Address;
  protocol: DexProtocol;
  /** Symbol or address of the token prices are quoted per; default token0. */
  base?: string;
  /** Start this far back when nothing is stored yet (ms); default: at the head. */
  historyMs?: number;
  /** `dex-depth:<chain>:<pool>` when the pool's depth is collected too. */
  depthKey?: string;
}

/** A pool being followed: what was read at start, its state, and its latest sample's totals. */
interface FollowedPool {
  target: PoolTarget;
  info: PoolInfo;
  state: unknown;
  /** First block whose events count (blocks before were stored by an earlier run, or are before the start). */
  from: bigint;
  /**
   * Totals of the latest sample: several blocks may share a timestamp (anvil, some L2s), and one
   * sample per millisecond holds them all; rewritten whole, so a repeated write changes nothing.
   */
  open?: { timestamp: number; volume0: bigint; volume1: bigint; swaps: number };
  /**
   * After a reorg: times of samples stored from replaced blocks, ascending. Each is rewritten once the
   * new blocks pass it: with the state the new chain had then and the swaps it holds at that time.
   */
  stale: number[];
}

/** How far back a restart goes when its checkpoint's block was replaced meanwhile (at least; 4 × confirmations if more). */
const REORG_DEPTH = 64;

/** Blocks whose hashes are kept to find where a reorg forked (one per commit). */
const RECENT_COMMITS = 256;

/** A checkpoint's block: `<number>:<hash>` in `lastTradeId`. */
function checkpointBlock(c: CollectorCheckpoint): bigint | undefined {
  const m = /^(\d+):/.exec(c.lastTradeId ?? '');
  return m ? BigInt(m[1]!) : undefined;
}

/** Resolves the feed's `base` against the pool's tokens; throws naming both tokens when it is neither. */
export function baseIsToken0(info: Omit<PoolInfo, 'baseIsToken0'>, base: string | undefined): boolean {
  if (base === undefined) return true;
  const is = (t: PoolInfo['token0']) => t.symbol.toLowerCase() === base.toLowerCase() || t.address.toLowerCase() === base.toLowerCase();
  if (is(info.token0)) return true;
  if (is(info.token1)) return false;
  throw new Error(`base ${base} is neither of the pool's tokens (${info.token0.symbol} ${info.token0.address}, ${info.token1.symbol} ${info.token1.address})`);
}

/** Reads a pool's tokens, decimals and fee; throws naming the address and protocol when it is no such pool. */
export async function openPool(rpc: ChainRpc, target: PoolTarget): Promise<PoolInfo> {
  const code = await rpc.request<Hex>('eth_getCode', [target.address, 'latest']);
  if (code === '0x') throw new Error(`${target.address} is not a ${target.protocol.name} pool: no contract at that address`);
  const info = await target.protocol.readPool(rpc.client, target.address);
  return { ...info, baseIsToken0: baseIsToken0(info, target.base) };
}

/**
 * Follows one chain's pools block by block (polling `eth_blockNumber`, then `eth_getLogs` for all
 * of them at once), and stores per pool and block timestamp a sample of its state after the block
 * and what was swapped in it. Each batch commits with its checkpoint (the last block read), so a
 * restart resumes at the next block: no block missed, no swap counted twice.
 */
export class PoolCollector implements DataSourceCollector {
  readonly kind = 'pool';
  readonly keys: string[];
  readonly progress = new CollectorProgress();
  /** RPC counters of the current run (requests, range splits, 429s). */
  rpc?: ChainRpc;
  /** The new heads subscription of the current run, when `wsUrl` is set. */
  heads?: NewHeads;
  /** Told after each commit: the first block of this run, the last one stored, the chain's head (`collector backfill`). */
  onBlocks?: (progress: { first: bigint; through: bigint; head: bigint }) => void;
  private readonly checkpoints: TradeCheckpoints;

  constructor(
    readonly id: string,
    readonly chain: string,
    private readonly settings: ChainSettings,
    private readonly targets: readonly PoolTarget[],
    private readonly logger: Logger,
    readonly staleAfterMs?: number,
  ) {
    this.keys = targets.flatMap((t) => [t.key, ...(t.depthKey ? [t.depthKey] : [])]);
    this.checkpoints = new TradeCheckpoints(id, logger);
  }

  forgetProgress(): void {
    this.checkpoints.forget();
  }

  async run(storage: DataCollectionStorage, signal: AbortSignal): Promise<void> {
    try {
      await this.follow(storage, signal);
    } catch (err) {
      if (!signal.aborted) throw err; // stopped mid-request (a 429 wait, a call): a clean stop
    }
  }

  private async follow(storage: DataCollectionStorage, signal: AbortSignal): Promise<void> {
    const rpc = (this.rpc = new ChainRpc(this.settings, signal));
    const saved = new Map<string, CollectorCheckpoint>();
    await this.checkpoints.begin(storage.collectorState, this.keys, (c) => saved.set(c.key, c));
    for (const c of this.checkpoints.current()) saved.set(c.key, c);
    const head = await rpc.blockNumber();
    // History reaches back from the head's time: the chain's clock, not this machine's.
    const headTime = (await rpc.block(head)).timestamp * 1000;
    const pools: FollowedPool[] = [];
    const initial: Point[] = [];
    let reorged = false;
    for (const target of this.targets) {
      const info = await openPool(rpc, target);
      const checkpoint = saved.get(target.key);
      let done = checkpoint ? checkpointBlock(checkpoint) : undefined;
      // The checkpoint's block replaced while stopped: go back to a block taken as final and rewrite from there.
      const replaced = done !== undefined && (await rpc.blockOrNull(done))?.hash !== checkpoint!.lastTradeId!.split(':')[1];
      if (replaced) done = undefined;
      const rewindTo = (n: bigint) => (n > head ? head : n < 0n ? 0n : n);
      let startAt = replaced
        ? rewindTo(checkpointBlock(checkpoint!)! - BigInt(Math.max(REORG_DEPTH, 4 * this.settings.confirmations)))
        : (done ?? (target.historyMs !== undefined ? await blockAt(rpc, headTime - target.historyMs, head) : head));
      // History reaching back before the pool existed starts where it was created.
      if (done === undefined && startAt < head) startAt = await firstBlockWithCode(rpc, target.address, startAt, head);
      const pool: FollowedPool = { target, info, state: await target.protocol.readState(rpc.client, info, startAt), from: startAt + 1n, stale: [] };
      if (replaced) {
        pool.stale = await storedTimes(storage, target, (await rpc.block(startAt)).timestamp * 1000);
        reorged = true;
      } else if (checkpoint?.lastTimestamp !== undefined) {
        pool.open = await storedTotals(storage, pool, checkpoint.lastTimestamp);
      } else {
        // Nothing stored yet: the state the pool starts from, so its price is known at once.
        const block = await rpc.block(startAt);
        pool.open = { timestamp: block.timestamp * 1000, volume0: 0n, volume1: 0n, swaps: 0 };
        initial.push(sampleOf(pool));
        if (target.depthKey) initial.push(await depthSample(rpc, pool, startAt, pool.open.timestamp));
      }
      pools.push(pool);
    }
    if (reorged) {
      this.progress.reorgs += 1;
      this.logger.warn({ chain: this.chain }, 'chain reorganization while stopped: the last block stored was replaced; samples are rewritten from a final block on');
    }
    const cursor = pools.reduce((min, p) => (p.from < min ? p.from : min), head + 1n);
    /** The block each commit reached, with its hash: a reorg is found by one of them no longer being canonical. */
    const recent: Array<{ number: bigint; hash: Hex }> = [];
    recent.push(await this.commit(storage, pools, initial, await rpc.block(cursor - 1n)));
    const first = cursor;
    this.onBlocks?.({ first, through: cursor - 1n, head });
    this.logger.info({ chain: this.chain, pools: pools.length, from: cursor.toString(), head: head.toString() }, 'following pools');

    // With `wsUrl`, new heads wake the loop at once; blocks and logs are still read over HTTP below.
    const heads = this.settings.wsUrl ? (this.heads = new NewHeads(this.settings.wsUrl, this.logger, signal, () => this.progress.openConnection())) : undefined;
    try {
      await this.followBlocks(storage, rpc, pools, recent, cursor, first, heads, signal);
    } finally {
      heads?.close();
    }
  }

  /** Reads the chain range by range from `cursor` on (waiting at the tip for the next head), until stopped. */
  private async followBlocks(
    storage: DataCollectionStorage,
    rpc: ChainRpc,
    pools: FollowedPool[],
    recent: Array<{ number: bigint; hash: Hex }>,
    cursor: bigint,
    first: bigint,
    heads: NewHeads | undefined,
    signal: AbortSignal,
  ): Promise<void> {
    const addresses = pools.map((p) => p.info.address);
    const topics = [...new Set(pools.flatMap((p) => p.target.protocol.events.map((e) => toEventSelector(e))))];
    const byAddress = new Map(pools.map((p) => [p.info.address.toLowerCase(), p]));
    while (!signal.aborted) {
      const tip = await rpc.blockNumber();
      this.progress.recordHeartbeat();
      const last = recent.at(-1)!;
      if ((await rpc.blockOrNull(last.number))?.hash !== last.hash) {
        cursor = (await this.rewind(storage, rpc, pools, recent)) + 1n;
        continue;
      }
      if (tip < cursor) {
        this.onBlocks?.({ first, through: cursor - 1n, head: tip });
        if (heads) await heads.wait(this.settings.pollIntervalMs);
        else await sleep(this.settings.pollIntervalMs, undefined, { signal }).catch(() => undefined);
        continue;
      }
      const to = tip - cursor + 1n > BigInt(this.settings.maxBlockRange) ? cursor + BigInt(this.settings.maxBlockRange) - 1n : tip;
      const logs = await rpc.logs(addresses, topics, cursor, to);
      const toBlock = await rpc.block(to);
      const points = await this.apply(logs, byAddress, rpc, toBlock);
      recent.push(await this.commit(storage, pools, points, toBlock));
      if (recent.length > RECENT_COMMITS) recent.shift();
      cursor = to + 1n;
      this.onBlocks?.({ first, through: to, head: tip });
    }
  }

  /**
   * A block read before was replaced: finds the newest committed block still on the chain, puts every
   * pool back to its state there, and marks the samples stored after it for rewriting (see `stale`).
   * Returns that block; reading goes on after it.
   */
  private async rewind(storage: DataCollectionStorage, rpc: ChainRpc, pools: FollowedPool[], recent: Array<{ number: bigint; hash: Hex }>): Promise<bigint> {
    const replaced = recent.at(-1)!;
    while (recent.length > 1 && (await rpc.blockOrNull(recent.at(-1)!.number))?.hash !== recent.at(-1)!.hash) recent.pop();
    // Deeper than the kept commits: the oldest is taken as final (the chain's confirmations are far fewer).
    const fork = await rpc.block(recent.at(-1)!.number);
    recent[recent.length - 1] = { number: fork.number, hash: fork.hash };
    const forkTime = fork.timestamp * 1000;
    for (const pool of pools) {
      pool.state = await pool.target.protocol.readState(rpc.client, pool.info, fork.number);
      if (pool.from > fork.number) pool.from = fork.number + 1n;
      const stored = await storedTimes(storage, pool.target, forkTime);
      pool.stale = [...new Set([...pool.stale, ...stored])].filter((t) => t > forkTime).sort((a, b) => a - b);
      if (pool.open && pool.open.timestamp > forkTime) pool.open = undefined;
    }
    this.progress.reorgs += 1;
    this.logger.warn(
      { chain: this.chain, replaced: replaced.number.toString(), fork: fork.number.toString(), rewritten: pools.reduce((n, p) => n + p.stale.length, 0) },
      'chain reorganization: samples after the fork are rewritten from the new blocks',
    );
    return fork.number;
  }

  /** Folds logs (chain order) into the pools' states, one sample per pool and block timestamp touched. */
  private async apply(logs: readonly RawLog[], byAddress: Map<string, FollowedPool>, rpc: ChainRpc, through: BlockHeader): Promise<Point[]> {
    const samples = new Map<string, Point>();
    const timestamps = new Map<string, number>();
    /**
     * Samples (and depth) of replaced blocks up to `time`, rewritten with the state the new chain has
     * by then: the pool's state at the end of block `block` (its ticks too: they change only with its events).
     */
    const rewriteStale = async (pool: FollowedPool, time: number, inclusive: boolean, block: bigint) => {
      while (pool.stale.length > 0 && (pool.stale[0]! < time || (inclusive && pool.stale[0] === time))) {
        const t = pool.stale.shift()!;
        if (pool.open?.timestamp !== t) pool.open = { timestamp: t, volume0: 0n, volume1: 0n, swaps: 0 };
        samples.set(`${pool.target.key}@${t}`, sampleOf(pool));
        if (pool.target.depthKey) samples.set(`${pool.target.depthKey}@${t}`, await depthSample(rpc, pool, block, t));
      }
    };
    // Depth once per block and pool: taken when the pool's next block begins (its state is then the block's end state).
    const depthDue = new Map<FollowedPool, { block: bigint; timestamp: number }>();
    const takeDepth = async (pool: FollowedPool) => {
      const due = depthDue.get(pool);
      if (!due) return;
      depthDue.delete(pool);
      samples.set(`${pool.target.depthKey}@${due.timestamp}`, await depthSample(rpc, pool, due.block, due.timestamp));
    };
    for (const log of logs) {
      if (log.removed) continue;
      const pool = byAddress.get(log.address.toLowerCase());
      const number = BigInt(log.blockNumber);
      if (!pool || number < pool.from) continue;
      let timestamp = timestamps.get(log.blockNumber);
      if (timestamp === undefined) {
        // From the header, not the log's `blockTimestamp`: anvil gives a block's logs the time their transactions arrived.
        timestamp = (await rpc.block(number)).timestamp * 1000;
        timestamps.set(log.blockNumber, timestamp);
      }
      let event;
      try {
        event = decodeEventLog({ abi: pool.target.protocol.events, data: log.data, topics: log.topics as [Hex, ...Hex[]] });
      } catch {
        if (this.progress.drop('unparsed')) this.logger.warn({ pool: pool.target.key, log: log.transactionHash }, 'a pool log that does not decode: skipped');
        continue;
      }
      if (pool.target.depthKey) {
        if (depthDue.get(pool)?.block !== number) await takeDepth(pool);
        depthDue.set(pool, { block: number, timestamp });
      }
      // Before this block's first event of the pool: its state is the previous block's end state.
      await rewriteStale(pool, timestamp, false, number - 1n);
      if (pool.stale[0] === timestamp) pool.stale.shift(); // rewritten below, from the new block's events
      if (pool.open?.timestamp !== timestamp) pool.open = { timestamp, volume0: 0n, volume1: 0n, swaps: 0 };
      const swapped = pool.target.protocol.apply(pool.state, { eventName: event.eventName as string, args: event.args as unknown as Record<string, unknown> });
      if (swapped) {
        pool.open.volume0 += swapped.amount0;
        pool.open.volume1 += swapped.amount1;
        pool.open.swaps += 1;
      }
      samples.set(`${pool.target.key}@${timestamp}`, sampleOf(pool));
    }
    for (const pool of depthDue.keys()) await takeDepth(pool);
    for (const pool of byAddress.values()) await rewriteStale(pool, through.timestamp * 1000, true, through.number);
    return [...samples.values()];
  }

  /** Stores `points` with every pool's checkpoint at block `through`, in one commit; returns the block committed. */
  private async commit(storage: DataCollectionStorage, pools: readonly FollowedPool[], points: Point[], through: BlockHeader): Promise<{ number: bigint; hash: Hex }> {
    const checkpoints = pools.map((p) => ({ key: p.target.key, lastTimestamp: p.open?.timestamp, lastTradeId: `${through.number}:${through.hash}` }));
    const result = await storage.storeMany(points, { checkpoint: { collector: this.id, checkpoints } });
    if (result.rejected.length > 0) throw new Error(`storage refused ${result.rejected.length} pool sample(s): ${result.rejected[0]!.reason}`);
    this.checkpoints.stored(checkpoints);
    if (points.length > 0) this.progress.recordStored(points.length, Math.max(...points.map((p) => p.timestamp)));
    return { number: through.number, hash: through.hash };
  }
}

/** A pool's sample: its state's fields and the totals swapped at the sample's timestamp. */
function sampleOf(pool: FollowedPool): Point {
  const open = pool.open!;
  const { token0, token1 } = pool.info;
  return {
    key: pool.target.key,
    timestamp: open.timestamp,
    value: {
      ...pool.target.protocol.fields(pool.state, pool.info),
      volume0: toUnits(open.volume0, token0.decimals),
      volume1: toUnits(open.volume1, token1.decimals),
      swaps: open.swaps,
    },
  };
}

/** The pool's depth at the end of block `block` (its state now), at that block's time. */
async function depthSample(rpc: ChainRpc, pool: FollowedPool, block: bigint, timestamp: number): Promise<Point> {
  const { price, flow } = await pool.target.protocol.depth(rpc.client, pool.info, pool.state, block);
  const quoted = pool.target.protocol.fields(pool.state, pool.info).price!; // the pool series' own price
  return { key: pool.target.depthKey!, timestamp, value: { price: quoted, ...depthFields(pool.info, price, flow) } };
}

/** Times of the pool's samples (and depth samples) stored after `since`, ascending. */
async function storedTimes(storage: DataCollectionStorage, target: PoolTarget, since: number): Promise<number[]> {
  const times = new Set<number>();
  for (const key of [target.key, ...(target.depthKey ? [target.depthKey] : [])]) {
    for (const [t] of await storage.fetch(key, since + 1, Number.MAX_SAFE_INTEGER)) times.add(t);
  }
  return [...times].sort((a, b) => a - b);
}

/** The totals of the sample stored at `timestamp` (a restart inside a run of same-timestamp blocks adds to them). */
async function storedTotals(storage: DataCollectionStorage, pool: FollowedPool, timestamp: number): Promise<FollowedPool['open']> {
  const [sample] = await storage.fetch(pool.target.key, timestamp, timestamp);
  const v = sample && typeof sample[1] === 'object' ? sample[1] : {};
  const raw = (x: number | undefined, decimals: number) => BigInt(Math.round((x ?? 0) * 10 ** decimals));
  return { timestamp, volume0: raw(v.volume0, pool.info.token0.decimals), volume1: raw(v.volume1, pool.info.token1.decimals), swaps: v.swaps ?? 0 };
}

/** The first block in `[from, to]` at whose end `address` holds code (`to` holds it). */
async function firstBlockWithCode(rpc: ChainRpc, address: Address, from: bigint, to: bigint): Promise<bigint> {
  if ((await rpc.request<Hex>('eth_getCode', [address, numberToHex(from)])) !== '0x') return from; // the usual case: one call
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) / 2n;
    if ((await rpc.request<Hex>('eth_getCode', [address, numberToHex(mid)])) !== '0x') hi = mid;
    else lo = mid + 1n;
  }
  return lo;
}

/** The last block at or before `ms` (binary search over headers; block 0 when all are later). */
async function blockAt(rpc: ChainRpc, ms: number, head: bigint): Promise<bigint> {
  let lo = 0n;
  let hi = head;
  while (lo < hi) {
    const mid = (lo + hi + 1n) / 2n;
    if ((await rpc.block(mid)).timestamp * 1000 <= ms) lo = mid;
    else hi = mid - 1n;
  }
  return lo;
}
