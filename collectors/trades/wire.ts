/**
 * Checked readers for the fields of exchange frames, shared by every exchange's hooks: each
 * throws an Error naming the field and the value, which the trade stream counts as an
 * unparsable frame. They check the format only: whether a value can be real (a price of 0, a
 * number too long for a double) is validation.ts's call, per record, so one bad record does not
 * cost the rest of its frame.
 */

export type Json = Record<string, unknown>;

const DECIMAL = /^-?\d+(\.\d+)?$/;
const ISO_TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/;
const UNIFIED_SYMBOL = /^([A-Z0-9]+)-([A-Z0-9]+)$/;

/** True for a JSON object (not null, not an array). */
export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A decimal sent as a string (`"65000.12"`, `"-1.5"`), as the nearest double (Infinity beyond its range). */
export function decimal(value: unknown, field: string): number {
  if (typeof value !== 'string' || !DECIMAL.test(value)) throw new Error(`${field} is not a decimal string: ${JSON.stringify(value)}`);
  return Number(value);
}

/** A decimal sent as a JSON number (Kraken prices and sizes, Coinbase candles); JSON.parse makes a 400-digit one Infinity. */
export function jsonNumber(value: unknown, field: string): number {
  if (typeof value !== 'number') throw new Error(`${field} is not a number: ${JSON.stringify(value)}`);
  return value;
}

/** A non-negative safe integer sent as a JSON number (ids, ms timestamps). */
export function integer(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new Error(`${field} is not an integer: ${JSON.stringify(value)}`);
  return value;
}

/** An ISO-8601 / RFC 3339 UTC time with up to 9 fractional digits, in ms; sub-millisecond digits are truncated. */
export function isoTimeMs(value: unknown, field: string): number {
  const match = typeof value === 'string' ? ISO_TIME.exec(value) : null;
  const seconds = match ? Date.parse(`${match[1]}Z`) : NaN;
  if (!match || Number.isNaN(seconds)) throw new Error(`${field} is not an ISO-8601 UTC time: ${JSON.stringify(value)}`);
  return seconds + Number((match[2] ?? '').padEnd(3, '0').slice(0, 3));
}

/** Splits a unified `BASE-QUOTE` symbol; throws naming the exchange for a malformed one. */
export function splitSymbol(exchange: string, symbol: string): [base: string, quote: string] {
  const match = UNIFIED_SYMBOL.exec(symbol);
  if (!match) throw new Error(`${exchange}: bad symbol ${JSON.stringify(symbol)}: expected BASE-QUOTE in upper case, e.g. BTC-USDT`);
  return [match[1]!, match[2]!];
}
