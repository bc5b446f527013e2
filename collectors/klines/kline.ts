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
