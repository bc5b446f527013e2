import type { ExchangeSimulator } from '../../collectors/simulator/controls.js';
import { parseDuration } from '../../common/duration.js';

/** One scheduled fault of `collector simulate --faults`. */
export interface FaultPlan {
  fault: FaultName;
  /** How often it strikes (ms); undefined for `reject`, which is set once at the start. */
  everyMs?: number;
  /** How long each strike lasts (ms): trades stalled, subscriptions refused, REST throttled or in maintenance; 0 for instant faults, Infinity for good. */
  forMs: number;
}

/** Each fault and how it is written: `<every>` always, `<for>` where the fault lasts. An array: a key like 429 would sort first in an object. */
const USAGES = [
  ['drop', 'drop:<every>'],
  ['malformed', 'malformed:<every>'],
  ['stall', 'stall:<every>[:<for>]'],
  ['reject', 'reject[:<for>]'],
  ['429', '429:<every>[:<for>]'],
  ['maintenance', 'maintenance:<every>[:<for>]'],
  ['corrupt-book', 'corrupt-book:<every>'],
] as const;

export type FaultName = (typeof USAGES)[number][0];

const USAGE = new Map<string, string>(USAGES);
// How long a stall, 429 or maintenance window lasts when the spec does not say.
const DEFAULT_FOR = '5s';

/**
 * Parses `drop:30s,malformed:10s,stall:60s:5s,reject:20s,429:2m:10s,maintenance:5m:30s,corrupt-book:15s`:
 * cut every connection every 30 s, send a broken frame every 10 s, every 60 s send no trades for
 * 5 s (connections stay open), refuse subscriptions for the first 20 s (`reject` alone: always),
 * every 2 min answer REST 429 for 10 s, every 5 min hold a 30-s maintenance, and every 15 s send
 * an order-book update that fails its checks.
 */
export function parseFaults(text: string): FaultPlan[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(parseFault);
}

/** One `<fault>:...` spec; throws naming the spec and what was expected. */
function parseFault(spec: string): FaultPlan {
  const [name, ...args] = spec.split(':');
  const usage = USAGE.get(name ?? '');
  if (usage === undefined) {
    throw new Error(`bad fault ${JSON.stringify(spec)}: expected ${[...USAGE.keys()].join('|')}, written ${[...USAGE.values()].join(', ')}; e.g. drop:30s or stall:60s:5s`);
  }
  const fault = name as FaultName;
  const bad = (why: string): Error => new Error(`bad fault ${JSON.stringify(spec)}: ${why}; expected ${usage}`);
  const duration = (text: string, what: string): number => {
    let ms: number;
    try {
      ms = parseDuration(text);
    } catch (err) {
      throw bad((err as Error).message);
    }
    if (ms <= 0) throw bad(`${what} must be positive`);
    return ms;
  };
  const lasts = usage.includes('<for>');
  if (fault === 'reject') {
    if (args.length > 1) throw bad('too many parts');
    return { fault, forMs: args[0] === undefined ? Infinity : duration(args[0], 'how long') };
  }
  if (args[0] === undefined) throw bad(`say how often, e.g. ${fault}:30s`);
  if (args.length > (lasts ? 2 : 1)) throw bad('too many parts');
  const everyMs = duration(args[0], 'the period');
  if (!lasts) return { fault, everyMs, forMs: 0 };
  const forMs = duration(args[1] ?? DEFAULT_FOR, 'how long');
  if (forMs >= everyMs) throw bad(`it must last less than its period (${forMs} ms ≥ ${everyMs} ms)`);
  return { fault, everyMs, forMs };
}

/** `stall every 60000 ms for 5000 ms`, `reject always`: a plan as `collector simulate` prints it. */
export function describeFault(plan: FaultPlan): string {
  if (plan.everyMs === undefined) return Number.isFinite(plan.forMs) ? `${plan.fault} for the first ${plan.forMs} ms` : `${plan.fault} always`;
  return `${plan.fault} every ${plan.everyMs} ms${plan.forMs ? ` for ${plan.forMs} ms` : ''}`;
}

/** Runs the planned faults against a simulator; returns a function that stops them. */
export function scheduleFaults(sim: ExchangeSimulator, plans: readonly FaultPlan[], onFault: (plan: FaultPlan) => void): () => void {
  const timers: NodeJS.Timeout[] = [];
  for (const plan of plans) {
    const fire = (): void => {
      onFault(plan);
      strike(sim, plan);
    };
    if (plan.everyMs === undefined) fire();
    else timers.push(setInterval(fire, plan.everyMs));
  }
  return () => timers.forEach(clearInterval);
}

/** One strike of a fault. */
function strike(sim: ExchangeSimulator, plan: FaultPlan): void {
  switch (plan.fault) {
    case 'drop':
      return sim.dropConnections();
    case 'malformed':
      return sim.sendMalformed();
    case 'stall':
      sim.pause();
      setTimeout(() => sim.resume(), plan.forMs).unref();
      return;
    case 'reject':
      return sim.refuseSubscriptions(plan.forMs);
    case '429':
      return sim.throttleRest(plan.forMs);
    case 'maintenance':
      sim.setMaintenance(true);
      setTimeout(() => sim.setMaintenance(false), plan.forMs).unref();
      return;
    case 'corrupt-book':
      return sim.corruptNextBookUpdate?.();
  }
}
