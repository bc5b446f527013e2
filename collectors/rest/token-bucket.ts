import { setTimeout as sleep } from 'node:timers/promises';

/** An exchange's published REST limit: `capacity` weight, refilled at `refillPerSecond`. */
export interface RateLimitRules {
  /** Most weight spendable in a burst. */
  capacity: number;
  /** Weight regained per second. */
  refillPerSecond: number;
}

/**
 * A token bucket: requests spend their weight and wait while the bucket is short. Sized below an
 * exchange's published limit, it keeps a client under the limit without ever seeing a 429.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;
  /** Weight spent since creation (for status and benchmarks). */
  spent = 0;
  /** Total ms requests waited for tokens. */
  waitedMs = 0;

  constructor(
    readonly rules: RateLimitRules,
    private readonly now: () => number = Date.now,
  ) {
    if (!(rules.capacity > 0) || !(rules.refillPerSecond > 0)) throw new Error(`bad rate limit ${JSON.stringify(rules)}: capacity and refillPerSecond must be positive`);
    this.tokens = rules.capacity;
    this.updatedAt = now();
  }

  /** Weight available right now. */
  available(): number {
    this.refill();
    return this.tokens;
  }

  /** Waits until `weight` is available, then spends it. A weight above capacity waits for a full bucket. */
  async take(weight: number, signal?: AbortSignal): Promise<void> {
    const cost = Math.min(weight, this.rules.capacity);
    for (;;) {
      signal?.throwIfAborted();
      this.refill();
      if (this.tokens >= cost) {
        this.tokens -= cost;
        this.spent += weight;
        return;
      }
      const waitMs = Math.ceil(((cost - this.tokens) / this.rules.refillPerSecond) * 1000);
      this.waitedMs += waitMs;
      await sleep(waitMs, undefined, { signal });
    }
  }

  /**
   * Lowers the bucket to what the exchange says is left (Binance's X-MBX-USED-WEIGHT-1M): another
   * process on the same IP, or a restart, may have spent weight this bucket did not see.
   */
  reportRemaining(remaining: number): void {
    this.refill();
    this.tokens = Math.max(0, Math.min(this.tokens, remaining));
  }

  /** Empties the bucket for `ms` (after a 429 the exchange wants silence). */
  pause(ms: number): void {
    this.refill();
    this.tokens = -(ms / 1000) * this.rules.refillPerSecond;
  }

  private refill(): void {
    const now = this.now();
    const elapsed = Math.max(0, now - this.updatedAt);
    this.updatedAt = now;
    this.tokens = Math.min(this.rules.capacity, this.tokens + (elapsed / 1000) * this.rules.refillPerSecond);
  }
}
