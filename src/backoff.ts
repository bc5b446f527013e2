/** Restart policy: capped exponential backoff with jitter, reset after a clean run. */
export interface RestartPolicy {
  /** First delay (ms); doubles per consecutive failure. */
  initialDelayMs: number;
  /** Cap on the delay (ms). */
  maxDelayMs: number;
  /** A run that lasted this long (ms) counts as clean: the next failure starts from the first delay again. */
  resetAfterMs: number;
  /** Give up (state `failed`) after this many restarts; undefined restarts forever. */
  maxRestarts?: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { initialDelayMs: 1_000, maxDelayMs: 60_000, resetAfterMs: 60_000 };

/**
 * Delay before restart number `attempt` (0-based): the capped exponential step, with
 * "equal jitter" (half fixed, half random) so many collectors failing together spread out.
 */
export function backoffDelay(policy: RestartPolicy, attempt: number, random: () => number = Math.random): number {
  const step = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.min(attempt, 30));
  return Math.round(step / 2 + (step / 2) * random());
}
