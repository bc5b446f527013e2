import type { KeepaliveRules, SubscribeRequest, SymbolTable } from '../trades/protocol.js';
import type { LevelText, OrderBook } from './order-book.js';

/**
 * The hooks one exchange provides so the generic book stream can keep its order books: where to
 * connect, what to send, how to read each frame and how to check a book. One file per exchange
 * (collectors/exchanges/<exchange>/book.ts), in the spirit of trades/protocol.ts.
 */
export interface BookProtocol {
  /** Exchange name as used in configs and keys, e.g. `binance`. */
  readonly exchange: string;
  /** Production WebSocket base URL, used unless the config overrides it. */
  readonly defaultWsUrl: string;
  /** Most symbols one connection may carry; more are split over several collectors. */
  readonly maxSymbolsPerConnection: number;
  /** Least spacing between frames the client sends. */
  readonly minSendIntervalMs: number;
  readonly keepalive: KeepaliveRules;
  /** Levels per side the channel maintains; the local book is truncated to it (checksums cover it). */
  readonly depth?: number;
  /** Unified `BASE-QUOTE` → the exchange's symbol; throws a clear Error for a malformed symbol. */
  toExchangeSymbol(symbol: string): string;
  /** The URL to connect to for these symbols. */
  url(wsUrl: string, symbols: SymbolTable): string;
  /** The frames that subscribe to the symbols' book channel; `firstRequest` as in TradeProtocol.subscribeMessages. */
  subscribeMessages(symbols: SymbolTable, firstRequest?: number): SubscribeRequest[];
  /**
   * The frames that make the exchange send `symbol`'s book afresh (unsubscribe + subscribe);
   * empty when every frame of the channel is a full snapshot anyway (Binance depth20, OKX books5).
   */
  resyncMessages(symbol: string, symbols: SymbolTable): string[];
  /** Reads one text frame; throws when it cannot be parsed (the stream counts it and goes on). */
  onMessage(text: string, context: BookFrameContext): BookFrame;
  /** The exchange's checksum of a book, compared with `BookUpdate.checksum` after each update. */
  checksum?(book: OrderBook): number;
}

/** What `onMessage` gets besides the text. */
export interface BookFrameContext {
  symbols: SymbolTable;
  /** Wall clock when the frame arrived, ms. */
  receivedAt: number;
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

/** What one frame meant. A frame of no interest is `{}`. */
export interface BookFrame {
  books?: BookUpdate[];
  /** Key of an acknowledged subscribe request (see SubscribeRequest.acks). */
  ack?: string;
  /** The exchange refused something; `ack` names the request when the exchange says which. */
  error?: { ack?: string; reason: string };
  /** An application-level heartbeat or pong: proves the link, not the data. */
  heartbeat?: boolean;
  /** Text to send back at once (an answer to an application-level ping). */
  reply?: string;
  /** The server announced it is going away. */
  closing?: string;
}
