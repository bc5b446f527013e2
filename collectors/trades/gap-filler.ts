import type { Logger } from '../../common/logger.js';
import type { CollectorProgress } from '../types.js';
import type { TradeHistory } from './history.js';
import type { SymbolTable } from '../ws/symbol-table.js';
import type { RestClient } from '../rest/rest-client.js';
import { LastUsedMap } from '../../common/last-used-map.js';
import type { Trade } from './trade.js';

// Sequential ids: a trade more than this many ids from the last one written (ahead or behind) is
// far outside the sequence: held until the next trade or REST says whether the sequence really
// moved there. Far beyond any jump a live connection makes between two frames.
export const FAR_IDS = 1_000;
// Sampled log: the first outlier, then every Nth.
const OUTLIER_LOG_EVERY = 100;

/** Where one run of a stream puts what the gap filler lets through. */
export interface GapSink {
  /** Writes trades (ascending per symbol) through dedup; returns those accepted as new. */
  write(trades: readonly Trade[]): readonly Trade[];
  /** Records that `symbol`'s trades between two exchange times (exclusive) are missing for good. */
  gap(symbol: string, fromTime: number, toTime: number): void;
  /** Aborts when the run ends: fills in flight stop and their buffered trades are dropped. */
  signal: AbortSignal;
}

export interface GapFillerOptions {
  exchange: string;
  symbols: SymbolTable;
  /** The exchange's history hook; undefined when it has none (gaps are then only recorded). */
  history: TradeHistory | undefined;
  /** True when ids are consecutive, so a jump is a gap (the history hook says; false without one). */
  idsSequential: boolean;
  /** REST base URL to backfill from; undefined disables backfilling (gaps are recorded instead). */
  restUrl: string | undefined;
  http: RestClient;
  logger: Logger;
  progress: CollectorProgress;
  /**
   * Trades missed for longer than this (the feed's `history`) are not fetched but recorded as a gap:
   * after a week's outage, a day's `history` asks for no more than a day. Undefined: no limit.
   */
  maxBackfillMs?: number;
}

/** What the filler knows of one symbol. */
interface SymbolState {
  /** Id of the last trade written (sequential ids, or increasing ones with a history to page by). */
  lastId?: number;
  /** Exchange time of the last trade written. */
  lastTime?: number;
  /** Set while a backfill runs: live trades wait here, so they are written after the older ones. */
  buffer?: Trade[];
  /** Non-sequential ids: the first trade after a (re)connect closes a gap of unknown size. */
  awaitingFirst?: boolean;
  /** The history failed this run: further jumps are recorded as gaps, not fetched again. */
  historyFailed?: boolean;
  /** Sequential ids: a trade far outside the sequence, held until the next trade says whether it is real. */
  suspect?: Trade;
}

/** The first exchange id an (OKX-aggregated) trade stands for: its id is the last of `count`. */
function firstIdOf(trade: Trade): number {
  return Number(trade.id) - (trade.count ?? 1) + 1;
}

/**
 * Keeps each symbol's stored trades free of gaps and doubles. With sequential ids it notices a
 * jump (and, at every connect, the trades missed since the last one written) and fetches the
 * missing range page by page over REST, holding that symbol's live trades back until the older
 * ones are written, so trades reach the writer in id order and dedup by "id ≤ last" stays right.
 * What cannot be fetched (no history, REST failing, ids not sequential) becomes a gap record.
 */
export class GapFiller {
  private readonly states = new LastUsedMap<SymbolState>(() => ({}));
  private readonly fills = new Set<Promise<void>>();
  private sink: GapSink | undefined;

  constructor(private readonly options: GapFillerOptions) {}

  /** Forgets every symbol's last trade, between runs: the next `seed`s say where to go on from. */
  forget(): void {
    this.states.clear();
  }

  /** Live trades held back behind backfills, and suspects held until the next trade confirms them. */
  get heldTrades(): number {
    let held = 0;
    for (const state of this.states.values()) held += (state.buffer?.length ?? 0) + (state.suspect ? 1 : 0);
    return held;
  }

  /** Where a previous process stopped: the last id and time it stored for `symbol`. */
  seed(symbol: string, lastId: string | undefined, lastTime: number | undefined): void {
    const state = this.state(symbol);
    const id = lastId !== undefined && /^\d+$/.test(lastId) ? Number(lastId) : undefined;
    if (this.tracksIds() && id !== undefined && Number.isSafeInteger(id)) state.lastId = id;
    if (lastTime !== undefined) state.lastTime = lastTime;
  }

  /** A connection is up: catches up every symbol of `symbols` (default: all) that has a last trade, then goes on with `sink`. */
  beginRun(sink: GapSink, symbols: readonly string[] = this.options.symbols.unified): void {
    this.sink = sink;
    for (const symbol of symbols) {
      const state = this.state(symbol);
      state.historyFailed = false;
      if (this.canFill() && state.lastId !== undefined && !this.tooOld(state, Date.now())) this.startFill(symbol, state);
      else if (!this.options.idsSequential && state.lastTime !== undefined) state.awaitingFirst = true;
    }
  }

  /** The run ended: stops fills in flight (their trades are fetched again next run) and waits for them. */
  async endRun(): Promise<void> {
    await Promise.allSettled([...this.fills]);
    this.sink = undefined;
    for (const state of this.states.values()) {
      state.buffer = undefined;
      // Unconfirmed: dropped. Were it real, the next run's catch-up from the last id fetches it.
      if (state.suspect) this.dropOutlier(state.suspect, state, 'no trade came after it to confirm it');
      state.suspect = undefined;
    }
  }

  /**
   * Live trades of a frame: written now, or held back behind a backfill. With sequential ids, a
   * trade far outside the sequence (see FAR_IDS) is held: the next trade continuing from it shows
   * the sequence really moved there (a jump, filled or recorded as usual); the next trade carrying
   * on from before shows it was an outlier, dropped and counted, and no gap recorded for it.
   */
  accept(trades: readonly Trade[]): void {
    if (!this.sink) return;
    for (const trade of trades) {
      const state = this.state(trade.symbol);
      if (state.buffer) {
        state.buffer.push(trade);
        continue;
      }
      if (state.suspect) {
        this.settleSuspect(state, trade);
        // A jump it confirmed may have started a backfill, which this trade waits behind.
        if (state.buffer) {
          (state.buffer as Trade[]).push(trade);
          continue;
        }
      }
      if (this.isFarFromSequence(trade, state)) {
        state.suspect = trade;
        continue;
      }
      // A frame of one trade (the usual case) is passed on as it is.
      this.place(trade, state, trades.length === 1 ? trades : undefined);
    }
  }

  /** Writes a trade in sequence, or starts filling (or records) the jump before it. */
  private place(trade: Trade, state: SymbolState, frame: readonly Trade[] | undefined): void {
    if (state.awaitingFirst && state.lastTime !== undefined) this.recordGap(trade.symbol, state.lastTime, trade.exchangeTime);
    state.awaitingFirst = false;
    if (this.options.idsSequential && state.lastId !== undefined && firstIdOf(trade) > state.lastId + 1) {
      if (this.canFill() && !state.historyFailed && !this.tooOld(state, trade.exchangeTime)) {
        state.buffer = [trade];
        this.startFill(trade.symbol, state);
        return;
      }
      if (state.lastTime !== undefined) this.recordGap(trade.symbol, state.lastTime, trade.exchangeTime);
    }
    this.write(frame ?? [trade], state);
  }

  /** Whether a trade lies more than FAR_IDS ids ahead of or behind the last one written (sequential ids). */
  private isFarFromSequence(trade: Trade, state: SymbolState): boolean {
    if (!this.options.idsSequential || state.lastId === undefined) return false;
    const first = firstIdOf(trade);
    return first > state.lastId + 1 + FAR_IDS || Number(trade.id) + FAR_IDS < state.lastId;
  }

  /** `next` arrived after the held suspect: it confirms the suspect (continues from it) or shows it an outlier. */
  private settleSuspect(state: SymbolState, next: Trade): void {
    const suspect = state.suspect!;
    state.suspect = undefined;
    const continues = firstIdOf(next) > Number(suspect.id) && firstIdOf(next) <= Number(suspect.id) + 1 + FAR_IDS;
    if (!continues) return this.dropOutlier(suspect, state, 'the next trade carries on the sequence before it');
    // The sequence moved back (the exchange restarted its ids): go on from there.
    if (firstIdOf(suspect) <= state.lastId!) state.lastId = firstIdOf(suspect) - 1;
    this.place(suspect, state, undefined);
  }

  /** Drops a trade whose id lay far outside the sequence, unconfirmed: counted and logged (sampled). */
  private dropOutlier(trade: Trade, state: SymbolState, why: string): void {
    const { progress, logger } = this.options;
    progress.tradeIdOutliers += 1;
    if (progress.tradeIdOutliers === 1 || progress.tradeIdOutliers % OUTLIER_LOG_EVERY === 0) {
      logger.warn({ symbol: trade.symbol, id: trade.id, lastId: state.lastId, why, tradeIdOutliers: progress.tradeIdOutliers }, 'dropped a trade whose id lies far outside the sequence');
    }
  }

  /** Whether the trades missed since the symbol's last one, up to `now`, reach further back than the backfill may. */
  private tooOld(state: SymbolState, now: number): boolean {
    const { maxBackfillMs } = this.options;
    return maxBackfillMs !== undefined && state.lastTime !== undefined && now - state.lastTime > maxBackfillMs;
  }

  /**
   * Backfilling needs a history and a REST URL. Ids that increase without being consecutive (Gate's
   * one sequence over all markets) still page from the last id written to the first live trade, at
   * each connect; only a jump within a connection cannot be told from them.
   */
  private canFill(): boolean {
    return this.options.history !== undefined && this.options.restUrl !== undefined;
  }

  /** Whether the last id written is kept: to detect jumps (sequential ids) or to page a backfill from. */
  private tracksIds(): boolean {
    return this.options.idsSequential || this.options.history !== undefined;
  }

  private state(symbol: string): SymbolState {
    return this.states.of(symbol);
  }

  /** Hands trades to the sink and moves the symbol's last id and time to the newest accepted. */
  private write(trades: readonly Trade[], state: SymbolState): void {
    if (!this.sink || trades.length === 0) return;
    for (const trade of this.sink.write(trades)) {
      if (this.tracksIds()) state.lastId = Number(trade.id);
      state.lastTime = trade.exchangeTime;
    }
  }

  private recordGap(symbol: string, fromTime: number, toTime: number): void {
    this.options.progress.gaps += 1;
    this.options.logger.warn({ symbol, fromTime, toTime, gaps: this.options.progress.gaps }, 'trades missing and not fetchable: recorded a gap');
    this.sink?.gap(symbol, fromTime, toTime);
  }

  private startFill(symbol: string, state: SymbolState): void {
    state.buffer ??= [];
    const fill = this.fill(symbol, state).finally(() => this.fills.delete(fill));
    this.fills.add(fill);
  }

  /**
   * Fetches `symbol`'s trades after its last id until it reaches the first live trade held back
   * (or, with none held back, until a short page says it caught up), then releases the held trades.
   */
  private async fill(symbol: string, state: SymbolState): Promise<void> {
    const { history, restUrl, http, logger, progress } = this.options;
    const sink = this.sink!;
    const from = state.lastId!;
    let filled = 0;
    let failure: unknown;
    try {
      for (;;) {
        const target = state.buffer![0] && firstIdOf(state.buffer![0]);
        if (target !== undefined && state.lastId! + 1 >= target) break;
        const page = await history!.fetchAfter({
          symbol,
          exchangeSymbol: this.options.symbols.toExchange(symbol),
          afterId: state.lastId!,
          restUrl: restUrl!,
          http,
          signal: sink.signal,
        });
        // A page reaching into the held-back live trades stops there: those are written next.
        const held = state.buffer![0] && firstIdOf(state.buffer![0]);
        const fresh = page.filter((t) => Number(t.id) > state.lastId! && (held === undefined || Number(t.id) < held));
        const before = state.lastId;
        this.write(fresh, state);
        filled += fresh.length;
        progress.tradesBackfilled += fresh.length;
        if (page.length === 0 || state.lastId === before) break;
        if (held === undefined && page.length < history!.pageSize) break;
      }
    } catch (err) {
      failure = err;
    }
    if (sink.signal.aborted) return;
    if (filled > 0) logger.info({ symbol, fromId: from, toId: state.lastId, trades: filled }, 'backfilled missed trades over REST');
    if (failure !== undefined) {
      state.historyFailed = true;
      logger.warn({ symbol, err: failure instanceof Error ? failure.message : String(failure) }, 'cannot backfill trades over REST');
    }
    let held = state.buffer!;
    state.buffer = undefined;
    if (!this.options.idsSequential) {
      // Ids that are not consecutive cannot show what a failed fill missed: the next live trade closes a gap.
      if (failure !== undefined) state.awaitingFirst = true;
      return this.accept(held);
    }
    if (failure === undefined && state.lastId !== undefined) {
      // REST caught up without reaching them: ids far beyond the last one are not real trades.
      const lastId = state.lastId;
      const far = held.filter((trade) => firstIdOf(trade) > lastId + 1 + FAR_IDS);
      if (far.length > 0) {
        far.forEach((trade) => this.dropOutlier(trade, state, 'REST history has no trade up to it'));
        held = held.filter((trade) => !far.includes(trade));
      }
    }
    const first = held[0];
    if (first && state.lastId !== undefined && firstIdOf(first) > state.lastId + 1) {
      // What REST could not give: record it and take the live trades from here on.
      if (state.lastTime !== undefined) this.recordGap(symbol, state.lastTime, first.exchangeTime);
      state.lastId = firstIdOf(first) - 1;
    }
    this.accept(held);
  }
}
