import type WebSocket from 'ws';
import { silentLogger, type Logger } from '../../common/logger.js';
import { maskUrl } from '../../common/sanitize.js';
import type { CollectorCheckpoint, DataCollectionStorage } from '../../storage/types.js';
import { UNMEASURED_MAX_FRAME_BYTES } from '../exchange.js';
import { CollectorProgress, type DataSourceCollector } from '../types.js';
import { tradeProblem, withoutRefused } from '../validation.js';
import { droppedFrames, type DroppedFrames } from '../ws/dropped-frames.js';
import { openWebSocket, SocketLoop } from '../ws/socket.js';
import { ConnectionTrades } from './connection-rotation.js';
import { TradeDeduplicator } from './dedup.js';
import { GapFiller, type GapSink } from './gap-filler.js';
import { GAP_FIELDS, gapsKey } from './gap-records.js';
import { unlistedSymbols } from './instrument-check.js';
import { SymbolTable, type FrameContext, type ParsedFrame, type TradeProtocol } from './protocol.js';
import { restClientFor, type RestLimits } from '../rest/rest-client.js';
import { RequestSender } from './request-sender.js';
import { SubscriptionAcks } from './subscription-acks.js';
import { SYMBOL_RETRY_MS, SymbolSubscriptions } from './symbol-subscriptions.js';
import { TradeCheckpoints } from './trade-checkpoints.js';
import type { TradeTap } from './trade-tap.js';
import { TRADE_FIELDS, tradesKey, type Trade } from './trade.js';
import { TradeWriter } from './trade-writer.js';

// Longest a connection rotation waits, once the replacement's acks are in, for the old connection
// to deliver what the replacement already has; quiet symbols never let it know, so it switches then.
const HANDOVER_WAIT_MS = 5_000;
// How often failed symbols are looked at for a retry (each is retried at its own time).
const RETRY_CHECK_MS = 30_000;

/** One WebSocket connection of a run. */
interface Connection {
  loop: SocketLoop;
  acks: SubscriptionAcks;
  sender: RequestSender;
  trades: ConnectionTrades;
  /** Aborting it closes the connection normally (code 1000): how an old connection is retired. */
  closer: AbortController;
}

/** One run's connections: the current one and, during a rotation, its replacement. */
interface Run {
  url: string;
  /** Aborts when the run ends, for whatever reason. */
  signal: AbortSignal;
  current: Connection;
  next?: Connection;
  /** Set while a replacement is being opened. */
  connecting?: Promise<void>;
  handoverTimer?: NodeJS.Timeout;
}

export interface TradeStreamOptions {
  /** e.g. `trades:binance`, `trades:binance#2`. */
  id: string;
  protocol: TradeProtocol;
  /** Unified `BASE-QUOTE` symbols, at most `protocol.maxStreamsPerConnection`. */
  symbols: readonly string[];
  /** Overrides `protocol.defaultWsUrl` (testnet, proxy, simulator). */
  wsUrl?: string;
  /**
   * Overrides `protocol.history.defaultRestUrl` for backfills and `protocol.instruments.defaultRestUrl`
   * for the symbol check. With `wsUrl` overridden and this not, nothing is backfilled (production
   * ids do not fit a testnet's or simulator's stream): gaps are recorded instead; nor are symbols checked.
   */
  restUrl?: string;
  staleAfterMs?: number;
  logger?: Logger;
  connectTimeoutMs?: number;
  /** How long after the last subscribe request every ack must have arrived. */
  ackTimeoutMs?: number;
  /** Overrides `protocol.maxConnectionAgeMs` (tests). */
  maxConnectionAgeMs?: number;
  /** Where new trades (after dedup, live and backfilled) are handed on, for derived data such as candles. */
  tap?: TradeTap;
  /** Missed trades older than this are recorded as a gap rather than fetched (the feeds' `history`). */
  maxBackfillMs?: number;
  /** How often a symbol that cannot be collected (not listed, refused) is tried again (ms); default 5 minutes. */
  symbolRetryMs?: number;
  /** The exchange's REST limits (Exchange.restLimits), for backfills and the instrument list; without them requests are only serialized. */
  restLimits?: RestLimits;
  /** The largest frame taken (Exchange.maxFrameBytes); default UNMEASURED_MAX_FRAME_BYTES. */
  maxFrameBytes?: number;
}

/**
 * Collects one exchange's trades for a group of symbols over one WebSocket, driven by the
 * exchange's TradeProtocol hooks, into `trades:<exchange>:<SYMBOL>` series.
 */
export class TradeStreamCollector implements DataSourceCollector {
  readonly kind = 'trades';
  readonly id: string;
  readonly keys: readonly string[];
  readonly staleAfterMs?: number;
  readonly progress = new CollectorProgress();

  private readonly protocol: TradeProtocol;
  private readonly symbols: SymbolTable;
  private readonly wsUrl: string;
  private readonly maxFrameBytes: number;
  private readonly dropped: DroppedFrames;
  private readonly logger: Logger;
  private readonly connectTimeoutMs: number;
  private readonly ackTimeoutMs: number;
  private readonly maxConnectionAgeMs: number | undefined;
  // Outlives a run: a restart must not count trades of the previous connection again.
  private readonly dedup: TradeDeduplicator;
  // Outlive a run too; seed the deduplicator from what a previous process stored.
  private readonly checkpoints: TradeCheckpoints;
  private readonly symbolOfKey: ReadonlyMap<string, string>;
  // Outlives a run: the last id per symbol is where the next connection's catch-up starts.
  private readonly gapFiller: GapFiller;
  private readonly tap: TradeTap | undefined;
  // Where the exchange's instrument list is asked for; undefined when nowhere (only wsUrl overridden).
  private readonly instrumentsRestUrl: string | undefined;
  private readonly restLimits: RestLimits | undefined;
  // Outlives a run: a symbol that failed stays out until its retry is due.
  private readonly subscriptions: SymbolSubscriptions;
  private readonly symbolRetryMs: number;
  private context: FrameContext | undefined;
  /** Set while `context.receivedAt` holds this TCP read's arrival time (see frameContext). */
  private clockRead = false;
  private readonly forgetClock = (): void => {
    this.clockRead = false;
  };
  private rotations = 0;

  constructor(options: TradeStreamOptions) {
    const { protocol, symbols } = options;
    if (symbols.length === 0) throw new Error(`${options.id}: no symbols to collect`);
    if (symbols.length > protocol.maxStreamsPerConnection) {
      throw new Error(`${options.id}: ${symbols.length} symbols exceed ${protocol.exchange}'s ${protocol.maxStreamsPerConnection} streams per connection`);
    }
    this.id = options.id;
    this.protocol = protocol;
    this.symbols = new SymbolTable(symbols, (symbol) => protocol.toExchangeSymbol(symbol));
    this.keys = symbols.map((symbol) => tradesKey(protocol.exchange, symbol));
    this.staleAfterMs = options.staleAfterMs;
    this.wsUrl = options.wsUrl ?? protocol.defaultWsUrl;
    this.maxFrameBytes = options.maxFrameBytes ?? UNMEASURED_MAX_FRAME_BYTES;
    this.logger = (options.logger ?? silentLogger).child({ collector: this.id });
    this.dropped = droppedFrames(this.progress, this.logger, protocol.exchange, this.maxFrameBytes);
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
    this.maxConnectionAgeMs = options.maxConnectionAgeMs ?? protocol.maxConnectionAgeMs;
    this.dedup = new TradeDeduplicator(protocol.idsIncrease);
    this.checkpoints = new TradeCheckpoints(this.id, this.logger);
    const { history } = protocol;
    const restUrl = options.restUrl ?? (options.wsUrl === undefined ? history?.defaultRestUrl : undefined);
    this.gapFiller = new GapFiller({
      exchange: protocol.exchange,
      symbols: this.symbols,
      history,
      idsSequential: history?.idsSequential ?? false,
      restUrl,
      http: restClientFor(protocol.exchange, restUrl ?? '', this.logger, options.restLimits),
      logger: this.logger,
      progress: this.progress,
      maxBackfillMs: options.maxBackfillMs,
    });
    this.tap = options.tap;
    this.restLimits = options.restLimits;
    this.instrumentsRestUrl = options.restUrl ?? (options.wsUrl === undefined ? protocol.instruments?.defaultRestUrl : undefined);
    this.symbolOfKey = new Map(this.symbols.unified.map((symbol) => [tradesKey(protocol.exchange, symbol), symbol]));
    this.symbolRetryMs = options.symbolRetryMs ?? SYMBOL_RETRY_MS;
    const keyOf = (symbol: string) => tradesKey(protocol.exchange, symbol);
    const requestsFor = (table: SymbolTable, firstRequest: number) => protocol.subscribeMessages(table, firstRequest);
    this.subscriptions = new SymbolSubscriptions(this.symbols, this.progress.failures, keyOf, this.symbolRetryMs, this.logger, requestsFor);
  }

  /**
   * Another daemon collected these trades meanwhile (cluster): what this process saw of them (ids
   * seen, the last trade, even ones its refused stale writes held) is dropped, and the next run
   * seeds dedup and the gap filler from the stored checkpoints, as a new process would.
   */
  forgetProgress(): void {
    this.checkpoints.forget();
    this.dedup.forget();
    this.gapFiller.forget();
  }

  /** Frames that could not be parsed since this collector was created. */
  get unparsedFrames(): number {
    return this.progress.dropped.unparsed;
  }

  /** Connections replaced before the exchange's age limit since this collector was created. */
  get connectionRotations(): number {
    return this.rotations;
  }

  /** Streams trades into `storage` until `signal` aborts; throws saying why the stream ended otherwise. */
  async run(storage: DataCollectionStorage, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    // A symbol the exchange does not list fails alone, clearly, rather than streaming nothing.
    const unlisted = await this.unlisted(signal);
    if (signal.aborted) return;
    this.subscriptions.beginRun(unlisted);
    // Nothing to collect until a retry is due: the run fails, naming each symbol's reason.
    if (this.subscriptions.noneLeft) throw this.progress.failures.everyFailed();
    for (const symbol of this.symbols.unified) {
      await storage.declare({
        key: tradesKey(this.protocol.exchange, symbol),
        fields: TRADE_FIELDS,
        labels: { kind: 'trades', exchange: this.protocol.exchange, symbol },
      });
    }
    // Before the first frame: trades a previous process stored must be known as seen.
    await this.checkpoints.begin(storage.collectorState, this.keys, (checkpoint) => this.seed(checkpoint));
    await this.stream(storage, signal);
  }

  /** The checkpoints of the trades stored by this process (per key: last id and exchange time). */
  storedCheckpoints(): CollectorCheckpoint[] {
    return this.checkpoints.current();
  }

  /**
   * One run: connect, subscribe, write trades until the connection ends. A connection reaching
   * the exchange's age limit is replaced on the way (see `rotate`) without ending the run.
   */
  private async stream(storage: DataCollectionStorage, signal: AbortSignal): Promise<void> {
    const url = this.protocol.url(this.wsUrl, this.symbols);
    const socket = await openWebSocket(url, { timeoutMs: this.connectTimeoutMs, signal, label: this.id, maxFrameBytes: this.maxFrameBytes });
    if (!socket) return;
    this.logger.info({ url: maskUrl(url), symbols: this.symbols.unified.length }, 'connected');

    const endOfRun = new AbortController();
    const run = { url, signal: AbortSignal.any([signal, endOfRun.signal]) } as Run;
    run.current = this.attach(socket, run, false);
    let writeFailed = false;
    const writer = new TradeWriter(
      storage,
      this.progress,
      this.logger,
      (err) => {
        // Fatal whichever connection is current: no switching to a replacement after it.
        writeFailed = true;
        run.current.loop.fail(err);
      },
      storage.collectorState ? this.checkpoints : undefined,
    );
    const gapWrites = new Set<Promise<void>>();
    this.gapFiller.beginRun(this.gapSink(storage, writer, endOfRun.signal, gapWrites), this.subscriptions.table.unified);
    const retries = setInterval(() => void this.retryFailedSymbols(run), Math.min(this.symbolRetryMs, RETRY_CHECK_MS));

    let failure: unknown;
    for (;;) {
      const connection = run.current;
      const ended = await connection.loop.done.then(
        () => undefined,
        (err: unknown) => ({ err }),
      );
      if (signal.aborted) break;
      // Retired by a switch: the replacement runs on.
      if (run.current !== connection) continue;
      // The current connection ended during a rotation: its replacement takes over.
      if (run.connecting) await run.connecting;
      if (ended && run.next && !writeFailed) {
        this.logger.warn({ err: ended.err instanceof Error ? ended.err.message : String(ended.err) }, 'connection ended during a rotation: switching to its replacement now');
        this.handOver(run);
        continue;
      }
      failure = ended?.err;
      break;
    }
    endOfRun.abort();
    clearInterval(retries);
    clearTimeout(run.handoverTimer);
    await run.connecting;
    await this.gapFiller.endRun();
    await Promise.all(gapWrites);
    // Trades received before the end are still written, whatever ended the stream.
    await writer.drain().catch((err: unknown) => (failure ??= err));
    if (failure !== undefined) throw failure;
  }

  /** Runs an open socket as a connection of `run`: subscribes, and schedules its rotation. */
  private attach(socket: WebSocket, run: Run, replacement: boolean): Connection {
    const connection = {
      acks: new SubscriptionAcks(this.protocol.exchange, 'trades'),
      trades: new ConnectionTrades(this.protocol.idsIncrease, replacement),
      closer: new AbortController(),
    } as Connection;
    connection.loop = new SocketLoop(socket, {
      label: this.id,
      signal: AbortSignal.any([run.signal, connection.closer.signal]),
      silenceTimeoutMs: this.protocol.keepalive.silenceTimeoutMs,
      onText: (text) => this.onText(text, connection, run),
      ...this.dropped,
      onBytes: this.protocol.onBytes ? (data) => this.onBytes(data, connection, run) : undefined,
      onPing: () => this.progress.recordHeartbeat(),
    });
    const stopSending = this.startSending(connection);
    const maxAge = this.maxConnectionAgeMs;
    const ageTimer = maxAge !== undefined ? setTimeout(() => this.rotate(run, connection, maxAge), maxAge) : undefined;
    const stop = (): void => {
      stopSending();
      clearTimeout(ageTimer);
    };
    connection.loop.done.then(stop, (err: unknown) => {
      stop();
      if (run.next !== connection) return;
      // A replacement that fails changes nothing: the current connection goes on until it closes.
      run.next = undefined;
      clearTimeout(run.handoverTimer);
      run.handoverTimer = undefined;
      this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'replacement connection failed: keeping the current one');
    });
    return connection;
  }

  /**
   * The current connection reached the exchange's age limit: opens a replacement, which
   * subscribes like the first and holds its trades back until `handOver` switches to it.
   */
  private rotate(run: Run, connection: Connection, ageMs: number): void {
    if (run.current !== connection || run.next || run.connecting || run.signal.aborted) return;
    this.logger.info({ ageMs }, 'connection reached its maximum age: opening a replacement');
    run.connecting = openWebSocket(run.url, { timeoutMs: this.connectTimeoutMs, signal: run.signal, label: this.id, maxFrameBytes: this.maxFrameBytes })
      .then(
        (socket) => {
          if (!socket) return;
          if (run.signal.aborted) return void socket.terminate();
          run.next = this.attach(socket, run, true);
        },
        (err: unknown) => this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'cannot open a replacement connection: keeping the current one'),
      )
      .finally(() => (run.connecting = undefined));
  }

  /**
   * Switches once the replacement's acks are all in and the current connection has delivered
   * what the replacement holds (nothing lost between the two), or after HANDOVER_WAIT_MS.
   */
  private maybeHandOver(run: Run): void {
    const next = run.next;
    if (!next || next.acks.waiting().length > 0) return;
    run.handoverTimer ??= setTimeout(() => this.handOver(run), HANDOVER_WAIT_MS);
    if (next.trades.caughtUpBy(run.current.trades, this.subscriptions.table.unified)) this.handOver(run);
  }

  /** Makes the replacement current, closes the old connection normally and passes on the held trades. */
  private handOver(run: Run): void {
    const next = run.next;
    if (!next) return;
    clearTimeout(run.handoverTimer);
    run.handoverTimer = undefined;
    const old = run.current;
    run.current = next;
    run.next = undefined;
    this.rotations += 1;
    old.closer.abort();
    const held = next.trades.release(old.trades);
    this.logger.info({ rotations: this.rotations }, 'switched to the replacement connection');
    // Through the gap filler and dedup like any live trade: a trade both connections got counts once.
    if (held.length > 0) this.gapFiller.accept(held);
  }

  /**
   * Marks a checkpoint's last trade id as seen, so the exchange sending that trade again adds
   * nothing, and tells the gap filler where to catch up from.
   */
  private seed({ key, lastTradeId, lastTimestamp }: CollectorCheckpoint): void {
    const symbol = this.symbolOfKey.get(key);
    if (symbol === undefined) return;
    if (lastTradeId !== undefined) this.dedup.seed(symbol, lastTradeId, lastTimestamp);
    this.gapFiller.seed(symbol, lastTradeId, lastTimestamp);
  }

  /** Where the gap filler writes during one run: trades through dedup to the writer, gaps straight to storage. */
  private gapSink(storage: DataCollectionStorage, writer: TradeWriter, signal: AbortSignal, pending: Set<Promise<void>>): GapSink {
    return {
      signal,
      write: (trades) => {
        const fresh = this.newOnly(trades);
        // Refused after dedup: a refused trade's id still counts as seen, so it makes no gap and is
        // not fetched again; it is neither stored nor handed on. Live and backfilled trades alike.
        const valid = withoutRefused(fresh, tradeProblem, this.refuseTrade);
        writer.add(valid);
        if (valid.length > 0) this.tap?.publish(valid);
        return fresh;
      },
      gap: (symbol, fromTime, toTime) => {
        const key = gapsKey(this.protocol.exchange, symbol);
        const write = storage
          .declare({ key, fields: GAP_FIELDS, labels: { kind: 'gaps', exchange: this.protocol.exchange, symbol } })
          .then(() => storage.store(key, { from_time: fromTime, to_time: toTime }, fromTime))
          .catch((err: unknown) => this.logger.error({ key, err: err instanceof Error ? err.message : String(err) }, 'cannot store a gap record'))
          .finally(() => pending.delete(write));
        pending.add(write);
      },
    };
  }

  /** Subscribes the symbols not failed, spaced by the exchange's rate limit with their acks checked in time, and sends app-level pings. */
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

  /** Subscribes again, on the current connection, the failed symbols due for a retry; fails those delisted meanwhile. */
  private async retryFailedSymbols(run: Run): Promise<void> {
    if (this.progress.failures.size === 0 && this.instrumentsRestUrl === undefined) return;
    const unlisted = await this.unlisted(run.signal);
    if (run.signal.aborted) return;
    const retry = this.subscriptions.retries(unlisted);
    if (this.subscriptions.noneLeft) return run.current.loop.fail(this.progress.failures.everyFailed());
    this.subscriptions.subscribe(run.current.sender, retry);
  }

  /** The collector's symbols the exchange does not list, with why; asked again at most every symbolRetryMs. */
  private unlisted(signal: AbortSignal): Promise<ReadonlyMap<string, string>> {
    const { protocol, symbols, logger } = this;
    return unlistedSymbols({ protocol, symbols, restUrl: this.instrumentsRestUrl, restLimits: this.restLimits, logger, signal, maxAgeMs: this.symbolRetryMs });
  }

  private onText(text: string, connection: Connection, run: Run): void {
    let frame: ParsedFrame;
    try {
      frame = this.protocol.onMessage(text, this.frameContext());
    } catch (err) {
      this.dropped.unparsed(text, err);
      return;
    }
    this.onFrame(frame, connection, run);
  }

  /** A frame the protocol reads from its bytes (no string decoded); false: it goes to onText. */
  private onBytes(data: Buffer, connection: Connection, run: Run): boolean {
    let frame: ParsedFrame | undefined;
    try {
      frame = this.protocol.onBytes!(data, this.frameContext());
    } catch {
      // onBytes must not throw; if it does, the text path reads (or counts) the frame.
      return false;
    }
    if (frame === undefined) return false;
    this.onFrame(frame, connection, run);
    return true;
  }

  private onFrame(frame: ParsedFrame, connection: Connection, run: Run): void {
    const { loop, acks } = connection;
    if (frame.trades) {
      const passed = connection.trades.receive(frame.trades);
      if (passed.length > 0) this.gapFiller.accept(passed);
    }
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
    if (run.next && (frame.trades || frame.ack !== undefined)) this.maybeHandOver(run);
  }

  /**
   * The context of the frame being read: one object (protocols read it synchronously). `ws` emits
   * the frames of one TCP read back to back, so one clock reading serves them all; the microtask
   * that runs once they are emitted makes the next read take a new one.
   */
  private frameContext(): FrameContext {
    const context = (this.context ??= { symbols: this.symbols, receivedAt: 0 });
    if (!this.clockRead) {
      // Frames are read against the symbols subscribed now (a failed one is not).
      context.symbols = this.subscriptions.table;
      context.receivedAt = Date.now();
      this.clockRead = true;
      queueMicrotask(this.forgetClock);
    }
    return context;
  }

  /** A trade with impossible values: counted, logged (sampled), never stored. */
  private readonly refuseTrade = (trade: Trade, reason: string): void => {
    if (!this.progress.drop('invalid')) return;
    const { exchange, symbol, id, price, amount } = trade;
    // As strings: JSON would print an overflowed value (Infinity) as null.
    this.logger.warn({ invalidRecords: this.progress.dropped.invalid, exchange, symbol, id, price: String(price), amount: String(amount), reason }, 'refused a trade with impossible values');
  };

  /** The trades not stored yet, in order: `trades` itself when all are new (no copy per frame). */
  private newOnly(trades: readonly Trade[]): readonly Trade[] {
    let fresh: Trade[] | undefined;
    for (let i = 0; i < trades.length; i++) {
      const trade = trades[i]!;
      if (!this.isNew(trade)) fresh ??= trades.slice(0, i);
      else if (fresh) fresh.push(trade);
    }
    return fresh ?? trades;
  }

  /**
   * False for a trade already stored. Logged, because a steady stream of them means the
   * exchange restarted its ids (a testnet reset) and nothing new is being stored.
   */
  private isNew(trade: Trade): boolean {
    if (this.dedup.accept(trade)) return true;
    if (this.progress.drop('duplicate')) {
      this.logger.warn({ duplicates: this.progress.dropped.duplicate, symbol: trade.symbol, id: trade.id }, 'dropped a trade id already seen');
    }
    return false;
  }
}
