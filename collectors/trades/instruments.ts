import type { RestClient } from '../rest/rest-client.js';

/** One spot instrument as the exchange lists it. */
export interface ListedInstrument {
  /** The exchange's spelling, as `TradeProtocol.toExchangeSymbol` gives it (BTCUSDT, BTC-USDT, BTC/USD). */
  exchangeSymbol: string;
  /** The unified `BASE-QUOTE` spelling, as a config writes it. */
  unified: string;
  /** False when listed but not trading now (halted, delisting, not open yet). */
  trading: boolean;
  /** The exchange's own word for its state (`TRADING`, `live`, `online`...), for messages. */
  status: string;
}

/** What one instrument-list request gets. */
export interface InstrumentListRequest {
  /** The exchange spellings of the configured symbols: an exchange that can be asked for just these is. */
  wanted: readonly string[];
  /** REST base URL: the config's override or `defaultRestUrl`. */
  restUrl: string;
  /** The polite client every request of the exchange goes through. */
  http: RestClient;
  signal: AbortSignal;
}

/**
 * The optional hook an exchange provides to list its spot instruments over REST
 * (collectors/exchanges/<exchange>/instruments.ts, the Exchange's `capabilities.instruments`), so a
 * configured symbol the exchange does not list fails clearly instead of streaming nothing.
 */
export interface InstrumentList {
  /** Production REST base URL, used unless the config overrides it. */
  readonly defaultRestUrl: string;
  /** The listed instruments, at least every one of `wanted` the exchange lists; throws when it cannot tell. */
  fetch(request: InstrumentListRequest): Promise<ListedInstrument[]>;
}
