/**
 * What every parsed record must satisfy before it is stored, whatever the exchange: one place for
 * the value rules, so a parser only reads the wire format and the engine refuses what no real
 * market can print. Each check returns why a record is impossible, or undefined when it is fine;
 * the reasons are constants (no string is built per record on the trade path).
 */

// The checks name only the fields they read, so this file stands below the engines whose records
// (Trade, Kline, a book level's LevelText) it checks, and every engine can use it.

/** A positive number below infinity: false for 0, negatives, NaN and overflowed (400-digit) values. */
function positiveFinite(x: number): boolean {
  return x > 0 && x < Infinity;
}

/** A number ≥ 0 below infinity. */
function nonNegativeFinite(x: number): boolean {
  return x >= 0 && x < Infinity;
}

/** Why a trade cannot be real (price and amount must be positive and finite), or undefined. */
export function tradeProblem(trade: { readonly price: number; readonly amount: number }): string | undefined {
  if (!positiveFinite(trade.price)) return 'price is not a positive finite number';
  if (!positiveFinite(trade.amount)) return 'amount is not a positive finite number';
  return undefined;
}

/** The values of a candle (a Kline) that can be impossible. */
interface CandleValues {
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
  readonly volume: number;
  readonly quoteVolume?: number;
}

/** Why a candle cannot be real (high ≥ max(open, close), min(open, close) ≥ low ≥ 0, volumes ≥ 0, all finite), or undefined. */
export function klineProblem(kline: CandleValues): string | undefined {
  const { open, high, low, close, volume, quoteVolume } = kline;
  if (!nonNegativeFinite(open) || !nonNegativeFinite(close) || !nonNegativeFinite(high) || !nonNegativeFinite(low)) {
    return 'open, high, low or close is not a non-negative finite number';
  }
  if (high < open || high < close) return 'high is below open or close';
  if (low > open || low > close) return 'low is above open or close';
  if (!nonNegativeFinite(volume)) return 'volume is not a non-negative finite number';
  if (quoteVolume !== undefined && !nonNegativeFinite(quoteVolume)) return 'quote volume is not a non-negative finite number';
  return undefined;
}

/** Why a book level cannot be real (price positive, size ≥ 0 — 0 deletes —, both finite decimals), or undefined. */
export function levelProblem([priceText, sizeText]: readonly [price: string, size: string]): string | undefined {
  // Number('') is 0 and Number(' 1') is 1: the text must be a number as printed, not blank.
  if (priceText.trim() === '' || !positiveFinite(Number(priceText))) return 'price is not a positive finite number';
  if (sizeText.trim() === '' || !nonNegativeFinite(Number(sizeText))) return 'size is not a non-negative finite number';
  return undefined;
}

/**
 * `records` without those `problem` refuses, each handed to `refuse` with its reason: `records`
 * itself when all pass (no copy on the common path).
 */
export function withoutRefused<T>(records: readonly T[], problem: (record: T) => string | undefined, refuse: (record: T, reason: string) => void): readonly T[] {
  let kept: T[] | undefined;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    const reason = problem(record);
    if (reason !== undefined) {
      kept ??= records.slice(0, i);
      refuse(record, reason);
    } else if (kept) {
      kept.push(record);
    }
  }
  return kept ?? records;
}
