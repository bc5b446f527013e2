/**
 * Fault switches every simulator's routes consult, flipped by tests and `collector simulate
 * --faults`: subscriptions refused the way the exchange refuses an unlisted symbol, and REST
 * answered 429 as if over the rate limit. Each lasts a given time or, without one, until switched off.
 */
export class FaultSwitches {
  private refuseUntil = 0;
  private throttleUntil = 0;
  /** Symbols (the exchange's spelling) refused alone, until when. */
  private readonly refuseSymbolUntil = new Map<string, number>();

  /** Refuses subscriptions for `forMs` from now (default: until called with 0). */
  refuseSubscriptions(forMs = Infinity, now = Date.now()): void {
    this.refuseUntil = now + forMs;
  }

  /** Refuses subscriptions to one symbol, spelled as the exchange spells it, for `forMs` from now (default: until called with 0). */
  refuseSymbol(symbol: string, forMs = Infinity, now = Date.now()): void {
    this.refuseSymbolUntil.set(symbol, now + forMs);
  }

  /** Whether subscriptions are being refused now: all of them, or `symbol`'s (the exchange's spelling). */
  refusingSubscriptions(symbol?: string, now = Date.now()): boolean {
    return now < this.refuseUntil || (symbol !== undefined && now < (this.refuseSymbolUntil.get(symbol) ?? 0));
  }

  /** Whether any subscription (all, or one symbol's) is being refused now. */
  refusingAny(now = Date.now()): boolean {
    return now < this.refuseUntil || [...this.refuseSymbolUntil.values()].some((until) => now < until);
  }

  /** Answers every REST request with 429 for `forMs` from now (default: until called with 0). */
  throttleRest(forMs = Infinity, now = Date.now()): void {
    this.throttleUntil = now + forMs;
  }

  /** While REST is throttled, the whole seconds left (the Retry-After to send); else undefined. */
  restRetryAfterSeconds(now = Date.now()): number | undefined {
    if (now >= this.throttleUntil) return undefined;
    // An open-ended throttle still names a wait, as exchanges do: a minute, Binance's weight window.
    return Number.isFinite(this.throttleUntil) ? Math.max(1, Math.ceil((this.throttleUntil - now) / 1000)) : 60;
  }
}
