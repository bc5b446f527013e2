import { createHash } from 'node:crypto';

/** What one daemon sees at one moment: every unit, the live members and who holds each lease. */
export interface ClusterView {
  /** This daemon. */
  readonly self: string;
  /** Live members, this daemon included. */
  readonly members: readonly string[];
  readonly units: readonly string[];
  /** Unit → the member holding its lease; a unit missing here is free. */
  readonly owners: ReadonlyMap<string, string>;
}

/** What this daemon should do now: leases to give up (after stopping their units) and free units to take. */
export interface AssignmentPlan {
  readonly release: string[];
  readonly acquire: string[];
}

/**
 * Balanced and sticky: a daemon holds at most ⌈units / members⌉ units; it gives some up only while
 * another live member holds fewer than ⌊units / members⌋ (a daemon joining), and only its share of
 * that deficit, so the total moved is about what balances the load and nothing moves back and
 * forth. Free units (new, or their owner's lease ran out) are taken by the daemons below their
 * ceiling, each preferring the units that rank highest for it by rendezvous hashing: daemons
 * starting together mostly pick different units, and the leases (SET NX) settle any overlap.
 */
export function planAssignment(view: ClusterView): AssignmentPlan {
  const { self, units } = view;
  const members = [...new Set([...view.members, self])];
  const held = new Map<string, string[]>(members.map((m) => [m, []]));
  const free: string[] = [];
  for (const unit of units) {
    const owner = view.owners.get(unit);
    const list = owner === undefined ? undefined : held.get(owner);
    // A unit held by a member no longer live counts as its own until the lease runs out.
    if (owner === undefined) free.push(unit);
    else list?.push(unit);
  }
  const floor = Math.floor(units.length / members.length);
  const ceiling = Math.ceil(units.length / members.length);
  const mine = held.get(self)!;

  const release: string[] = [];
  const deficit = members.reduce((sum, m) => sum + Math.max(0, floor - held.get(m)!.length), 0) - free.length;
  if (mine.length > ceiling) {
    release.push(...byRank(self, mine).slice(ceiling).reverse());
  } else if (deficit > 0 && mine.length > floor) {
    const over = members.filter((m) => held.get(m)!.length > floor);
    const share = Math.ceil(deficit / over.length);
    release.push(...byRank(self, mine).reverse().slice(0, Math.min(share, mine.length - floor)));
  }
  const room = Math.max(0, ceiling - (mine.length - release.length));
  const acquire = room > 0 ? byRank(self, free).slice(0, room) : [];
  return { release, acquire };
}

/** `units` best first for `member` (rendezvous hashing). */
export function byRank(member: string, units: readonly string[]): string[] {
  const scored = units.map((unit) => [score(member, unit), unit] as const);
  return scored.sort((a, b) => b[0] - a[0]).map(([, unit]) => unit);
}

function score(member: string, unit: string): number {
  return createHash('sha1').update(member).update('\u0000').update(unit).digest().readUInt32BE(0);
}

/**
 * Static sharding (`cluster.shard: i/n`): the shard (1..count) that runs `unit`. Rendezvous
 * hashing over the shards: growing n to n+1 moves only about 1/(n+1) of the units.
 */
export function shardOf(unit: string, count: number): number {
  let best = 1;
  let bestScore = -1;
  for (let shard = 1; shard <= count; shard++) {
    const s = score(`shard-${shard}`, unit);
    if (s > bestScore) [best, bestScore] = [shard, s];
  }
  return best;
}
