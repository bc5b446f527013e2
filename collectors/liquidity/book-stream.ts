import { silentLogger, type Logger } from '../../src/logger.js';
import { maskUrl } from '../../src/sanitize.js';
import type { DataCollectionStorage } from '../../storage/types.js';
import { SymbolTable } from '../trades/protocol.js';
import { SubscriptionAcks } from '../trades/subscription-acks.js';
import { CollectorProgress, type DataSourceCollector } from '../types.js';
import { openWebSocket, SocketLoop } from '../ws/socket.js';
import type { BookFrame, BookProtocol, BookUpdate } from './book-protocol.js';
import { SyncedBook } from './book-sync.js';
import { liquidityKey } from './depth.js';
import { declareLiquiditySeries, everyInterval, storeSnapshots } from './snapshot-store.js';

// Sampled logs: the first occurrence, then every Nth, so a flood stays readable.
const UNPARSED_LOG_EVERY = 100;
// A book failing this often on one connection will not heal by resubscribing: reconnect instead.
const MAX_RESYNCS_PER_MINUTE = 10;

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
}

/** One connection's state. */
interface Connection {
  loop: SocketLoop;
  acks: SubscriptionAcks;
  /** Sends queued frames spaced by the exchange's limit. */
  send(text: string): void;
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
  private unparsed = 0;

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
    this.books = new Map(symbols.map((symbol) => [symbol, new SyncedBook(protocol.depth, checksum)]));
  }

  /** Frames that could not be parsed since this collector was created. */
  get unparsedFrames(): number {
    return this.unparsed;
  }

  /** Whether `symbol`'s book is currently consistent (and so snapshotted). */
  isSynced(symbol: string): boolean {
    return this.books.get(symbol)?.synced ?? false;
  }

  /** Keeps the books until `signal` aborts; throws saying why the connection ended otherwise. */
  async run(storage: DataCollectionStorage, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    await declareLiquiditySeries(storage, this.protocol.exchange, this.symbols.unified);
    // A new connection sends new snapshots: nothing of the previous one is trusted.
    this.books.forEach((book) => book.reset());
    const url = this.protocol.url(this.wsUrl, this.symbols);
    const socket = await openWebSocket(url, { timeoutMs: this.connectTimeoutMs, signal, label: this.id });
    if (!socket) return;
    this.logger.info({ url: maskUrl(url), symbols: this.symbols.unified.length }, 'connected');

    const endOfRun = new AbortController();
    const runSignal = AbortSignal.any([signal, endOfRun.signal]);
    const connection = { acks: new SubscriptionAcks(this.protocol.exchange, 'book'), recentResyncs: [] as number[] } as unknown as Connection;
    connection.loop = new SocketLoop(socket, {
      label: this.id,
      signal: runSignal,
      silenceTimeoutMs: this.protocol.keepalive.silenceTimeoutMs,
      onText: (text) => this.onText(text, connection),
      onUnreadable: (err, preview) => this.countUnparsed(preview, err),
      onPing: () => this.progress.recordHeartbeat(),
    });
    const stopSending = this.startSending(connection);
    const snapshots = everyInterval(this.intervalMs, runSignal, (tick) => this.storeSynced(storage, tick)).catch((err: unknown) => {
      connection.loop.fail(err instanceof Error ? err : new Error(String(err)));
    });
    try {
      await connection.loop.done;
    } finally {
      stopSending();
      endOfRun.abort();
      await snapshots;
    }
  }

  /** Stores a snapshot of every consistent book at `tick`. */
  private async storeSynced(storage: DataCollectionStorage, tick: number): Promise<void> {
    const views = [...this.books].filter(([, synced]) => synced.synced).map(([symbol, { book, lastTime }]) => ({ symbol, bids: book.bids, asks: book.asks, time: lastTime }));
    if (views.length > 0) await storeSnapshots(storage, this.protocol.exchange, views, tick, this.progress, this.logger);
  }

  /** Sends the subscribe requests spaced by the exchange's limit, checks their acks in time, sends app-level pings. */
  private startSending(connection: Connection): () => void {
    const { minSendIntervalMs, keepalive } = this.protocol;
    const { loop, acks } = connection;
    const queue: string[] = [];
    let sender: NodeJS.Timeout | undefined;
    const drain = (): void => {
      const text = queue.shift();
      if (text === undefined) return void (sender = undefined);
      loop.send(text);
      sender = setTimeout(drain, minSendIntervalMs);
    };
    connection.send = (text) => {
      queue.push(text);
      if (sender === undefined) drain();
    };
    const requests = this.protocol.subscribeMessages(this.symbols);
    for (const request of requests) {
      acks.expect(request);
      connection.send(request.text);
    }
    const ackTimer = setTimeout(
      () => {
        if (acks.waiting().length > 0) loop.fail(acks.timeout(this.ackTimeoutMs));
      },
      (requests.length - 1) * minSendIntervalMs + this.ackTimeoutMs,
    );
    const { clientPing } = keepalive;
    const pinger = clientPing ? setInterval(() => loop.send(clientPing.text), clientPing.intervalMs) : undefined;
    return () => {
      clearTimeout(sender);
      clearTimeout(ackTimer);
      clearInterval(pinger);
    };
  }

  private onText(text: string, connection: Connection): void {
    let frame: BookFrame;
    try {
      frame = this.protocol.onMessage(text, { symbols: this.symbols, receivedAt: Date.now() });
    } catch (err) {
      this.countUnparsed(text, err);
      return;
    }
    const { loop, acks } = connection;
    for (const update of frame.books ?? []) this.applyUpdate(update, connection);
    if (frame.ack !== undefined && acks.acknowledge(frame.ack)) this.progress.recordHeartbeat();
    if (frame.heartbeat) this.progress.recordHeartbeat();
    if (frame.reply !== undefined) loop.send(frame.reply);
    if (frame.error) loop.fail(acks.rejection(frame.error));
    if (frame.closing) loop.fail(new Error(`${this.id}: ${frame.closing}`));
  }

  /** Applies one update to its book; an inconsistent book is counted and requested afresh. */
  private applyUpdate(update: BookUpdate, connection: Connection): void {
    const synced = this.books.get(update.symbol);
    if (!synced) return;
    let outcome;
    try {
      outcome = synced.apply(update);
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
    for (const text of this.protocol.resyncMessages(update.symbol, this.symbols)) connection.send(text);
  }

  /** A bad frame is skipped, never fatal. */
  private countUnparsed(text: string, err: unknown): void {
    this.unparsed += 1;
    if (this.unparsed === 1 || this.unparsed % UNPARSED_LOG_EVERY === 0) {
      const reason = err instanceof Error ? err.message : String(err);
      this.logger.warn({ unparsedFrames: this.unparsed, reason, frame: text.slice(0, 300) }, 'skipped a frame that could not be parsed');
    }
  }
}
