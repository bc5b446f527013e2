import type { Logger } from '../../common/logger.js';
import type { DataCollectionStorage } from '../../storage/types.js';
import { CollectorProgress, type DataSourceCollector } from '../types.js';
import { Channel, type ChannelCollectorOptions } from '../ws/channel.js';
import type { ChannelConnection } from '../ws/channel-connection.js';
import type { BookFrame, BookProtocol, BookUpdate } from './book-protocol.js';
import { SyncedBook } from './book-sync.js';
import { liquidityKey } from './depth.js';
import { validLevels } from './levels.js';
import { declareLiquiditySeries, everyInterval, storeSnapshots } from './snapshot-store.js';

// A book failing this often on one connection will not heal by resubscribing: reconnect instead.
const MAX_RESYNCS_PER_MINUTE = 10;

export interface BookStreamOptions extends ChannelCollectorOptions<BookProtocol> {
  /** A snapshot of every consistent book is stored at each multiple of this (ms). */
  intervalMs: number;
}

/** One connection's state. */
interface Connection {
  channel: ChannelConnection<BookFrame>;
  /** Times of this connection's resyncs in the last minute. */
  recentResyncs: number[];
}

/**
 * Keeps the order books of one exchange's symbols over one WebSocket, driven by its BookProtocol
 * hooks, and stores a liquidity snapshot of each consistent book every interval into
 * `liquidity:<exchange>:<SYMBOL>`. A book failing its sequence or checksum check is cleared,
 * counted in `progress.resyncs` and requested afresh; it is not stored until it is whole again.
 */
export class BookStreamCollector implements DataSourceCollector {
  readonly kind = 'liquidity';
  readonly id: string;
  readonly keys: readonly string[];
  readonly staleAfterMs?: number;
  readonly progress = new CollectorProgress();

  private readonly protocol: BookProtocol;
  private readonly exchange: string;
  // Outlives a run: its symbols, which of them the exchange refused, and how frames are read and counted.
  private readonly channel: Channel<BookFrame>;
  private readonly intervalMs: number;
  private readonly logger: Logger;
  private readonly books: ReadonlyMap<string, SyncedBook>;

  constructor(options: BookStreamOptions) {
    const { protocol } = options;
    const exchange = protocol.connection.exchange;
    this.channel = new Channel(options, 'book', this.progress, (symbol) => liquidityKey(exchange, symbol));
    this.id = options.id;
    this.protocol = protocol;
    this.exchange = exchange;
    const symbols = this.channel.symbols.unified;
    this.keys = symbols.map((symbol) => liquidityKey(exchange, symbol));
    this.staleAfterMs = options.staleAfterMs;
    this.intervalMs = options.intervalMs;
    this.logger = this.channel.logger;
    const checksum = protocol.checksum?.bind(protocol);
    this.books = new Map(symbols.map((symbol) => [symbol, new SyncedBook(protocol.depth, checksum)]));
  }

  /** Frames that could not be parsed since this collector was created. */
  get unparsedFrames(): number {
    return this.progress.dropped.unparsed;
  }

  /** Whether `symbol`'s book is currently consistent (and so snapshotted). */
  isSynced(symbol: string): boolean {
    return this.books.get(symbol)?.synced ?? false;
  }

  /**
   * Keeps the books until `signal` aborts; throws saying why the connection ended otherwise. Each
   * frame is applied as it arrives and snapshots are taken from the books: nothing is held for
   * storage (bufferedFrames stays 0); its socket is counted by the channel.
   */
  async run(storage: DataCollectionStorage, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    const { subscriptions } = this.channel;
    subscriptions.beginRun(new Map());
    // Every symbol refused and none due for a retry: the run fails, naming each symbol's reason.
    if (subscriptions.noneLeft) throw this.progress.failures.everyFailed();
    await declareLiquiditySeries(storage, this.exchange, this.channel.symbols.unified);
    // A new connection sends new snapshots: nothing of the previous one is trusted.
    this.books.forEach((book) => book.reset());
    const socket = await this.channel.open(signal);
    if (!socket) return;

    const endOfRun = new AbortController();
    const runSignal = AbortSignal.any([signal, endOfRun.signal]);
    const connection = { recentResyncs: [] as number[] } as Connection;
    connection.channel = this.channel.connect(socket, runSignal, (frame) => this.onFrame(frame, connection));
    // Only refusals fail a book's symbol (its symbols are not checked against a list): nothing is unlisted.
    const retries = setInterval(() => {
      if (this.progress.failures.size > 0) connection.channel.retryFailedSymbols();
    }, this.channel.retryCheckMs);
    const snapshots = everyInterval(this.intervalMs, runSignal, (tick) => this.storeSynced(storage, tick)).catch((err: unknown) => {
      connection.channel.fail(err instanceof Error ? err : new Error(String(err)));
    });
    try {
      await connection.channel.done;
    } finally {
      clearInterval(retries);
      endOfRun.abort();
      await snapshots;
    }
  }

  /** Stores a snapshot of every consistent book at `tick`. */
  private async storeSynced(storage: DataCollectionStorage, tick: number): Promise<void> {
    const views = [...this.books].filter(([, synced]) => synced.synced).map(([symbol, { book, lastTime }]) => ({ symbol, bids: book.bids, asks: book.asks, time: lastTime }));
    if (views.length > 0) await storeSnapshots(storage, this.exchange, views, tick, this.progress, this.logger);
  }

  /** A frame's book messages, once the channel has handled its connection part. */
  private onFrame(frame: BookFrame, connection: Connection): void {
    for (const update of frame.books ?? []) this.applyUpdate(update, connection);
  }

  /** Applies one update to its book; an inconsistent book is counted and requested afresh. */
  private applyUpdate(update: BookUpdate, connection: Connection): void {
    const synced = this.books.get(update.symbol);
    if (!synced) return;
    let outcome;
    try {
      // A refused level is left out; where the exchange sends a checksum, the book's check then tells whether that matters.
      outcome = synced.apply(validLevels(update, this.exchange, this.progress, this.logger));
    } catch (err) {
      // A level that cannot be read leaves the book half-applied: it is not trusted any more.
      synced.reset();
      outcome = { status: 'inconsistent' as const, reason: err instanceof Error ? err.message : String(err) };
    }
    if (outcome.status !== 'inconsistent') return;
    this.progress.resyncs += 1;
    this.logger.warn({ symbol: update.symbol, reason: outcome.reason, resyncs: this.progress.resyncs }, 'order book inconsistent: resynchronizing');
    const now = Date.now();
    connection.recentResyncs = connection.recentResyncs.filter((t) => now - t < 60_000);
    connection.recentResyncs.push(now);
    if (connection.recentResyncs.length > MAX_RESYNCS_PER_MINUTE) {
      connection.channel.fail(new Error(`${this.id}: order books failed their checks ${connection.recentResyncs.length} times within a minute; reconnecting`));
      return;
    }
    for (const text of this.protocol.resyncMessages(update.symbol, this.channel.symbols)) connection.channel.sender.send(text);
  }
}
