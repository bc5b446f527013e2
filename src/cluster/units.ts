import type { DataSourceCollector } from '../../collectors/types.js';

/**
 * One unit of work of a cluster: what one daemon runs under one lease. A collector is a unit
 * (one connection's worth of symbols, at most `cluster.unitSymbols`): connection sharing still
 * pays and units still spread. Collectors that feed each other inside a process (candles built
 * from trades) join one unit.
 */
export interface WorkUnit {
  /** The id of its first collector: stable while the config is. */
  readonly id: string;
  readonly collectors: readonly DataSourceCollector[];
  /** Every series its collectors write: the new owner fences them before it starts. */
  readonly keys: readonly string[];
}

/** The units of `collectors`, in their order. */
export function workUnits(collectors: readonly DataSourceCollector[]): WorkUnit[] {
  // Union-find over collectors: one whose inputs another writes joins that one's unit.
  const parent = collectors.map((_, i) => i);
  const root = (i: number): number => (parent[i] === i ? i : (parent[i] = root(parent[i]!)));
  const writerOf = new Map<string, number>();
  collectors.forEach((c, i) => c.keys.forEach((key) => writerOf.set(key, i)));
  collectors.forEach((c, i) => {
    for (const input of c.inputs ?? []) {
      const writer = writerOf.get(input);
      if (writer !== undefined) parent[Math.max(root(i), root(writer))] = Math.min(root(i), root(writer));
    }
  });
  const groups = new Map<number, DataSourceCollector[]>();
  collectors.forEach((c, i) => {
    const r = root(i);
    const group = groups.get(r);
    if (group) group.push(c);
    else groups.set(r, [c]);
  });
  return [...groups.values()].map((members) => ({
    id: members[0]!.id,
    collectors: members,
    keys: members.flatMap((c) => c.keys),
  }));
}
