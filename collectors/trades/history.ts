import type { Trade } from './trade.js';
import type { RestClient } from '../rest/rest-client.js';

/** What one page request of a TradeHistory gets. */
export interface HistoryPageRequest {
  /** Unified `BASE-QUOTE`. */
  symbol: string;
  /** The exchange's spelling of `symbol`. */
  exchangeSymbol: string;
  /** The page holds trades whose (last) id is greater than this one. */
  afterId: number;
  /** REST base URL: the config's override or `defaultRestUrl`. */
  restUrl: string;
  /** The polite client every request goes through (one at a time per exchange, timeouts, 429s). */
  http: RestClient;
  signal: AbortSignal;
}

/**
 * The optional hook an exchange provides when it can serve its past trades by id over REST
 * (collectors/exchanges/<exchange>/trade-history.ts, the Exchange's `capabilities.tradeHistory`). The gap
 * filler uses it to fetch what a disconnect or a daemon restart missed.
 */
export interface TradeHistory {
  /** Production REST base URL, used unless the config overrides it. */
  readonly defaultRestUrl: string;
  /**
   * True when a symbol's ids are consecutive integers (an aggregated trade with `count` n ends
   * at its first id + n − 1), so a jump in ids is a gap.
   */
  readonly idsSequential: boolean;
  /** Most trades one page returns. */
  readonly pageSize: number;
  /** Trades with id > afterId, ascending by id, at most `pageSize`; [] when there are none yet. */
  fetchAfter(request: HistoryPageRequest): Promise<Trade[]>;
}
