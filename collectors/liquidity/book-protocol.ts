import type { ChannelFrame, ChannelProtocol } from '../ws/channel-protocol.js';
import type { SymbolTable } from '../ws/symbol-table.js';
import type { LevelText, OrderBook } from './order-book.js';

/**
 * The order-book channel of one exchange, so the generic book stream can keep its books: how to
 * subscribe, how to read each frame and how to check a book, over the exchange's connection rules
 * (`connection`). One file per exchange (collectors/exchanges/<exchange>/book.ts).
 */
export interface BookProtocol extends ChannelProtocol<BookFrame> {
  /** Levels per side the channel maintains; the local book is truncated to it (checksums cover it). */
  readonly depth?: number;
  /**
   * The frames that make the exchange send `symbol`'s book afresh (unsubscribe + subscribe);
   * empty when every frame of the channel is a full snapshot anyway (Binance depth20, OKX books5).
   */
  resyncMessages(symbol: string, symbols: SymbolTable): string[];
  /** The exchange's checksum of a book, compared with `BookUpdate.checksum` after each update. */
  checksum?(book: OrderBook): number;
}

/** One book message for one symbol. */
export interface BookUpdate {
  /** Unified `BASE-QUOTE`. */
  symbol: string;
  /** `snapshot` replaces the book; `delta` changes the levels it names (size 0 deletes). */
  type: 'snapshot' | 'delta';
  bids: readonly LevelText[];
  asks: readonly LevelText[];
  /** Exchange time of the message, ms, when it says. */
  time?: number;
  /**
   * The message's sequence number: a snapshot older than the book (a lower number) means the
   * stream went back in time; a delta is checked with `follows`.
   */
  sequence?: number;
  /** This snapshot starts its sequence afresh (Bybit: every snapshot, `u`=1 after a restart): not compared with the book's. */
  restartsSequence?: boolean;
  /** The sequence number of the message this delta must directly follow (Bybit u − 1, OKX prevSeqId). */
  follows?: number;
  /** The exchange's checksum of the book after this message (see BookProtocol.checksum). */
  checksum?: number;
}

/** What one frame of a book channel meant: its book messages, and its connection part. */
export interface BookFrame extends ChannelFrame {
  books?: BookUpdate[];
}
