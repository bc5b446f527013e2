import { setTimeout as sleep } from 'node:timers/promises';
import { createPublicClient, custom, http, HttpRequestError, numberToHex, TimeoutError, type Address, type EIP1193RequestFn, type Hex, type PublicClient } from 'viem';
import { maskUrl } from '../../common/sanitize.js';
import { TokenBucket } from '../rest/token-bucket.js';

/** One chain as configured (`chains.<name>`). */
export interface ChainSettings {
  rpcUrl: string;
  wsUrl?: string;
  /** Blocks behind the head after which data is final (reorgs deeper than this are not repaired). */
  confirmations: number;
  /** Most blocks asked of one `eth_getLogs`. */
  maxBlockRange: number;
  /** How often the head is polled (ms). */
  pollIntervalMs: number;
  /** Requests per second this process sends the endpoint at most. */
  requestsPerSecond: number;
}

/**
 * The endpoint did not answer at all (refused, timed out, no such host): the chain is down or
 * unreachable from here, which says nothing about the config. viem says only "HTTP request failed."
 */
export class ChainUnreachable extends Error {
  constructor(url: string, cause: Error) {
    // The innermost cause says why (fetch's "fetch failed" wraps e.g. connect ECONNREFUSED).
    let root: unknown = cause;
    while (root instanceof Error && root.cause instanceof Error) root = root.cause;
    const why = root instanceof Error && root !== cause ? ((root as { code?: string }).code ?? root.message) : undefined;
    super(`cannot reach ${maskUrl(url)}: ${[(cause as { details?: string }).details ?? cause.message, why].filter(Boolean).join(': ')}`);
    this.name = 'ChainUnreachable';
  }
}

export interface BlockHeader {
  number: bigint;
  hash: Hex;
  parentHash: Hex;
  /** Seconds. */
  timestamp: number;
}

/** A log as `eth_getLogs` answers it (hex quantities). */
export interface RawLog {
  address: Address;
  topics: Hex[];
  data: Hex;
  blockNumber: Hex;
  blockHash: Hex;
  logIndex: Hex;
  transactionHash: Hex;
  removed?: boolean;
}

/**
 * Errors by which providers refuse an `eth_getLogs` range as too large, so it is split:
 * - geth, Infura (-32005): "query returned more than 10000 results. Try with this block range [0x.., 0x..]."
 * - Alchemy (-32602): "Log response size exceeded. ... this block range should work: [0x.., 0x..]"
 * - QuickNode (-32614): "eth_getLogs is limited to a 10,000 range"
 * - Ankr, Chainstack, public RPCs: "block range is too wide", "Block range limit exceeded",
 *   "exceed maximum block range: 50000", "range is too large, max is 1k blocks", "query timeout exceeded".
 */
const RANGE_ERROR =
  /more than \d+ results|response size (is )?exceeded|block range|range (is )?too (large|wide)|limited to a [\d,]+|max(imum)? block range|too many (results|logs)|query timeout/i;
/** The range Alchemy and Infura suggest in their error: `[0x1, 0x2]`. */
const SUGGESTED_RANGE = /\[(0x[0-9a-f]+),\s*(0x[0-9a-f]+)\]/i;

/** Thrown on a range error; carries the end block the provider suggested, if any. */
class RangeTooLarge extends Error {
  constructor(message: string, readonly suggestedTo?: bigint) {
    super(message);
  }
}

/** Counts of what the endpoint answered, for status and tests. */
export interface RpcCounters {
  requests: number;
  rangeSplits: number;
  rateLimited: number;
}

/**
 * JSON-RPC calls to one chain endpoint within a per-endpoint rate (a token bucket), waiting out
 * HTTP 429 (its Retry-After, else a growing delay) and splitting `eth_getLogs` ranges the
 * provider finds too large.
 */
export class ChainRpc {
  /** viem's client for contract reads: its requests go through `request` too (the rate, the 429 waits). */
  readonly client: PublicClient;
  readonly counters: RpcCounters = { requests: 0, rangeSplits: 0, rateLimited: 0 };
  private readonly bucket: TokenBucket;
  private readonly send: EIP1193RequestFn;

  constructor(
    readonly settings: ChainSettings,
    private readonly signal?: AbortSignal,
  ) {
    // viem retries on its own by default; here retries are ours (429 waits, range splits).
    this.send = http(settings.rpcUrl, { retryCount: 0, timeout: 30_000, batch: false })({ retryCount: 0 }).request;
    this.client = createPublicClient({ transport: custom({ request: ({ method, params }) => this.request(method, params as unknown[]) }, { retryCount: 0 }) });
    this.bucket = new TokenBucket({ capacity: Math.max(1, settings.requestsPerSecond), refillPerSecond: settings.requestsPerSecond });
  }

  /** One JSON-RPC request: rate limited, 429s waited out (at most 10 in a row). */
  async request<T>(method: string, params: unknown[]): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      await this.bucket.take(1, this.signal);
      this.counters.requests += 1;
      try {
        return (await this.send({ method, params } as never)) as T;
      } catch (err) {
        // An HTTP status means the endpoint answered (429s are waited out below); none means it did not.
        if (err instanceof TimeoutError || (err instanceof HttpRequestError && err.status === undefined)) throw new ChainUnreachable(this.settings.rpcUrl, err);
        const wait = rateLimitWait(err, attempt);
        if (wait === undefined || attempt >= 10) throw err;
        this.counters.rateLimited += 1;
        await sleep(wait, undefined, { signal: this.signal });
      }
    }
  }

  async blockNumber(): Promise<bigint> {
    return BigInt(await this.request<Hex>('eth_blockNumber', []));
  }

  async block(number: bigint): Promise<BlockHeader> {
    const b = await this.blockOrNull(number);
    if (!b) throw new Error(`block ${number} is not available from the endpoint`);
    return b;
  }

  /** The header of block `number`, or null when the chain is not that long (any more: a reorg). */
  async blockOrNull(number: bigint): Promise<BlockHeader | null> {
    const b = await this.request<{ hash: Hex; parentHash: Hex; timestamp: Hex } | null>('eth_getBlockByNumber', [numberToHex(number), false]);
    return b && { number, hash: b.hash, parentHash: b.parentHash, timestamp: Number(BigInt(b.timestamp)) };
  }

  /**
   * The logs of `addresses` with any of `topics` in `[from, to]`, in chain order: asked in ranges
   * of at most `maxBlockRange` blocks, a range the provider refuses split (at its suggested end, else
   * in halves) down to single blocks.
   */
  async logs(addresses: readonly Address[], topics: readonly Hex[], from: bigint, to: bigint): Promise<RawLog[]> {
    const out: RawLog[] = [];
    const max = BigInt(this.settings.maxBlockRange);
    let start = from;
    let span = max;
    while (start <= to) {
      const end = start + span - 1n < to ? start + span - 1n : to;
      try {
        out.push(...(await this.logRange(addresses, topics, start, end)));
        start = end + 1n;
        span = max; // a dense range does not make the next ones small
      } catch (err) {
        if (!(err instanceof RangeTooLarge) || end === start) throw err instanceof RangeTooLarge ? new Error(err.message) : err;
        this.counters.rangeSplits += 1;
        const suggested = err.suggestedTo !== undefined && err.suggestedTo >= start && err.suggestedTo < end ? err.suggestedTo - start + 1n : undefined;
        span = suggested ?? (end - start + 1n) / 2n;
      }
    }
    return out;
  }

  private async logRange(addresses: readonly Address[], topics: readonly Hex[], from: bigint, to: bigint): Promise<RawLog[]> {
    try {
      return await this.request<RawLog[]>('eth_getLogs', [
        { address: [...addresses], topics: [[...topics]], fromBlock: numberToHex(from), toBlock: numberToHex(to) },
      ]);
    } catch (err) {
      const text = errorText(err);
      if (!RANGE_ERROR.test(text)) throw err;
      const m = SUGGESTED_RANGE.exec(text);
      throw new RangeTooLarge(`eth_getLogs ${from}..${to}: ${text.split('\n')[0]}`, m ? BigInt(m[2]!) : undefined);
    }
  }
}

/** Everything an error says, including viem's nested causes (the provider's own message is the innermost). */
function errorText(err: unknown): string {
  const parts: string[] = [];
  for (let e = err as { message?: string; details?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    parts.push(e.details ?? '', e.message ?? '');
    if (parts.length > 20) break;
  }
  return parts.join(' ');
}

/**
 * How long to wait before trying again after `err`, or undefined when it is no rate limit: HTTP 429
 * (its Retry-After seconds or date), or a JSON-RPC "rate limit"/"too many requests" error.
 */
function rateLimitWait(err: unknown, attempt: number): number | undefined {
  let status: number | undefined;
  let retryAfter: string | null | undefined;
  for (let e = err as { status?: number; headers?: Headers; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.status !== undefined) {
      status = e.status;
      retryAfter = e.headers?.get?.('retry-after');
      break;
    }
  }
  const limited = status === 429 || (status === undefined && /rate limit|too many requests|request count exceeded/i.test(errorText(err)));
  if (!limited) return undefined;
  const backoff = Math.min(30_000, 250 * 2 ** attempt);
  if (retryAfter) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds)) return Math.min(60_000, Math.max(0, seconds * 1000));
    const date = Date.parse(retryAfter);
    if (Number.isFinite(date)) return Math.min(60_000, Math.max(0, date - Date.now()));
  }
  return backoff;
}
