import type { RestLimits } from '../rest/rest-client.js';
import type { Kline, OptionalKlineField } from './kline.js';

/** One REST request: path under the REST base URL, query parameters and its weight against the exchange's limit. */
export interface RestRequest {
  path: string;
  params: Record<string, string | number>;
  /** Cost against the exchange's token bucket; default 1. */
  weight?: number;
}

/** What a page request asks for: candles whose open time lies in [from, to], oldest to newest. */
export interface KlinePageQuery {
  /** The exchange's spelling of the symbol. */
  exchangeSymbol: string;
  /** Unified interval name (`1m`, `1h`). */
  interval: string;
  intervalMs: number;
  /** First open time wanted (ms, aligned to the interval). */
  from: number;
  /** Last open time wanted (ms, aligned; at most `from + (maxPerRequest − 1) × intervalMs`). */
  to: number;
  /** Wall clock now, ms: some exchanges serve recent and older candles from different endpoints. */
  now: number;
}

/** The last open time and candle count of a page starting at `query.from`, at most `maxPerRequest` candles. */
export function pageSpan(query: KlinePageQuery, maxPerRequest: number): { to: number; limit: number } {
  const to = Math.min(query.to, query.from + (maxPerRequest - 1) * query.intervalMs);
  return { to, limit: Math.max(1, Math.floor((to - query.from) / query.intervalMs) + 1) };
}

/** What the provider says about itself. */
export interface ProviderHealth {
  ok: boolean;
  /** Why not, in the exchange's words (e.g. `system maintenance until 10:00 UTC`). */
  reason?: string;
}

/**
 * The hooks one exchange provides so the generic kline poller can collect its candles: the
 * endpoint and its paging, the row layout, the intervals it knows, its status check. One file
 * per exchange (collectors/exchanges/<exchange>/klines.ts) implements it, named as `capabilities.klines`
 * in the exchange's index.ts.
 */
export interface KlineProtocol {
  /** Exchange name as used in configs and keys, e.g. `binance`. */
  readonly exchange: string;
  /** Production REST base URL, used unless the config overrides it. */
  readonly defaultRestUrl: string;
  /** Unified interval name → the exchange's (`1h` → `1H` on OKX, `3600` on Coinbase). Others are refused at config time. */
  readonly intervals: Readonly<Record<string, string>>;
  /** Most candles one request returns. */
  readonly maxPerRequest: number;
  /**
   * How far back the exchange serves candles, in candles of the interval (Kraken: the 720 most
   * recent); undefined when it serves all its history. Older candles are recorded as gaps.
   */
  readonly maxHistoryCandles?: number;
  /** Optional fields its rows carry (`quote_volume`, `trades`). */
  readonly optionalFields: readonly OptionalKlineField[];
  /** Published REST limits (shared with every other REST use of the exchange). */
  readonly limits: RestLimits;
  /** Unified `BASE-QUOTE` → the exchange's symbol; throws a clear Error for a malformed symbol. */
  toExchangeSymbol(symbol: string): string;
  /** The request for one page of candles. */
  pageRequest(query: KlinePageQuery): RestRequest;
  /**
   * Reads one page: the candles in it, ascending by open time, whatever order the exchange sent.
   * Throws an Error naming the exchange and what was wrong for a body of unexpected shape, or
   * for an exchange error inside a 2xx body (OKX `code`, Bybit `retCode`, Kraken `error`).
   */
  parsePage(body: unknown, query: KlinePageQuery): Kline[];
  /** The exchange's status endpoint and how to read it (Binance `/sapi/v1/system/status` or `/api/v3/ping`, OKX `/api/v5/system/status`, ...). */
  readonly health: {
    request: RestRequest;
    parse(body: unknown): ProviderHealth;
  };
}
