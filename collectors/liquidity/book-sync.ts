import type { BookUpdate } from './book-protocol.js';
import { OrderBook } from './order-book.js';

/** What applying one update did to a book. */
export type SyncOutcome =
  /** Applied; the book is consistent. */
  | { status: 'applied' }
  /** A delta that came while waiting for a snapshot: dropped. */
  | { status: 'waiting' }
  /** The book failed a check; it was cleared and waits for a new snapshot. */
  | { status: 'inconsistent'; reason: string };

/**
 * One symbol's book and whether it can be trusted. Only a snapshot makes it consistent; a delta
 * that skips a sequence number, a sequence going back, a checksum mismatch or a crossed book
 * clear it until the next snapshot, so nothing is computed from a book known to be wrong.
 */
export class SyncedBook {
  readonly book: OrderBook;
  private consistent = false;
  private lastSequence: number | undefined;
  /** Exchange time (ms) of the newest update applied, when the exchange says. */
  lastTime: number | undefined;

  constructor(
    depth: number | undefined,
    private readonly checksum?: (book: OrderBook) => number,
  ) {
    this.book = new OrderBook(depth);
  }

  /** True when the book was built from a snapshot and every check since has passed. */
  get synced(): boolean {
    return this.consistent;
  }

  /** Applies one update and checks the result. */
  apply(update: BookUpdate): SyncOutcome {
    if (update.type === 'snapshot') {
      if (!update.restartsSequence && update.sequence !== undefined && this.lastSequence !== undefined && update.sequence < this.lastSequence) {
        return this.invalidate(`snapshot sequence ${update.sequence} is older than ${this.lastSequence}`);
      }
      this.book.replace(update.bids, update.asks);
    } else {
      if (!this.consistent) return { status: 'waiting' };
      if (update.follows !== undefined && this.lastSequence !== undefined && update.follows !== this.lastSequence) {
        return this.invalidate(`sequence gap: update follows ${update.follows} but the book is at ${this.lastSequence}`);
      }
      this.book.apply('bid', update.bids);
      this.book.apply('ask', update.asks);
    }
    if (update.checksum !== undefined && this.checksum) {
      const local = this.checksum(this.book);
      if (local !== update.checksum) return this.invalidate(`checksum ${update.checksum} does not match the local book's ${local}`);
    }
    if (this.book.isCrossed()) return this.invalidate('the book is crossed (best bid at or above best ask)');
    this.consistent = true;
    if (update.sequence !== undefined) this.lastSequence = update.sequence;
    if (update.time !== undefined) this.lastTime = update.time;
    return { status: 'applied' };
  }

  /** Forgets the book (a new connection will send a snapshot). */
  reset(): void {
    this.book.clear();
    this.consistent = false;
    this.lastSequence = undefined;
  }

  private invalidate(reason: string): SyncOutcome {
    this.book.clear();
    this.consistent = false;
    // A snapshot after a resync starts a new sequence (Bybit restarts at u=1), so no number carries over.
    this.lastSequence = undefined;
    return { status: 'inconsistent', reason };
  }
}
