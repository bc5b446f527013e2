import type { MergePolicy } from '../../storage/types.js';

/** One candle of an exchange's klines, normalized. Prices in quote currency, volume in base. */
export interface Kline {
  /** Open time, ms since the epoch: the candle covers [openTime, openTime + interval). */
  openTime: number;
  open: number;
  high: number;
  low: number;
  close: number;
  /** Base-asset volume. */
  volume: number;
  /** Quote-asset volume, where the exchange gives it. */
  quoteVolume?: number;
  /** Number of trades, where the exchange gives it. */
  trades?: number;
}

/** A candle with every field: what candles computed from trades and the simulators' klines hold. */
export interface Candle extends Kline {
  /** Quote-asset volume: sum of price × amount. */
  quoteVolume: number;
  /** Exchange matches (a trade standing for several counts as several). */
  trades: number;
}

/** Optional kline fields an exchange may give, by their storage field name. */
export type OptionalKlineField = 'quote_volume' | 'trades';

/** The stored fields of a klines series: OHLCV plus what the exchange gives; an open candle is rewritten until closed. */
export function klineFields(optional: readonly OptionalKlineField[]): Record<string, MergePolicy> {
  const fields: Record<string, MergePolicy> = { open: 'last', high: 'last', low: 'last', close: 'last', volume: 'last' };
  for (const field of optional) fields[field] = 'last';
  return fields;
}

/** A kline as a stored record with the series' fields. */
export function klineRecord(kline: Kline, optional: readonly OptionalKlineField[]): Record<string, number> {
  const record: Record<string, number> = { open: kline.open, high: kline.high, low: kline.low, close: kline.close, volume: kline.volume };
  for (const field of optional) {
    const value = field === 'quote_volume' ? kline.quoteVolume : kline.trades;
    // An exchange that usually gives the field and left it out of one row: 0 volume/trades is the honest reading only when volume is 0.
    record[field] = value ?? 0;
  }
  return record;
}

/** The storage key of a symbol's klines: `klines:<exchange>:<SYMBOL>:<interval>`. */
export function klinesKey(exchange: string, symbol: string, interval: string): string {
  return `klines:${exchange}:${symbol}:${interval}`;
}

/** The storage key of the candles an exchange does not have (no trades, or beyond its history): `gaps:<exchange>:<SYMBOL>:<interval>`. */
export function klineGapsKey(exchange: string, symbol: string, interval: string): string {
  return `gaps:${exchange}:${symbol}:${interval}`;
}

/** Why a candle is recorded as missing. */
export const KLINE_GAP_REASON = {
  /** The exchange left it out of two answers that covered it: no trades, or a hole in its history. */
  notServed: 1,
  /** Older than the history the exchange serves (Kraken: the 720 most recent candles). */
  beyondHistory: 2,
} as const;

/**
 * Fields of a `gaps:<exchange>:<SYMBOL>:<interval>` sample, stored at the first missing open
 * time: candles with open times from `first_open_time` to `last_open_time` (inclusive) do not exist
 * at the exchange, so they are not asked for again.
 */
export const KLINE_GAP_FIELDS: Readonly<Record<string, MergePolicy>> = {
  first_open_time: 'last',
  last_open_time: 'last',
  candles: 'last',
  reason: 'last',
};
