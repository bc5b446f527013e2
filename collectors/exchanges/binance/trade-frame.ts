/**
 * A fast reader for Binance `trade` frames that skips JSON.parse, from the text (readTradeFrame)
 * or, sparing the UTF-8 decode too, from the bytes (readTradeBytes). Binance writes every field
 * in one fixed order, so the frame is matched character by character against that layout; any
 * deviation (whitespace, another key, an escape, an odd number) returns undefined and the
 * caller parses the frame with JSON.parse instead. Because the whole object must match, keys
 * cannot repeat, and every value read is exactly what JSON.parse and wire.ts would give.
 *
 * Layout (raw `/ws` payload, or the same wrapped as `{"stream":"<name>@trade","data":…}`):
 * `{"e":"trade","E":<int>,"s":"<SYMBOL>","t":<int>,"p":"<decimal>","q":"<decimal>",
 * ["b":<int>,"a":<int>,]"T":<int>,"m":<bool>,"M":<bool>}` (`b`/`a` until 2021).
 */
import type { FrameContext, SymbolTable } from '../../trades/protocol.js';
import { TAKER_BUY, TAKER_SELL, type Trade } from '../../trades/trade.js';

const COMBINED_HEAD = '{"stream":"';
const COMBINED_DATA = '@trade","data":';
const RAW_HEAD = '{"e":"trade","E":';

const QUOTE = 34; // "
const BACKSLASH = 92;
const ZERO = 48;
const NINE = 57;
const DOT = 46;

// 10^k for k ≤ 22 is exact in a double: m / 10^k is then correctly rounded, as Number() is.
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);

// Where the last read stopped (a module-level cursor: readers return values, not objects).
let at = 0;

/** Reads a non-negative JSON integer at `at` as wire.ts `integer` accepts it; NaN when it is not one. */
function readInt(text: string): number {
  const start = at;
  let n = 0;
  let c = text.charCodeAt(at);
  while (c >= ZERO && c <= NINE) {
    n = n * 10 + (c - ZERO);
    c = text.charCodeAt(++at);
  }
  const digits = at - start;
  // JSON forbids leading zeros; a fraction or exponent ends the digits and fails the next match.
  if (digits === 0 || digits > 16 || (digits > 1 && text.charCodeAt(start) === ZERO) || n > Number.MAX_SAFE_INTEGER) return NaN;
  return n;
}

/** Reads a `"<digits>[.<digits>]"` string at `at` (wire.ts `decimal`) as Number() would; NaN otherwise. */
function readDecimal(text: string): number {
  if (text.charCodeAt(at) !== QUOTE) return NaN;
  const start = ++at;
  let m = 0;
  let digits = 0;
  let c = text.charCodeAt(at);
  while (c >= ZERO && c <= NINE) {
    m = m * 10 + (c - ZERO);
    digits += 1;
    c = text.charCodeAt(++at);
  }
  if (digits === 0) return NaN;
  let scale = 0;
  if (c === DOT) {
    c = text.charCodeAt(++at);
    while (c >= ZERO && c <= NINE) {
      m = m * 10 + (c - ZERO);
      digits += 1;
      scale += 1;
      c = text.charCodeAt(++at);
    }
    if (scale === 0) return NaN;
  }
  if (c !== QUOTE) return NaN;
  const end = at++;
  // Up to 15 digits the mantissa is exact; longer ones go through Number() itself.
  return digits <= 15 && scale <= 22 ? m / POW10[scale]! : Number(text.slice(start, end));
}

/** Matches `literal` at `at` and moves past it. */
function skip(text: string, literal: string): boolean {
  if (!text.startsWith(literal, at)) return false;
  at += literal.length;
  return true;
}

/** Reads `true` or `false` at `at`; undefined for anything else. */
function readBool(text: string): boolean | undefined {
  if (skip(text, 'true')) return true;
  if (skip(text, 'false')) return false;
  return undefined;
}

// The last symbol looked up: a stream of one symbol then needs no substring per frame.
let lastTable: SymbolTable | undefined;
let lastExchange = '';
let lastUnified = '';

/** Reads `"<SYMBOL>"` at `at` and maps it to the unified symbol; undefined when unknown or escaped. */
function readSymbol(text: string, symbols: SymbolTable): string | undefined {
  if (text.charCodeAt(at) !== QUOTE) return undefined;
  const start = at + 1;
  if (lastTable === symbols && text.startsWith(lastExchange, start) && text.charCodeAt(start + lastExchange.length) === QUOTE) {
    at = start + lastExchange.length + 1;
    return lastUnified;
  }
  const end = text.indexOf('"', start);
  if (end < 0) return undefined;
  const exchangeSymbol = text.slice(start, end);
  if (exchangeSymbol.includes('\\')) return undefined;
  const unified = symbols.fromExchange(exchangeSymbol);
  if (unified === undefined) return undefined;
  lastTable = symbols;
  lastExchange = exchangeSymbol;
  lastUnified = unified;
  at = end + 1;
  return unified;
}

/**
 * The trade of a Binance `trade` frame in Binance's own layout, read without JSON.parse; undefined
 * when the frame is anything else or deviates at all (the caller then uses JSON.parse).
 */
export function readTradeFrame(text: string, context: FrameContext): Trade | undefined {
  at = 0;
  let combined = false;
  if (text.startsWith(COMBINED_HEAD)) {
    // The stream name: anything up to `@trade"` without a quote or backslash in it.
    const end = text.indexOf(COMBINED_DATA, COMBINED_HEAD.length);
    if (end < 0) return undefined;
    for (let i = COMBINED_HEAD.length; i < end; i++) {
      const c = text.charCodeAt(i);
      if (c === QUOTE || c === BACKSLASH) return undefined;
    }
    at = end + COMBINED_DATA.length;
    combined = true;
  }
  if (!skip(text, RAW_HEAD)) return undefined;
  if (Number.isNaN(readInt(text)) || !skip(text, ',"s":')) return undefined;
  const symbol = readSymbol(text, context.symbols);
  if (symbol === undefined || !skip(text, ',"t":')) return undefined;
  const id = readInt(text);
  if (Number.isNaN(id) || !skip(text, ',"p":')) return undefined;
  const price = readDecimal(text);
  if (Number.isNaN(price) || !skip(text, ',"q":')) return undefined;
  const amount = readDecimal(text);
  if (Number.isNaN(amount)) return undefined;
  if (skip(text, ',"b":')) {
    if (Number.isNaN(readInt(text)) || !skip(text, ',"a":') || Number.isNaN(readInt(text))) return undefined;
  }
  if (!skip(text, ',"T":')) return undefined;
  const exchangeTime = readInt(text);
  if (Number.isNaN(exchangeTime) || !skip(text, ',"m":')) return undefined;
  const buyerIsMaker = readBool(text);
  if (buyerIsMaker === undefined || !skip(text, ',"M":') || readBool(text) === undefined || !skip(text, '}')) return undefined;
  if (combined && !skip(text, '}')) return undefined;
  if (at !== text.length) return undefined;
  return {
    exchange: 'binance',
    symbol,
    id,
    price,
    amount,
    // The buyer being the maker means the seller was the aggressor.
    side: buyerIsMaker ? TAKER_SELL : TAKER_BUY,
    exchangeTime,
    receivedAt: context.receivedAt,
  };
}

// The same layout read from the frame's bytes, which spares decoding it into a string first.
const bytesOf = (literal: string): Uint8Array => Buffer.from(literal, 'latin1');
const B_COMBINED_HEAD = bytesOf(COMBINED_HEAD);
const B_COMBINED_TAIL = bytesOf('@trade');
const B_DATA = bytesOf('","data":');
const B_RAW_HEAD = bytesOf(RAW_HEAD);
const B_S = bytesOf(',"s":');
const B_T_ID = bytesOf(',"t":');
const B_P = bytesOf(',"p":');
const B_Q = bytesOf(',"q":');
const B_B = bytesOf(',"b":');
const B_A = bytesOf(',"a":');
const B_T_TIME = bytesOf(',"T":');
const B_M = bytesOf(',"m":');
const B_M_UPPER = bytesOf(',"M":');
const B_TRUE = bytesOf('true');
const B_FALSE = bytesOf('false');
const B_CLOSE = bytesOf('}');

/** Whether `bytes` holds `literal` at `from`. */
function hasAt(bytes: Uint8Array, from: number, literal: Uint8Array): boolean {
  if (from + literal.length > bytes.length) return false;
  for (let i = 0; i < literal.length; i++) if (bytes[from + i] !== literal[i]) return false;
  return true;
}

/** Matches `literal` at `at` and moves past it. */
function skipBytes(bytes: Uint8Array, literal: Uint8Array): boolean {
  if (!hasAt(bytes, at, literal)) return false;
  at += literal.length;
  return true;
}

/** readInt over bytes (past the end reads undefined, which ends the digits). */
function readIntBytes(bytes: Uint8Array): number {
  const start = at;
  let n = 0;
  let c = bytes[at]!;
  while (c >= ZERO && c <= NINE) {
    n = n * 10 + (c - ZERO);
    c = bytes[++at]!;
  }
  const digits = at - start;
  if (digits === 0 || digits > 16 || (digits > 1 && bytes[start] === ZERO) || n > Number.MAX_SAFE_INTEGER) return NaN;
  return n;
}

/** readDecimal over bytes. */
function readDecimalBytes(bytes: Buffer): number {
  if (bytes[at] !== QUOTE) return NaN;
  const start = ++at;
  let m = 0;
  let digits = 0;
  let c = bytes[at]!;
  while (c >= ZERO && c <= NINE) {
    m = m * 10 + (c - ZERO);
    digits += 1;
    c = bytes[++at]!;
  }
  if (digits === 0) return NaN;
  let scale = 0;
  if (c === DOT) {
    c = bytes[++at]!;
    while (c >= ZERO && c <= NINE) {
      m = m * 10 + (c - ZERO);
      digits += 1;
      scale += 1;
      c = bytes[++at]!;
    }
    if (scale === 0) return NaN;
  }
  if (c !== QUOTE) return NaN;
  const end = at++;
  return digits <= 15 && scale <= 22 ? m / POW10[scale]! : Number(bytes.toString('latin1', start, end));
}

/** readBool over bytes. */
function readBoolBytes(bytes: Uint8Array): boolean | undefined {
  if (skipBytes(bytes, B_TRUE)) return true;
  if (skipBytes(bytes, B_FALSE)) return false;
  return undefined;
}

let lastBytesTable: SymbolTable | undefined;
let lastExchangeBytes: Uint8Array = new Uint8Array(0);
let lastUnifiedOfBytes = '';

/** readSymbol over bytes: plain ASCII only (anything else takes the JSON.parse path). */
function readSymbolBytes(bytes: Buffer, symbols: SymbolTable): string | undefined {
  if (bytes[at] !== QUOTE) return undefined;
  const start = at + 1;
  if (lastBytesTable === symbols && hasAt(bytes, start, lastExchangeBytes) && bytes[start + lastExchangeBytes.length] === QUOTE) {
    at = start + lastExchangeBytes.length + 1;
    return lastUnifiedOfBytes;
  }
  let end = start;
  for (; end < bytes.length && bytes[end] !== QUOTE; end++) {
    const c = bytes[end]!;
    if (c < 0x20 || c >= 0x7f || c === BACKSLASH) return undefined;
  }
  if (end >= bytes.length) return undefined;
  const exchangeSymbol = bytes.toString('latin1', start, end);
  const unified = symbols.fromExchange(exchangeSymbol);
  if (unified === undefined) return undefined;
  lastBytesTable = symbols;
  lastExchangeBytes = bytes.subarray(start, end).slice();
  lastUnifiedOfBytes = unified;
  at = end + 1;
  return unified;
}

/** readTradeFrame over the frame's UTF-8 bytes, with the same results; undefined: decode it and use onMessage. */
export function readTradeBytes(bytes: Buffer, context: FrameContext): Trade | undefined {
  at = 0;
  let combined = false;
  if (hasAt(bytes, 0, B_COMBINED_HEAD)) {
    // The stream name ends at the first quote; no backslash before it, `@trade` just before it.
    let end = B_COMBINED_HEAD.length;
    for (; end < bytes.length && bytes[end] !== QUOTE; end++) if (bytes[end] === BACKSLASH) return undefined;
    if (end - B_COMBINED_TAIL.length < B_COMBINED_HEAD.length || !hasAt(bytes, end - B_COMBINED_TAIL.length, B_COMBINED_TAIL)) return undefined;
    at = end;
    if (!skipBytes(bytes, B_DATA)) return undefined;
    combined = true;
  }
  if (!skipBytes(bytes, B_RAW_HEAD)) return undefined;
  if (Number.isNaN(readIntBytes(bytes)) || !skipBytes(bytes, B_S)) return undefined;
  const symbol = readSymbolBytes(bytes, context.symbols);
  if (symbol === undefined || !skipBytes(bytes, B_T_ID)) return undefined;
  const id = readIntBytes(bytes);
  if (Number.isNaN(id) || !skipBytes(bytes, B_P)) return undefined;
  const price = readDecimalBytes(bytes);
  if (Number.isNaN(price) || !skipBytes(bytes, B_Q)) return undefined;
  const amount = readDecimalBytes(bytes);
  if (Number.isNaN(amount)) return undefined;
  if (skipBytes(bytes, B_B)) {
    if (Number.isNaN(readIntBytes(bytes)) || !skipBytes(bytes, B_A) || Number.isNaN(readIntBytes(bytes))) return undefined;
  }
  if (!skipBytes(bytes, B_T_TIME)) return undefined;
  const exchangeTime = readIntBytes(bytes);
  if (Number.isNaN(exchangeTime) || !skipBytes(bytes, B_M)) return undefined;
  const buyerIsMaker = readBoolBytes(bytes);
  if (buyerIsMaker === undefined || !skipBytes(bytes, B_M_UPPER) || readBoolBytes(bytes) === undefined || !skipBytes(bytes, B_CLOSE)) return undefined;
  if (combined && !skipBytes(bytes, B_CLOSE)) return undefined;
  if (at !== bytes.length) return undefined;
  return {
    exchange: 'binance',
    symbol,
    id,
    price,
    amount,
    side: buyerIsMaker ? TAKER_SELL : TAKER_BUY,
    exchangeTime,
    receivedAt: context.receivedAt,
  };
}
