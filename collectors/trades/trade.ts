import type { MergePolicy } from '../../storage/types.js';

/** Taker side as stored: categorical facts are numbers in storage (STORAGE-CONTRACT.md). */
export const TAKER_BUY = 1;
export const TAKER_SELL = -1;
export type TakerSide = typeof TAKER_BUY | typeof TAKER_SELL;

/** One trade, normalized from any exchange's frame. */
export interface Trade {
  exchange: string;
  /** Unified `BASE-QUOTE`, upper case. */
  symbol: string;
  /** As the exchange gives it; strings stay strings (Bybit ids exceed 2^53). */
  id: string | number;
  price: number;
  /** Base-asset quantity. */
  amount: number;
  /**
   * Exchange matches this trade stands for, when the exchange aggregates fills of one taker
   * order at one price into one message (OKX `count`); absent means 1.
   */
  count?: number;
  /** The aggressor's side: 1 buy, -1 sell. */
  side: TakerSide;
  /** Exchange's trade time, ms since the epoch. */
  exchangeTime: number;
  /** Local wall clock when the frame arrived, ms. */
  receivedAt: number;
}

/** Per-millisecond fields of a trades series and how writes at the same millisecond merge. */
export const TRADE_FIELDS: Readonly<Record<string, MergePolicy>> = {
  price: 'last',
  amount: 'sum',
  count: 'sum',
  buy_amount: 'sum',
  // Sum of price × amount: makes a VWAP exact when several trades share a millisecond.
  notional: 'sum',
};

/** The storage key of a symbol's trades: `trades:<exchange>:<SYMBOL>`. */
export function tradesKey(exchange: string, symbol: string): string {
  return `trades:${exchange}:${symbol}`;
}
