import { silentLogger, type Logger } from '../../common/logger.js';
import { maskUrl } from '../../common/sanitize.js';
import type { DataCollectionStorage } from '../../storage/types.js';
import { SymbolTable } from '../trades/protocol.js';
import { RequestSender } from '../trades/request-sender.js';
import { SubscriptionAcks } from '../trades/subscription-acks.js';
import { UNMEASURED_MAX_FRAME_BYTES } from '../exchange.js';
import { SYMBOL_RETRY_MS, SymbolSubscriptions } from '../trades/symbol-subscriptions.js';
import { CollectorProgress, type DataSourceCollector } from '../types.js';
import { droppedFrames, type DroppedFrames } from '../ws/dropped-frames.js';
import { openWebSocket, SocketLoop } from '../ws/socket.js';
import type { BookFrame, BookProtocol, BookUpdate } from './book-protocol.js';
import { SyncedBook } from './book-sync.js';
import { liquidityKey } from './depth.js';
import { validLevels } from './levels.js';
import { declareLiquiditySeries, everyInterval, storeSnapshots } from './snapshot-store.js';

// A book failing this often on one connection will not heal by resubscribing: reconnect instead.
const MAX_RESYNCS_PER_MINUTE = 10;
// How often failed symbols are looked at for a retry (each is retried at its own time).
const RETRY_CHECK_MS = 30_000;

export interface BookStreamOptions {
  /** e.g. `liquidity:binance`, `liquidity:binance#2`. */
  id: string;
  protocol: BookProtocol;
  /** Unified `BASE-QUOTE` symbols, at most `protocol.maxSymbolsPerConnection`. */
  symbols: readonly string[];
  /** Overrides `protocol.defaultWsUrl` (testnet, proxy, simulator). */
  wsUrl?: string;
  /** A snapshot of every consistent book is stored at each multiple of this (ms). */
  intervalMs: number;
  staleAfterMs?: number;
  logger?: Logger;
  connectTimeoutMs?: number;
  /** How long after the last subscribe request every ack must have arrived. */
  ackTimeoutMs?: number;
  /** How often a symbol the exchange refused is tried again (ms); default 5 minutes. */
  symbolRetryMs?: number;
  /** The largest frame taken (Exchange.maxFrameBytes); default UNMEASURED_MAX_FRAME_BYTES. */
  maxFrameBytes?: number;
}

/** One connection's state. */
interface Connection {
  loop: SocketLoop;
  acks: SubscriptionAcks;
  /** Sends queued frames spaced by the exchange's limit. */
  sender: RequestSender;
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
  private readonly symbols: SymbolTable;
  private readonly wsUrl: string;
  private readonly intervalMs: number;
  private readonly logger: Logger;
  private readonly connectTimeoutMs: number;
  private readonly ackTimeoutMs: number;
  private readonly books: ReadonlyMap<string, SyncedBook>;
  private readonly maxFrameBytes: number;
  private readonly dropped: DroppedFrames;
  // Outlives a run: a symbol the exchange refused stays out until its retry is due.
  private readonly subscriptions: SymbolSubscriptions;
  private readonly symbolRetryMs: number;

  constructor(options: BookStreamOptions) {
    const { protocol, symbols } = options;
    if (symbols.length === 0) throw new Error(`${options.id}: no symbols to collect`);
    if (symbols.length > protocol.maxSymbolsPerConnection) {
      throw new Error(`${options.id}: ${symbols.length} symbols exceed ${protocol.exchange}'s ${protocol.maxSymbolsPerConnection} per connection`);
    }
    this.id = options.id;
    this.protocol = protocol;
    this.symbols = new SymbolTable(symbols, (symbol) => protocol.toExchangeSymbol(symbol));
    this.keys = symbols.map((symbol) => liquidityKey(protocol.exchange, symbol));
    this.staleAfterMs = options.staleAfterMs;
    this.wsUrl = options.wsUrl ?? protocol.defaultWsUrl;
    this.intervalMs = options.intervalMs;
    this.logger = (options.logger ?? silentLogger).child({ collector: this.id });
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
    const checksum = protocol.checksum?.bind(protocol);
    this.maxFrameBytes = options.maxFrameBytes ?? UNMEASURED_MAX_FRAME_BYTES;
    this.dropped = droppedFrames(this.progress, this.logger, protocol.exchange, this.maxFrameBytes);
    this.books = new Map(symbols.map((symbol) => [symbol, new SyncedBook(protocol.depth, checksum)]));
    this.symbolRetryMs = options.symbolRetryMs ?? SYMBOL_RETRY_MS;
    const keyOf = (symbol: string) => liquidityKey(protocol.exchange, symbol);
    const requestsFor = (table: SymbolTable, firstRequest: number) => protocol.subscribeMessages(table, firstRequest);
    this.subscriptions = new SymbolSubscriptions(this.symbols, this.progress.failures, keyOf, this.symbolRetryMs, this.logger, requestsFor);
  }

  /** Frames that could not be parsed since this collector was created. */
  get unparsedFrames(): number {
    return this.progress.dropped.unparsed;
  }

  /** Whether `symbol`'s book is currently consistent (and so snapshotted). */
  isSynced(symbol: string): boolean {
    return this.books.get(symbol)?.synced ?? false;
  }

  /** Keeps the books until `signal` aborts; throws saying why the connection ended otherwise. */
  async run(storage: DataCollectionStorage, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    this.subscriptions.beginRun(new Map());
    // Every symbol refused and none due for a retry: the run fails, naming each symbol's reason.
    if (this.subscriptions.noneLeft) throw this.progress.failures.everyFailed();
    await declareLiquiditySeries(storage, this.protocol.exchange, this.symbols.unified);
    // A new connection sends new snapshots: nothing of the previous one is trusted.
    this.books.forEach((book) => book.reset());
    const url = this.protocol.url(this.wsUrl, this.symbols);
    const socket = await openWebSocket(url, { timeoutMs: this.connectTimeoutMs, signal, label: this.id, maxFrameBytes: this.maxFrameBytes });
    if (!socket) return;
    this.logger.info({ url: maskUrl(url), symbols: this.symbols.unified.length }, 'connected');

    const endOfRun = new AbortController();
    const runSignal = AbortSignal.any([signal, endOfRun.signal]);
    const connection = { acks: new SubscriptionAcks(this.protocol.exchange, 'book'), recentResyncs: [] as number[] } as Connection;
    connection.loop = new SocketLoop(socket, {
      label: this.id,
      signal: runSignal,
      silenceTimeoutMs: this.protocol.keepalive.silenceTimeoutMs,
      onText: (text) => this.onText(text, connection),
      ...this.dropped,
      onPing: () => this.progress.recordHeartbeat(),
    });
    const stopSending = this.startSending(connection);
    const retries = setInterval(() => this.retryFailedSymbols(connection), Math.min(this.symbolRetryMs, RETRY_CHECK_MS));
    const snapshots = everyInterval(this.intervalMs, runSignal, (tick) => this.storeSynced(storage, tick)).catch((err: unknown) => {
      connection.loop.fail(err instanceof Error ? err : new Error(String(err)));
    });
    try {
      await connection.loop.done;
    } finally {
      stopSending();
      clearInterval(retries);
      endOfRun.abort();
      await snapshots;
    }
  }

  /** Stores a snapshot of every consistent book at `tick`. */
  private async storeSynced(storage: DataCollectionStorage, tick: number): Promise<void> {
    const views = [...this.books].filter(([, synced]) => synced.synced).map(([symbol, { book, lastTime }]) => ({ symbol, bids: book.bids, asks: book.asks, time: lastTime }));
    if (views.length > 0) await storeSnapshots(storage, this.protocol.exchange, views, tick, this.progress, this.logger);
  }

  /** Subscribes the symbols not failed, spaced by the exchange's limit with their acks checked in time, and sends app-level pings. */
  private startSending(connection: Connection): () => void {
    const { minSendIntervalMs, keepalive } = this.protocol;
    connection.sender = new RequestSender(connection.loop, connection.acks, minSendIntervalMs, this.ackTimeoutMs);
    this.subscriptions.subscribe(connection.sender, this.subscriptions.table.unified);
    const { clientPing } = keepalive;
    const pinger = clientPing ? setInterval(() => connection.loop.send(clientPing.text), clientPing.intervalMs) : undefined;
    return () => {
      connection.sender.stop();
      clearInterval(pinger);
    };
  }

  /** Subscribes again the refused symbols due for a retry. */
  private retryFailedSymbols(connection: Connection): void {
    if (this.progress.failures.size > 0) this.subscriptions.subscribe(connection.sender, this.subscriptions.retries(new Map()));
  }

  private onText(text: string, connection: Connection): void {
    let frame: BookFrame;
    try {
      frame = this.protocol.onMessage(text, { symbols: this.subscriptions.table, receivedAt: Date.now() });
    } catch (err) {
      this.dropped.unparsed(text, err);
      return;
    }
    const { loop, acks } = connection;
    for (const update of frame.books ?? []) this.applyUpdate(update, connection);
    if (frame.ack !== undefined) {
      const acknowledged = acks.acknowledge(frame.ack);
      if (acknowledged) {
        this.progress.recordHeartbeat();
        this.subscriptions.acknowledged(acknowledged);
      }
    }
    if (frame.heartbeat) this.progress.recordHeartbeat();
    if (frame.reply !== undefined) loop.send(frame.reply);
    if (frame.error) {
      // Only the refused symbols fail; a refusal naming none, or every symbol failed, ends the connection.
      const fatal = this.subscriptions.onRefusal(frame.error, acks, connection.sender);
      if (fatal) loop.fail(fatal);
    }
    if (frame.closing) loop.fail(new Error(`${this.id}: ${frame.closing}`));
  }

  /** Applies one update to its book; an inconsistent book is counted and requested afresh. */
  private applyUpdate(update: BookUpdate, connection: Connection): void {
    const synced = this.books.get(update.symbol);
    if (!synced) return;
    let outcome;
    try {
      // A refused level is left out; where the exchange sends a checksum, the book's check then tells whether that matters.
      outcome = synced.apply(validLevels(update, this.protocol.exchange, this.progress, this.logger));
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
      connection.loop.fail(new Error(`${this.id}: order books failed their checks ${connection.recentResyncs.length} times within a minute; reconnecting`));
      return;
    }
    for (const text of this.protocol.resyncMessages(update.symbol, this.symbols)) connection.sender.send(text);
  }

}
