import type { MergePolicy } from '../../storage/types.js';

/**
 * Fields of a `gaps:<exchange>:<SYMBOL>` sample, stored at the gap's `from_time`: trades
 * between the two exchange times (exclusive) may be missing and could not be fetched.
 */
export const GAP_FIELDS: Readonly<Record<string, MergePolicy>> = {
  /** Exchange time (ms) of the last trade stored before the gap. */
  from_time: 'last',
  /** Exchange time (ms) of the first trade stored after it. */
  to_time: 'last',
};

/** The storage key of a symbol's unfillable gaps: `gaps:<exchange>:<SYMBOL>`. */
export function gapsKey(exchange: string, symbol: string): string {
  return `gaps:${exchange}:${symbol}`;
}
