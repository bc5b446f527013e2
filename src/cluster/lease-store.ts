import type { RedisConnection } from '../../storage/redis-timeseries/index.js';

/**
 * The cluster's shared state in Redis, every key under one hash tag (one slot, so a Redis
 * Cluster runs the scripts too): a lease per unit (`SET ... NX PX`, done in a script that also
 * hands out the fencing token), the token counter per unit, and the members with their expiry.
 * Times come from Redis (`TIME`), so the daemons' clocks need not agree.
 */
const TAG = '{qc-cluster}';
const MEMBERS = `${TAG}:members`;
const PLANS = `${TAG}:plans`;
const leaseKey = (unit: string) => `${TAG}:lease:${unit}`;
const tokenKey = (unit: string) => `${TAG}:token:${unit}`;

const NOW_MS = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

// The token only grows, also across a Redis that lost its data: at least the last one + 1 and at
// least Redis' clock in ms (a fence stored elsewhere may hold a token from before the loss).
// '%.0f': Lua's tostring would print a 13-digit number in exponent notation.
const ACQUIRE = `${NOW_MS}
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local token = math.max(tonumber(redis.call('GET', KEYS[2]) or '0') + 1, now)
local text = string.format('%.0f', token)
redis.call('SET', KEYS[2], text)
local at = string.format('%.0f', now)
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. text .. ' ' .. at, 'NX', 'PX', ARGV[2])
return { text, at }`;

// Per lease: 1 renewed; 1 also when the key is gone (Redis restarted without its data, or it
// expired and nobody took it): put back as it was, since a newer token would have fenced it;
// 0 when another daemon holds it now.
const RENEW = `local out = {}
for i, key in ipairs(KEYS) do
  local value = redis.call('GET', key)
  if value == ARGV[i + 1] then redis.call('PEXPIRE', key, ARGV[1]) out[i] = 1
  elseif not value then redis.call('SET', key, ARGV[i + 1], 'PX', ARGV[1]) out[i] = 1
  else out[i] = 0 end
end
return out`;

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

// Members in a zset scored by expiry, each with its plan (what its config makes of the units) in a hash.
const HEARTBEAT = `${NOW_MS}
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
for _, gone in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)) do redis.call('HDEL', KEYS[2], gone) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local live = redis.call('ZRANGE', KEYS[1], 0, -1)
local out = {}
for i, member in ipairs(live) do out[2 * i - 1] = member out[2 * i] = redis.call('HGET', KEYS[2], member) or '' end
return out`;

/** A lease this daemon holds: the value it set (owner, token, when) and the token. */
export interface Lease {
  readonly unit: string;
  readonly token: number;
  /** Wall-clock ms (Redis' clock) it was acquired. */
  readonly acquiredAt: number;
  /** The stored value: renewals and the release compare it. */
  readonly value: string;
}

/** Who holds a unit's lease, as read from its value `<node> <token> <acquiredAt>`. */
export interface LeaseHolder {
  node: string;
  token: number;
  acquiredAt: number;
}

/** Redis commands sent (for the lease-traffic figure). */
export interface LeaseTraffic {
  commands: number;
}

export class LeaseStore {
  readonly traffic: LeaseTraffic = { commands: 0 };

  constructor(private readonly redis: RedisConnection) {}

  private run(script: string, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    this.traffic.commands += 1;
    // EVAL each time: the scripts are short, and EVALSHA's NOSCRIPT after a Redis restart is one more case to handle.
    return this.redis.send(keys[0] ?? MEMBERS, ['EVAL', script, String(keys.length), ...keys, ...args]);
  }

  /** The lease of `unit` for `node`, or undefined when someone holds it. */
  async acquire(unit: string, node: string, ttlMs: number): Promise<Lease | undefined> {
    const reply = await this.run(ACQUIRE, [leaseKey(unit), tokenKey(unit)], [node, String(ttlMs)]);
    if (!Array.isArray(reply)) return undefined;
    const [token, acquiredAt] = reply.map(String) as [string, string];
    return { unit, token: Number(token), acquiredAt: Number(acquiredAt), value: `${node} ${token} ${acquiredAt}` };
  }

  /** The lease `holder` holds on `unit`, e.g. to release one this daemon stopped using (see LeaseCoordinator). */
  leaseOf(unit: string, holder: LeaseHolder): Lease {
    return { unit, token: holder.token, acquiredAt: holder.acquiredAt, value: `${holder.node} ${holder.token} ${holder.acquiredAt}` };
  }

  /** Renews `leases` for `ttlMs` in one round trip; returns the units whose lease another daemon holds now. */
  async renew(leases: readonly Lease[], ttlMs: number): Promise<string[]> {
    if (leases.length === 0) return [];
    const replies = (await this.run(RENEW, leases.map((l) => leaseKey(l.unit)), [String(ttlMs), ...leases.map((l) => l.value)])) as unknown[];
    return leases.filter((_, i) => Number(replies[i]) !== 1).map((l) => l.unit);
  }

  /** Gives `lease` up at once (a clean stop, or rebalancing). */
  async release(lease: Lease): Promise<void> {
    await this.run(RELEASE, [leaseKey(lease.unit)], [lease.value]);
  }

  /** The current holder of each of `units` that has one. */
  async holders(units: readonly string[]): Promise<Map<string, LeaseHolder>> {
    const found = new Map<string, LeaseHolder>();
    if (units.length === 0) return found;
    this.traffic.commands += 1;
    const keys = units.map(leaseKey);
    const values = (await this.redis.send(keys[0]!, ['MGET', ...keys])) as Array<string | null>;
    values.forEach((value, i) => {
      const [node, token, acquiredAt] = (value ?? '').split(' ');
      if (node && token && acquiredAt) found.set(units[i]!, { node, token: Number(token), acquiredAt: Number(acquiredAt) });
    });
    return found;
  }

  /** Marks `node` alive for `ttlMs` with its `plan`; returns the live members and their plans. */
  async heartbeat(node: string, ttlMs: number, plan = ''): Promise<Map<string, string>> {
    const flat = ((await this.run(HEARTBEAT, [MEMBERS, PLANS], [node, String(ttlMs), plan])) as unknown[]).map(String);
    const members = new Map<string, string>();
    for (let i = 0; i < flat.length; i += 2) members.set(flat[i]!, flat[i + 1]!);
    return members;
  }

  /** Leaves the members at once. */
  async leave(node: string): Promise<void> {
    this.traffic.commands += 2;
    await this.redis.send(MEMBERS, ['ZREM', MEMBERS, node]);
    await this.redis.send(PLANS, ['HDEL', PLANS, node]);
  }
}
