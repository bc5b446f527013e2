/**
 * A REST rate limit as exchanges count it: a weight budget per fixed window (Binance
 * REQUEST_WEIGHT per minute, rest-api.md "LIMITS"). The simulators refuse what goes over it.
 */
export class RequestBudget {
  private windowStart = 0;
  private used = 0;
  /** Requests refused for going over the limit since the start: a polite client keeps this at 0. */
  refused = 0;

  constructor(
    /** Weight allowed per window. */
    readonly limit: number,
    readonly windowMs: number,
  ) {}

  /** Spends `weight` now: undefined when it fits, else the seconds until the window resets (for Retry-After). */
  spend(weight: number, now = Date.now()): number | undefined {
    const start = now - (now % this.windowMs);
    if (start !== this.windowStart) {
      this.windowStart = start;
      this.used = 0;
    }
    if (this.used + weight > this.limit) {
      this.refused += 1;
      return Math.max(1, Math.ceil((start + this.windowMs - now) / 1000));
    }
    this.used += weight;
    return undefined;
  }

  /** Weight used in the current window (Binance reports it as X-MBX-USED-WEIGHT-1M). */
  usedWeight(): number {
    return this.used;
  }
}
