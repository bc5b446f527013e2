import { silentLogger, type Logger } from '../../common/logger.js';
import { maskUrl } from '../../common/sanitize.js';
import type { DataCollectionStorage } from '../../storage/types.js';
import { heldBy, restClientFor, type RestClient, type RestLimits } from '../rest/rest-client.js';
import { CollectorProgress, type DataSourceCollector } from '../types.js';
import { liquidityKey } from './depth.js';
import { validLevels } from './levels.js';
import { OrderBook, type LevelText } from './order-book.js';
import { declareLiquiditySeries, everyInterval, storeSnapshots, type BookView } from './snapshot-store.js';

/**
 * One exchange's REST order-book endpoint (collectors/exchanges/<exchange>/depth-rest.ts): what
 * to ask for a symbol and how to read the answer.
 */
export interface DepthSource {
  readonly exchange: string;
  /** Production REST base URL, used unless the config overrides it. */
  readonly defaultRestUrl: string;
  /** Unified `BASE-QUOTE` → the symbol the REST endpoint takes; throws for a malformed symbol. */
  toRestSymbol(symbol: string): string;
  /** Path (from the base URL), query and weight of the request for `restSymbol`'s book. */
  request(restSymbol: string): { path: string; params: Record<string, string | number>; weight?: number };
  /** The book in an answer; throws naming what is wrong (an error body, a missing field). */
  parse(body: unknown, restSymbol: string): { bids: readonly LevelText[]; asks: readonly LevelText[]; time?: number };
}

export interface DepthPollerOptions {
  /** e.g. `liquidity:binance:rest`. */
  id: string;
  source: DepthSource;
  symbols: readonly string[];
  /** Overrides `source.defaultRestUrl`. */
  restUrl?: string;
  /** Every book is fetched and a snapshot stored at each multiple of this (ms). */
  intervalMs: number;
  staleAfterMs?: number;
  logger?: Logger;
  /** The exchange's REST limits (Exchange.restLimits), shared with its other REST uses. */
  restLimits?: RestLimits;
  /** Overrides the shared, rate-limited client of the exchange (tests). */
  http?: RestClient;
}

/**
 * Polls one exchange's REST depth endpoint for a group of symbols every interval and stores a
 * liquidity snapshot of each book. Requests go through the exchange's shared polite client, so
 * polls never exceed its published limits; a symbol whose request fails is skipped for that
 * interval (the client already retried) and the failure is logged.
 */
export class DepthPollCollector implements DataSourceCollector {
  readonly kind = 'liquidity';
  readonly id: string;
  readonly keys: readonly string[];
  readonly staleAfterMs?: number;
  readonly progress = new CollectorProgress();
  /** Polls that failed since this collector was created. */
  failedPolls = 0;

  private readonly source: DepthSource;
  private readonly symbols: readonly string[];
  private readonly restSymbols: ReadonlyMap<string, string>;
  private readonly baseUrl: string;
  private readonly intervalMs: number;
  private readonly logger: Logger;
  private readonly http: RestClient;
  /** The books of this interval fetched so far, stored once every symbol's is in. */
  private fetched: BookView[] = [];

  constructor(options: DepthPollerOptions) {
    const { source, symbols } = options;
    if (symbols.length === 0) throw new Error(`${options.id}: no symbols to collect`);
    this.id = options.id;
    this.source = source;
    this.symbols = symbols;
    this.restSymbols = new Map(symbols.map((symbol) => [symbol, source.toRestSymbol(symbol)]));
    this.keys = symbols.map((symbol) => liquidityKey(source.exchange, symbol));
    this.staleAfterMs = options.staleAfterMs;
    this.baseUrl = (options.restUrl ?? source.defaultRestUrl).replace(/\/+$/, '');
    this.intervalMs = options.intervalMs;
    this.logger = (options.logger ?? silentLogger).child({ collector: this.id });
    this.http = heldBy(options.http ?? restClientFor(source.exchange, this.baseUrl, this.logger, options.restLimits), this.progress);
    this.progress.holdsRecords(() => this.fetched.length);
  }

  /** Polls until `signal` aborts; throws only when storage fails. */
  async run(storage: DataCollectionStorage, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    await declareLiquiditySeries(storage, this.source.exchange, this.symbols);
    this.logger.info({ url: maskUrl(this.baseUrl), symbols: this.symbols.length, intervalMs: this.intervalMs }, 'polling order books');
    await everyInterval(this.intervalMs, signal, async (tick) => {
      const views: BookView[] = (this.fetched = []);
      try {
        for (const symbol of this.symbols) {
          const view = await this.poll(symbol, signal);
          if (view) views.push(view);
        }
        if (signal.aborted) return;
        await storeSnapshots(storage, this.source.exchange, views, tick, this.progress, this.logger);
      } finally {
        this.fetched = [];
      }
    });
  }

  /** One symbol's book now, or undefined when the request failed. */
  private async poll(symbol: string, signal: AbortSignal): Promise<BookView | undefined> {
    const restSymbol = this.restSymbols.get(symbol)!;
    const { path, params, weight } = this.source.request(restSymbol);
    try {
      const body = await this.http.getJson(`${this.baseUrl}${path}`, params, signal, { weight });
      const { bids, asks, time } = validLevels(this.source.parse(body, restSymbol), this.source.exchange, this.progress, this.logger, symbol);
      // Through an OrderBook so the levels come out sorted and validated whatever the answer's order.
      const book = new OrderBook();
      book.replace(bids, asks);
      if (book.isCrossed()) throw new Error('the book is crossed (best bid at or above best ask)');
      this.progress.recordHeartbeat();
      return { symbol, bids: book.bids, asks: book.asks, time };
    } catch (err) {
      if (signal.aborted) return undefined;
      this.failedPolls += 1;
      this.logger.warn({ symbol, failedPolls: this.failedPolls, err: err instanceof Error ? err.message : String(err) }, 'cannot poll the order book');
      return undefined;
    }
  }
}
