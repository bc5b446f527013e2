import { isDeepStrictEqual } from 'node:util';
import type { DataSourceCollector } from '../collectors/types.js';
import type { CollectorConfig } from './config/load.js';

/** What a reload does to the collectors, by id. */
export interface ReloadPlan {
  /** In the new config only: started. */
  added: DataSourceCollector[];
  /** In the running config only: stopped (flushed, checkpoints saved) and forgotten. */
  removed: string[];
  /** In both, collecting something else or otherwise (symbols, endpoints, options): the old one stopped, the new one started. */
  changed: DataSourceCollector[];
  /** In both, the same: left running as they are (same object, same connections). */
  unchanged: string[];
}

/** Compares the running collectors' fingerprints with the new config's collectors (see collectorFingerprints). */
export function planReload(
  running: ReadonlyMap<string, string>,
  next: readonly DataSourceCollector[],
  nextFingerprints: ReadonlyMap<string, string>,
): ReloadPlan {
  const plan: ReloadPlan = { added: [], removed: [], changed: [], unchanged: [] };
  for (const collector of next) {
    const before = running.get(collector.id);
    if (before === undefined) plan.added.push(collector);
    else if (before === nextFingerprints.get(collector.id)) plan.unchanged.push(collector.id);
    else plan.changed.push(collector);
  }
  const kept = new Set(next.map((c) => c.id));
  plan.removed = [...running.keys()].filter((id) => !kept.has(id));
  return plan;
}

/** True when the reload changes no collector. */
export function touchesNoCollector(plan: ReloadPlan): boolean {
  return plan.added.length === 0 && plan.removed.length === 0 && plan.changed.length === 0;
}

/**
 * Sections a running daemon cannot take over, each with why: the store it holds open, the
 * address it serves on, the cluster it joined, the kinds it loaded.
 */
const FIXED: ReadonlyArray<[keyof CollectorConfig, string]> = [
  ['storage', 'the daemon holds the store open'],
  ['http', 'the daemon serves on that address with that token'],
  ['cluster', 'the daemon joined the cluster with those settings'],
  ['plugins', 'their kinds are loaded once, at start'],
];

/** A refusal per section the new config changes that cannot change while the daemon runs (values are not shown: they may hold secrets). */
export function fixedSettingProblems(running: CollectorConfig, next: CollectorConfig): string[] {
  return FIXED.filter(([field]) => !isDeepStrictEqual(running[field], next[field])).map(
    ([field, why]) => `${field}: cannot change while the daemon runs (${why}); restart the daemon to apply it, or put it back to reload the rest`,
  );
}
