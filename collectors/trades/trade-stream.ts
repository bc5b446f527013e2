import type WebSocket from 'ws';
import type { Logger } from '../../common/logger.js';
import type { CollectorCheckpoint, DataCollectionStorage } from '../../storage/types.js';
import { heldBy, restClientFor, type RestLimits } from '../rest/rest-client.js';
import { CollectorProgress, type DataSourceCollector } from '../types.js';
import { tradeProblem, withoutRefused } from '../validation.js';
import { Channel, type ChannelCollectorOptions } from '../ws/channel.js';
import type { ChannelConnection } from '../ws/channel-connection.js';
import type { SymbolTable } from '../ws/symbol-table.js';
import { ConnectionTrades } from './connection-rotation.js';
import { TradeDeduplicator } from './dedup.js';
import { GapFiller, type GapSink } from './gap-filler.js';
import { GAP_FIELDS, gapsKey } from './gap-records.js';
import type { TradeHistory } from './history.js';
import { unlistedSymbols } from './instrument-check.js';
import type { InstrumentList } from './instruments.js';
import type { TradeFrame, TradeProtocol } from './protocol.js';
import { TradeCheckpoints } from './trade-checkpoints.js';
import type { TradeTap } from './trade-tap.js';
import { TRADE_FIELDS, tradesKey, type Trade } from './trade.js';
import { TradeWriter } from './trade-writer.js';

// Longest a connection rotation waits, once the replacement's acks are in, for the old connection
// to deliver what the replacement already has; quiet symbols never let it know, so it switches then.
const HANDOVER_WAIT_MS = 5_000;

/** One WebSocket connection of a run. */
interface Connection {
  channel: ChannelConnection<TradeFrame>;
  trades: ConnectionTrades;
  /** Aborting it closes the connection normally (code 1000): how an old connection is retired. */
  closer: AbortController;
}

/** One run's connections: the current one and, during a rotation, its replacement. */
interface Run {
  /** Aborts when the run ends, for whatever reason. */
  signal: AbortSignal;
  current: Connection;
  next?: Connection;
  /** Set while a replacement is being opened. */
  connecting?: Promise<void>;
  handoverTimer?: NodeJS.Timeout;
}

export interface TradeStreamOptions extends ChannelCollectorOptions<TradeProtocol> {
  /** Past trades by id over REST (the exchange's `tradeHistory`), where it serves them: gaps are then backfilled. */
  history?: TradeHistory;
  /** The exchange's instrument list (its `instruments`): a configured symbol it does not list fails alone. */
  instruments?: InstrumentList;
  /**
   * Overrides `history.defaultRestUrl` for backfills and `instruments.defaultRestUrl` for the
   * symbol check. With `wsUrl` overridden and this not, nothing is backfilled (production ids do
   * not fit a testnet's or simulator's stream): gaps are recorded instead; nor are symbols checked.
   */
  restUrl?: string;
  /** Overrides `protocol.connection.maxConnectionAgeMs` (tests). */
  maxConnectionAgeMs?: number;
  /** Where new trades (after dedup, live and backfilled) are handed on, for derived data such as candles. */
  tap?: TradeTap;
  /** Missed trades older than this are recorded as a gap rather than fetched (the feeds' `history`). */
  maxBackfillMs?: number;
  /** The exchange's REST limits (Exchange.restLimits), for backfills and the instrument list; without them requests are only serialized. */
  restLimits?: RestLimits;
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
  private readonly exchange: string;
  // Outlives a run: its symbols, which of them failed, and how frames are read and counted.
  private readonly channel: Channel<TradeFrame>;
  private readonly symbols: SymbolTable;
  private readonly logger: Logger;
  private readonly maxConnectionAgeMs: number | undefined;
  // Outlives a run: a restart must not count trades of the previous connection again.
  private readonly dedup: TradeDeduplicator;
  // Outlive a run too; seed the deduplicator from what a previous process stored.
  private readonly checkpoints: TradeCheckpoints;
  private readonly symbolOfKey: ReadonlyMap<string, string>;
  // Outlives a run: the last id per symbol is where the next connection's catch-up starts.
  private readonly gapFiller: GapFiller;
  private readonly tap: TradeTap | undefined;
  private readonly instruments: InstrumentList | undefined;
  // Where the exchange's instrument list is asked for; undefined when nowhere (only wsUrl overridden).
  private readonly instrumentsRestUrl: string | undefined;
  private readonly restLimits: RestLimits | undefined;
  private rotations = 0;

  constructor(options: TradeStreamOptions) {
    const { protocol, history, instruments } = options;
    const exchange = protocol.connection.exchange;
    this.channel = new Channel(options, 'trades', this.progress, (symbol) => tradesKey(exchange, symbol));
    this.id = options.id;
    this.protocol = protocol;
    this.exchange = exchange;
    this.symbols = this.channel.symbols;
    this.keys = this.symbols.unified.map((symbol) => tradesKey(exchange, symbol));
    this.staleAfterMs = options.staleAfterMs;
    this.logger = this.channel.logger;
    this.maxConnectionAgeMs = options.maxConnectionAgeMs ?? protocol.connection.maxConnectionAgeMs;
    this.dedup = new TradeDeduplicator(protocol.idsIncrease);
    this.checkpoints = new TradeCheckpoints(this.id, this.logger);
    const restUrl = options.restUrl ?? (options.wsUrl === undefined ? history?.defaultRestUrl : undefined);
    this.gapFiller = new GapFiller({
      exchange,
      symbols: this.symbols,
      history,
      idsSequential: history?.idsSequential ?? false,
      restUrl,
      http: heldBy(restClientFor(exchange, restUrl ?? '', this.logger, options.restLimits), this.progress),
      logger: this.logger,
      progress: this.progress,
      maxBackfillMs: options.maxBackfillMs,
    });
    this.tap = options.tap;
    this.restLimits = options.restLimits;
    this.instruments = instruments;
    this.instrumentsRestUrl = options.restUrl ?? (options.wsUrl === undefined ? instruments?.defaultRestUrl : undefined);
    this.symbolOfKey = new Map(this.symbols.unified.map((symbol) => [tradesKey(exchange, symbol), symbol]));
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
    this.channel.subscriptions.beginRun(unlisted);
    // Nothing to collect until a retry is due: the run fails, naming each symbol's reason.
    if (this.channel.subscriptions.noneLeft) throw this.progress.failures.everyFailed();
    for (const symbol of this.symbols.unified) {
      await storage.declare({
        key: tradesKey(this.exchange, symbol),
        fields: TRADE_FIELDS,
        labels: { kind: 'trades', exchange: this.exchange, symbol },
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
    const socket = await this.channel.open(signal);
    if (!socket) return;

    const endOfRun = new AbortController();
    const run = { signal: AbortSignal.any([signal, endOfRun.signal]) } as Run;
    run.current = this.attach(socket, run, false);
    let writeFailed = false;
    const writer = new TradeWriter(
      storage,
      this.progress,
      this.logger,
      (err) => {
        // Fatal whichever connection is current: no switching to a replacement after it.
        writeFailed = true;
        run.current.channel.fail(err);
      },
      storage.collectorState ? this.checkpoints : undefined,
    );
    const gapWrites = new Set<Promise<void>>();
    this.gapFiller.beginRun(this.gapSink(storage, writer, endOfRun.signal, gapWrites), this.channel.subscriptions.table.unified);
    const retries = setInterval(() => void this.retryFailedSymbols(run), this.channel.retryCheckMs);
    const releaseHeld = this.progress.holdsRecords(() => writer.queuedSamples + this.gapFiller.heldTrades + (run.next?.trades.heldTrades ?? 0));

    let failure: unknown;
    for (;;) {
      const connection = run.current;
      const ended = await connection.channel.done.then(
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
    releaseHeld();
    if (failure !== undefined) throw failure;
  }

  /** Runs an open socket as a connection of `run` (see Channel.connect), and schedules its rotation. */
  private attach(socket: WebSocket, run: Run, replacement: boolean): Connection {
    const connection = { trades: new ConnectionTrades(this.protocol.idsIncrease, replacement), closer: new AbortController() } as Connection;
    const signal = AbortSignal.any([run.signal, connection.closer.signal]);
    connection.channel = this.channel.connect(socket, signal, (frame) => this.onFrame(frame, connection, run));
    const maxAge = this.maxConnectionAgeMs;
    const ageTimer = maxAge !== undefined ? setTimeout(() => this.rotate(run, connection, maxAge), maxAge) : undefined;
    connection.channel.done.then(
      () => clearTimeout(ageTimer),
      (err: unknown) => {
        clearTimeout(ageTimer);
        if (run.next !== connection) return;
        // A replacement that fails changes nothing: the current connection goes on until it closes.
        run.next = undefined;
        clearTimeout(run.handoverTimer);
        run.handoverTimer = undefined;
        this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'replacement connection failed: keeping the current one');
      },
    );
    return connection;
  }

  /**
   * The current connection reached the exchange's age limit: opens a replacement, which
   * subscribes like the first and holds its trades back until `handOver` switches to it.
   */
  private rotate(run: Run, connection: Connection, ageMs: number): void {
    if (run.current !== connection || run.next || run.connecting || run.signal.aborted) return;
    this.logger.info({ ageMs }, 'connection reached its maximum age: opening a replacement');
    run.connecting = this.channel
      .open(run.signal)
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
    if (!next || next.channel.acks.waiting().length > 0) return;
    run.handoverTimer ??= setTimeout(() => this.handOver(run), HANDOVER_WAIT_MS);
    if (next.trades.caughtUpBy(run.current.trades, this.channel.subscriptions.table.unified)) this.handOver(run);
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
        const key = gapsKey(this.exchange, symbol);
        const write = storage
          .declare({ key, fields: GAP_FIELDS, labels: { kind: 'gaps', exchange: this.exchange, symbol } })
          .then(() => storage.store(key, { from_time: fromTime, to_time: toTime }, fromTime))
          .catch((err: unknown) => this.logger.error({ key, err: err instanceof Error ? err.message : String(err) }, 'cannot store a gap record'))
          .finally(() => pending.delete(write));
        pending.add(write);
      },
    };
  }

  /** Subscribes again, on the current connection, the failed symbols due for a retry; fails those delisted meanwhile. */
  private async retryFailedSymbols(run: Run): Promise<void> {
    if (this.progress.failures.size === 0 && this.instrumentsRestUrl === undefined) return;
    const unlisted = await this.unlisted(run.signal);
    if (run.signal.aborted) return;
    run.current.channel.retryFailedSymbols(unlisted);
  }

  /** The collector's symbols the exchange does not list, with why; asked again at most every symbolRetryMs. */
  private unlisted(signal: AbortSignal): Promise<ReadonlyMap<string, string>> {
    const { exchange, instruments, symbols, logger, progress } = this;
    return unlistedSymbols({ exchange, instruments, symbols, restUrl: this.instrumentsRestUrl, restLimits: this.restLimits, logger, signal, maxAgeMs: this.channel.symbolRetryMs, progress });
  }

  /** A frame's trades, once the channel has handled its connection part (an ack may complete a replacement's subscriptions). */
  private onFrame(frame: TradeFrame, connection: Connection, run: Run): void {
    if (frame.trades) {
      const passed = connection.trades.receive(frame.trades);
      if (passed.length > 0) this.gapFiller.accept(passed);
    }
    if (run.next && (frame.trades || frame.ack !== undefined)) this.maybeHandOver(run);
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
