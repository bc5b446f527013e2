/** One series a collector cannot collect now, as `/status` shows it. */
export interface FailedSeries {
  key: string;
  /** Unified `BASE-QUOTE`. */
  symbol: string;
  /** The exchange's reason, in its words where it gives them (not listed, subscription refused). */
  reason: string;
  /** Wall-clock ms it failed (first, when it failed again since). */
  since: number;
  /** Wall-clock ms it is tried again. */
  nextRetryAt: number;
}

/**
 * The symbols of one collector that cannot be collected (not listed, refused at subscribe,
 * delisted): each fails alone, with its reason, and is retried now and then in case it appears,
 * while the collector's other symbols go on.
 */
export class SymbolFailures {
  private readonly failed = new Map<string, FailedSeries>();

  /** Marks `symbol` failed for `reason`, to be retried in `retryInMs`; keeps `since` when it already was. */
  fail(key: string, symbol: string, reason: string, retryInMs: number, now = Date.now()): void {
    const since = this.failed.get(symbol)?.since ?? now;
    this.failed.set(symbol, { key, symbol, reason, since, nextRetryAt: now + retryInMs });
  }

  /** Clears `symbol`; true when it had failed. */
  recover(symbol: string): boolean {
    return this.failed.delete(symbol);
  }

  has(symbol: string): boolean {
    return this.failed.has(symbol);
  }

  /** Failed symbols whose retry is due at `now`. */
  due(now = Date.now()): string[] {
    return [...this.failed.values()].filter((f) => f.nextRetryAt <= now).map((f) => f.symbol);
  }

  get size(): number {
    return this.failed.size;
  }

  /** Every failed series, in the order they first failed. */
  list(): FailedSeries[] {
    return [...this.failed.values()];
  }

  /** One Error naming every failed symbol's reason: what a collector none of whose symbols can be collected fails with. */
  everyFailed(): Error {
    return new Error(this.list().map((f) => f.reason).join('; '));
  }
}
