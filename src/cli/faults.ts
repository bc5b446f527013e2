import type { ExchangeSimulator } from '../../collectors/exchanges/simulators.js';
import { parseDuration } from '../duration.js';

/** One scheduled fault of `collector simulate --faults`. */
export interface FaultPlan {
  fault: 'drop' | 'malformed' | 'stall';
  everyMs: number;
  /** For `stall`: how long trades stop flowing. */
  forMs: number;
}

const FAULTS = ['drop', 'malformed', 'stall'] as const;

/**
 * Parses `drop:30s,malformed:10s,stall:60s:5s`: cut every connection every 30 s, send a
 * broken frame every 10 s, and every 60 s send no trades for 5 s (connections stay open).
 */
export function parseFaults(text: string): FaultPlan[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((spec) => {
      const [fault, every, span] = spec.split(':');
      if (!FAULTS.includes(fault as FaultPlan['fault'])) {
        throw new Error(`bad fault ${JSON.stringify(spec)}: expected ${FAULTS.join('|')}:<every>[:<for>], e.g. drop:30s or stall:60s:5s`);
      }
      if (every === undefined) throw new Error(`bad fault ${JSON.stringify(spec)}: say how often, e.g. ${fault}:30s`);
      const everyMs = parseDuration(every);
      if (everyMs <= 0) throw new Error(`bad fault ${JSON.stringify(spec)}: the period must be positive`);
      const forMs = fault === 'stall' ? parseDuration(span ?? '5s') : 0;
      return { fault: fault as FaultPlan['fault'], everyMs, forMs };
    });
}

/** Runs the planned faults against a simulator; returns a function that stops them. */
export function scheduleFaults(sim: ExchangeSimulator, plans: readonly FaultPlan[], onFault: (plan: FaultPlan) => void): () => void {
  const timers = plans.map((plan) =>
    setInterval(() => {
      onFault(plan);
      if (plan.fault === 'drop') sim.dropConnections();
      else if (plan.fault === 'malformed') sim.sendMalformed();
      else {
        sim.pause();
        setTimeout(() => sim.resume(), plan.forMs).unref();
      }
    }, plan.everyMs),
  );
  return () => timers.forEach(clearInterval);
}
