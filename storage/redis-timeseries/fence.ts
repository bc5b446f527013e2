/**
 * Write fencing in Redis (HA across daemons): each series keeps, per unit of work, the highest
 * fencing token that has claimed or written it (`tsfence:{<series>}`, layout.ts fenceKey). A
 * fenced batch is one Lua script rather than the writer's MULTI: a MULTI cannot abort on a failed
 * check, a script runs atomically and can. Its keys all share the series' hash tag, so it runs on
 * one cluster node like the MULTI does.
 */
import { createHash } from 'node:crypto';
import { ErrorReply } from 'redis';
import { StorageError } from '../errors.js';
import type { WriteFence } from '../types.js';
import type { RedisConnection } from './connect.js';

/** How the write script's refusal starts (its error code), so the writer tells it from any other. */
const STALE_FENCE_CODE = 'STALEFENCE';

/**
 * TS.MADD's arguments per call inside the script: Lua's `unpack` returns fewer than 8,000 values
 * (Redis 7.0: "too many results to unpack" at 8,000), so big batches go in slices of whole
 * (key, timestamp, value) triples. The script is atomic, so the slices apply together.
 */
const MADD_ARGS_PER_CALL = 6000;

/**
 * Raises a unit's fence on a series to a token, never lowers it; answers the fence held after.
 * KEYS[1] the fence hash; ARGV[1] unit, ARGV[2] token.
 */
const CLAIM_SCRIPT = `
local held = redis.call('HGET', KEYS[1], ARGV[1])
if held and tonumber(held) >= tonumber(ARGV[2]) then return held end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return ARGV[2]
`;

/**
 * Writes one fenced batch of a series, or nothing: refused (an error reply starting with
 * STALEFENCE) when the series' fence for the unit is above the batch's token; else TS.MADD, the
 * fence raised to the token, the batch marker, the checkpoints, PUBLISH. Answers only TS.MADD's
 * per-sample refusals, as (0-based answer index, message) pairs: Lua sees an error inside
 * TS.MADD's array as a table with an `err` field. Handing back the whole array (an integer per
 * value) cost the server and the client more than TS.MADD's appends themselves.
 * KEYS: 1 fence hash, 2 batch marker, 3 checkpoint hash, then the field keys TS.MADD names.
 * ARGV: 1 unit, 2 token, 3 batch id, 4 marker TTL (s), 5 channel ('' for none), 6 message,
 * 7 number of checkpoints n, then n (collector, checkpoint) pairs, then TS.MADD's arguments.
 */
const WRITE_SCRIPT = `
local held = redis.call('HGET', KEYS[1], ARGV[1])
local token = tonumber(ARGV[2])
if held and token < tonumber(held) then
  return redis.error_reply('${STALE_FENCE_CODE} ' .. KEYS[1] .. ' holds token ' .. held .. ' for ' .. ARGV[1] .. ', above this write token ' .. ARGV[2])
end
local first = 8 + 2 * tonumber(ARGV[7])
local refused = {}
local answered = 0
for i = first, #ARGV, ${MADD_ARGS_PER_CALL} do
  local reply = redis.pcall('TS.MADD', unpack(ARGV, i, math.min(i + ${MADD_ARGS_PER_CALL - 1}, #ARGV)))
  if reply.err then return reply end
  for j = 1, #reply do
    local answer = reply[j]
    if type(answer) == 'table' and answer.err then
      refused[#refused + 1] = answered + j - 1
      refused[#refused + 1] = answer.err
    end
  end
  answered = answered + #reply
end
if not held or token > tonumber(held) then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4])
for i = 8, first - 1, 2 do redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]) end
if ARGV[5] ~= '' then redis.call('PUBLISH', ARGV[5], ARGV[6]) end
return refused
`;

/** A write refused because the series' fence for its unit is above the write's token. */
export class StaleFenceError extends StorageError {
  constructor(message: string, key?: string) {
    super(message, key);
    this.name = 'StaleFenceError';
  }
}

/** Throws a StorageError unless `fence` is a unit id and a non-negative safe integer token. */
export function checkFence(fence: WriteFence): void {
  if (typeof fence?.unit !== 'string' || fence.unit === '') throw new StorageError('bad write fence: unit must be a non-empty string');
  if (!Number.isSafeInteger(fence.token) || fence.token < 0) {
    throw new StorageError(`bad write fence of ${fence.unit}: token must be a non-negative safe integer, got ${String(fence.token)}`);
  }
}

/** A Lua script run by its SHA1, sent whole only when the node does not have it cached (NOSCRIPT). */
class Script {
  private readonly sha: string;

  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** Runs on the node of `keys[0]`'s slot (every key must share it). */
  /**
   * Runs on the node of `keys[0]`'s slot (every key must share it). `command` is the script's
   * keys and arguments after a 2-element head, which is filled in here (one array, not copied).
   */
  async run(client: RedisConnection, keys: readonly string[], command: string[]): Promise<unknown> {
    command[0] = 'EVALSHA';
    command[1] = this.sha;
    try {
      return await client.send(keys[0]!, command);
    } catch (err) {
      // A restarted or failed-over node, or another node of a cluster, has not seen it yet; EVAL caches it.
      if (!(err instanceof ErrorReply && err.message.startsWith('NOSCRIPT'))) throw err;
      command[0] = 'EVAL';
      command[1] = this.source;
      return client.send(keys[0]!, command);
    }
  }

  /** `EVALSHA <sha> <numkeys> <keys...>` to be followed by the arguments (see run). */
  static head(keys: readonly string[]): string[] {
    return ['', '', String(keys.length), ...keys];
  }
}

const claimScript = new Script(CLAIM_SCRIPT);
const writeScript = new Script(WRITE_SCRIPT);

/** Raises `fence.unit`'s fence on the series behind `fenceKey` to `fence.token`; resolves to the token held after (higher when another owner is ahead). */
export async function claimFence(client: RedisConnection, fenceKey: string, fence: WriteFence): Promise<number> {
  const keys = [fenceKey];
  return Number(await claimScript.run(client, keys, [...Script.head(keys), fence.unit, String(fence.token)]));
}

/** One fenced batch of one series, as the write script takes it. */
export interface FencedWrite {
  series: string;
  fence: WriteFence;
  fenceKey: string;
  ackKey: string;
  batchId: number;
  ackTtlSeconds: number;
  checkpointKey: string;
  /** Collector id → encoded checkpoint. */
  checkpoints: ReadonlyArray<[string, string]>;
  /** The field keys `madd` names. */
  fieldKeys: readonly string[];
  /** The TS.MADD command (its name first); empty for checkpoints alone. */
  madd: readonly string[];
  /** How many answers TS.MADD gives (one per value it sends). */
  answers: number;
  /** The Pub/Sub message to publish on the series' channel, if any. */
  publish?: string;
}

/**
 * Writes a fenced batch atomically; resolves to TS.MADD's answers in the shape its reply has
 * (one per value sent, an Error where it refused one), rejects with a StaleFenceError when the
 * fence is stale (nothing applied).
 */
export async function writeFenced(client: RedisConnection, write: FencedWrite): Promise<unknown[]> {
  const keys = [write.fenceKey, write.ackKey, write.checkpointKey, ...write.fieldKeys];
  const command = Script.head(keys);
  command.push(
    write.fence.unit,
    String(write.fence.token),
    String(write.batchId),
    String(write.ackTtlSeconds),
    write.publish === undefined ? '' : write.series,
    write.publish ?? '',
    String(write.checkpoints.length),
  );
  for (const [collector, checkpoint] of write.checkpoints) command.push(collector, checkpoint);
  for (let i = 1; i < write.madd.length; i++) command.push(write.madd[i]!);
  let refused: unknown;
  try {
    refused = await writeScript.run(client, keys, command);
  } catch (err) {
    if (err instanceof ErrorReply && err.message.startsWith(STALE_FENCE_CODE)) {
      throw new StaleFenceError(`stale write of ${write.series} refused: ${err.message.slice(STALE_FENCE_CODE.length + 1)}`, write.series);
    }
    throw err;
  }
  const answers: unknown[] = new Array<unknown>(write.answers).fill(null);
  if (Array.isArray(refused)) for (let i = 0; i + 1 < refused.length; i += 2) answers[Number(refused[i])] = new ErrorReply(String(refused[i + 1]));
  return answers;
}
