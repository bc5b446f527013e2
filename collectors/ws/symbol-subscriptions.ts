import type { Logger } from '../../common/logger.js';
import type { SymbolFailures } from '../symbol-failures.js';
import type { SubscribeRequest } from './channel-protocol.js';
import { SymbolTable } from './symbol-table.js';
import type { RequestSender } from './request-sender.js';
import type { RefusalTriage, SubscriptionAcks } from './subscription-acks.js';

// A symbol that cannot be collected is tried again this often, in case the exchange lists it or
// accepts it by then: rarely enough not to bother the exchange, often enough to notice a listing.
export const SYMBOL_RETRY_MS = 5 * 60_000;

/**
 * Which of a collector's symbols its connection subscribes: all but those that failed (not
 * listed, refused at subscribe, delisted), which are recorded in `failures` with their reason,
 * left out, and tried again every `retryMs`. The frames of a connection are read against `table`,
 * the symbols subscribed (or being subscribed) now.
 */
export class SymbolSubscriptions {
  private readonly live = new Set<string>();
  private liveTable: SymbolTable;

  constructor(
    private readonly all: SymbolTable,
    private readonly failures: SymbolFailures,
    private readonly keyOf: (symbol: string) => string,
    private readonly retryMs: number,
    private readonly logger: Logger,
    /** The protocol's subscribe requests for some symbols, numbered from `firstRequest`. */
    private readonly requestsFor: (symbols: SymbolTable, firstRequest: number) => SubscribeRequest[],
  ) {
    this.liveTable = all;
  }

  /** The symbols subscribed (or being subscribed) now, in both spellings. */
  get table(): SymbolTable {
    return this.liveTable;
  }

  /** Whether every symbol has failed: the collector then has nothing to collect. */
  get noneLeft(): boolean {
    return this.live.size === 0;
  }

  /** A table of some of the collector's symbols (a request's worth). */
  private tableOf(symbols: readonly string[]): SymbolTable {
    return new SymbolTable(symbols, (symbol) => this.all.toExchange(symbol));
  }

  /**
   * At the start of a run: subscribes every symbol but the unlisted ones (failed now) and those
   * that failed before and are not due for a retry yet.
   */
  beginRun(unlisted: ReadonlyMap<string, string>, now = Date.now()): void {
    this.live.clear();
    for (const symbol of this.all.unified) {
      const why = unlisted.get(symbol);
      if (why !== undefined) this.fail(symbol, why, now);
      else if (!this.failures.has(symbol) || this.failures.due(now).includes(symbol)) this.live.add(symbol);
    }
    this.rebuild();
  }

  /**
   * The failed symbols due for a retry that are listed now (the unlisted ones wait another
   * round), and the subscribed ones the exchange no longer lists (delisted: they fail). Returns
   * the symbols to subscribe again; they count as subscribed until an ack or a refusal says.
   */
  retries(unlisted: ReadonlyMap<string, string>, now = Date.now()): string[] {
    for (const symbol of this.live) {
      const why = unlisted.get(symbol);
      if (why !== undefined) this.fail(symbol, why, now);
    }
    const retry: string[] = [];
    for (const symbol of this.failures.due(now)) {
      const why = unlisted.get(symbol);
      if (why !== undefined) this.fail(symbol, why, now);
      else if (!this.live.has(symbol)) retry.push(symbol);
    }
    for (const symbol of retry) this.live.add(symbol);
    if (retry.length > 0) {
      this.rebuild();
      this.logger.info({ symbols: retry }, 'subscribing failed symbols again');
    }
    return retry;
  }

  /** Subscribes `symbols` through a connection's `sender`, in the exchange's batches or, to find which one it refuses, each alone. */
  subscribe(sender: RequestSender, symbols: readonly string[], oneByOne = false): void {
    for (const group of oneByOne ? symbols.map((symbol) => [symbol]) : [symbols]) {
      if (group.length > 0) sender.subscribe(this.requestsFor(this.tableOf(group), sender.nextRequestNumber));
    }
  }

  /**
   * The exchange refused a subscription on a connection: the symbols it concerns fail alone and
   * the others of a refused batch are subscribed again. Returns the Error to end the connection
   * with when the refusal names no symbol it can tell, or when every symbol has failed.
   */
  onRefusal(error: { ack?: string; reason: string }, acks: SubscriptionAcks, sender: RequestSender): Error | undefined {
    const triage = acks.triage(error, (symbol) => this.all.toExchange(symbol));
    if (!triage) return acks.rejection(error);
    const retry = this.refused(triage);
    if (this.noneLeft) return this.failures.everyFailed();
    this.subscribe(sender, retry, triage.oneByOne);
    return undefined;
  }

  /** Acks arrived for `symbols`: those that had failed are collected again. */
  acknowledged(symbols: readonly string[]): void {
    for (const symbol of symbols) {
      if (this.failures.recover(symbol)) this.logger.info({ symbol }, 'a failed symbol is subscribed again: collecting it');
    }
  }

  /** Fails the refused symbols; returns those to subscribe again (a refused batch's innocent ones). */
  private refused(triage: RefusalTriage, now = Date.now()): string[] {
    for (const { symbol, reason } of triage.refused) this.fail(symbol, reason, now);
    return triage.retry.filter((symbol) => this.live.has(symbol));
  }

  /** Marks `symbol` failed for `reason` and stops reading it; the others go on. */
  fail(symbol: string, reason: string, now = Date.now()): void {
    const wasFailed = this.failures.has(symbol);
    this.failures.fail(this.keyOf(symbol), symbol, reason, this.retryMs, now);
    if (this.live.delete(symbol)) this.rebuild();
    if (!wasFailed) this.logger.warn({ symbol, reason, retryInMs: this.retryMs }, 'cannot collect this symbol: the others go on; retrying it later');
  }

  private rebuild(): void {
    this.liveTable = this.tableOf(this.all.unified.filter((symbol) => this.live.has(symbol)));
  }
}
