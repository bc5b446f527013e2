import type { ServiceStatus } from './data-collector.js';
import { formatDuration } from '../common/duration.js';

/** When the service stops being `ok` (config `health:`; all durations in ms). */
export interface HealthPolicy {
  /** A collector failing (backing off, or restarted without data yet) for longer: `degraded`. */
  graceMs: number;
  /** No collector stored anything for this long, once the service has run that long: `unhealthy`. */
  noDataForMs: number;
  /** Storage refusing writes for this long: `unhealthy` (any shorter failure: `degraded`). */
  storageFailingForMs: number;
  /** Samples waiting for storage above this: `degraded`. */
  maxBacklog: number;
}

export const DEFAULT_HEALTH_POLICY: HealthPolicy = { graceMs: 30_000, noDataForMs: 300_000, storageFailingForMs: 60_000, maxBacklog: 25_000 };

export type HealthState = 'ok' | 'degraded' | 'unhealthy';

/** `/health`'s body. */
export interface HealthReport {
  status: HealthState;
  /** Collectors that gave up for good (restart limit reached). */
  failed: string[];
  /** Collectors that wait out an exchange problem (maintenance, unreachable status endpoint). */
  degraded: string[];
  /** Why the status is not `ok`, one line each; empty when ok. */
  reasons: string[];
  /** Some collector stored data within `noDataFor` (or there are no collectors). */
  delivering: boolean;
}

/** The service's health from its status snapshot: what `/health` and `/health/ready` answer. */
export function evaluateHealth(status: ServiceStatus, policy: HealthPolicy = DEFAULT_HEALTH_POLICY, now = Date.now()): HealthReport {
  const unhealthy: string[] = [];
  const degradedReasons: string[] = [];
  const since = (iso: string) => now - Date.parse(iso);
  const { storage } = status;
  // Run by another daemon of the cluster: its health is that daemon's. Stopped by an operator: meant to be.
  const collectors = status.collectors.filter((c) => c.state !== 'standby' && !c.stoppedByOperator);

  if (status.state !== 'running') unhealthy.push(`the service is ${status.state}`);
  const failed = collectors.filter((c) => c.state === 'failed');
  if (collectors.length > 0 && failed.length === collectors.length) unhealthy.push('every collector has failed');
  const delivering = collectors.length === 0 || collectors.some((c) => c.lastDataAt !== null && since(c.lastDataAt) <= policy.noDataForMs);
  if (!delivering && since(status.startedAt) >= policy.noDataForMs) {
    unhealthy.push(`no collector stored data in the last ${formatDuration(policy.noDataForMs)}`);
  }

  if (storage.failingSince !== null) {
    const what =
      `storage (${storage.backend}) has refused writes for ${formatDuration(since(storage.failingSince))} ` +
      `(since ${storage.failingSince}): ${storage.lastError ?? 'unknown error'}`;
    (since(storage.failingSince) >= policy.storageFailingForMs ? unhealthy : degradedReasons).push(what);
  }
  const differentConfig = status.cluster?.differentConfig ?? [];
  if (differentConfig.length > 0) {
    degradedReasons.push(`cluster members ${differentConfig.join(', ')} run a config that makes other units: no unit is taken over until all run the same`);
  }
  if (storage.buffered > policy.maxBacklog) degradedReasons.push(`storage backlog of ${storage.buffered} samples is above ${policy.maxBacklog}`);

  for (const c of collectors) {
    if (c.state === 'failed') degradedReasons.push(`collector ${c.id} failed: ${c.lastError ?? 'unknown error'}`);
    else if (c.failingSince !== null && since(c.failingSince) > policy.graceMs) {
      const doing = c.state === 'backing-off' ? 'backing off' : 'restarted, no data yet';
      degradedReasons.push(
        `collector ${c.id} failing for ${formatDuration(since(c.failingSince))} (since ${c.failingSince}, ${doing}): ${c.lastError ?? 'unknown error'}`,
      );
    }
    if (c.degraded !== null) degradedReasons.push(`collector ${c.id}: ${c.degraded}`);
    // A collector missing some of its series (a symbol not listed, refused) is degraded, not ok.
    for (const f of c.failedSeries) degradedReasons.push(`collector ${c.id}: ${f.key} failed: ${f.reason}`);
  }

  return {
    status: unhealthy.length ? 'unhealthy' : degradedReasons.length ? 'degraded' : 'ok',
    failed: failed.map((c) => c.id),
    degraded: collectors.filter((c) => c.degraded !== null || c.failedSeries.length > 0).map((c) => c.id),
    reasons: [...unhealthy, ...degradedReasons],
    delivering,
  };
}

/** `/health/ready`: ok, or degraded while collectors still deliver. */
export function isReady(report: HealthReport): boolean {
  return report.status === 'ok' || (report.status === 'degraded' && report.delivering);
}
