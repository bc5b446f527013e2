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
import type { FrameContext } from '../../ws/channel-protocol.js';
import type { SymbolTable } from '../../ws/symbol-table.js';
import { TAKER_BUY, TAKER_SELL, type Trade } from '../../trades/trade.js';

const COMBINED_HEAD = '{"stream":"';
const COMBINED_DATA = '@trade","data":';
const RAW_HEAD = '{"e":"trade","E":';

const QUOTE = 34; // "
const BACKSLASH = 92;
const ZERO = 48;
const NINE = 57;
const DOT = 46;
const CLOSE_BRACE = 125; // }

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
    // The stream name: plain ASCII up to `@trade"`, without a quote or backslash in it.
    const end = text.indexOf(COMBINED_DATA, COMBINED_HEAD.length);
    if (end < 0) return undefined;
    for (let i = COMBINED_HEAD.length; i < end; i++) {
      const c = text.charCodeAt(i);
      if (c === QUOTE || c === BACKSLASH || c >= 0x80) return undefined;
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
// One function walks a template of the layout: literal bytes to match, and markers (below 0x20,
// so never a byte of the layout) where a value is read. No calls per field: a reader split into
// helpers exceeds what V8 inlines, and the calls then cost more than the reading.
const B_COMBINED_HEAD = Buffer.from(COMBINED_HEAD, 'latin1');
const B_COMBINED_TAIL = Buffer.from('@trade', 'latin1');
const B_DATA = Buffer.from('","data":', 'latin1');

const SKIP_INT = 1; // an integer read and dropped (E, b, a)
const ID = 2;
const PRICE = 3;
const AMOUNT = 4;
const TIME = 5;
const MAKER = 6; // m, buyer is maker
const SKIP_BOOL = 7; // M
const SYMBOL = 8;
const OPTIONAL = 9; // the literal up to the next marker decides whether the section up to END_OPTIONAL is there
const END_OPTIONAL = 10;

/** The layout as template bytes: strings are literals, numbers are markers. */
function template(parts: ReadonlyArray<string | number>): Uint8Array {
  const bytes: number[] = [];
  for (const part of parts) {
    if (typeof part === 'number') bytes.push(part);
    else for (let i = 0; i < part.length; i++) bytes.push(part.charCodeAt(i));
  }
  return Uint8Array.from(bytes);
}

const LAYOUT = template([
  RAW_HEAD, SKIP_INT, ',"s":', SYMBOL, ',"t":', ID, ',"p":', PRICE, ',"q":', AMOUNT,
  OPTIONAL, ',"b":', SKIP_INT, ',"a":', SKIP_INT, END_OPTIONAL,
  ',"T":', TIME, ',"m":', MAKER, ',"M":', SKIP_BOOL, '}',
]);
const AFTER_OPTIONAL = LAYOUT.indexOf(END_OPTIONAL) + 1;
const TRUE = template(['true']);
const FALSE = template(['false']);

/** Whether `bytes` holds `literal` at `from`. */
function hasAt(bytes: Uint8Array, from: number, literal: Uint8Array): boolean {
  if (from + literal.length > bytes.length) return false;
  for (let i = 0; i < literal.length; i++) if (bytes[from + i] !== literal[i]) return false;
  return true;
}

let lastBytesTable: SymbolTable | undefined;
let lastExchangeBytes: Uint8Array = new Uint8Array(0);
let lastUnifiedOfBytes = '';

/**
 * The unified symbol of the quoted exchange symbol starting at `bytes[at]` (a quote), remembered
 * for the next frame; undefined when unknown or not plain ASCII (the JSON.parse path then reads it).
 */
function lookUpSymbolBytes(bytes: Buffer, at: number, symbols: SymbolTable): string | undefined {
  if (bytes[at] !== QUOTE) return undefined;
  const start = at + 1;
  let end = start;
  for (; end < bytes.length && bytes[end] !== QUOTE; end++) {
    const c = bytes[end]!;
    if (c < 0x20 || c >= 0x7f || c === BACKSLASH) return undefined;
  }
  if (end >= bytes.length) return undefined;
  const unified = symbols.fromExchange(bytes.toString('latin1', start, end));
  if (unified === undefined) return undefined;
  lastBytesTable = symbols;
  lastExchangeBytes = bytes.subarray(start, end).slice();
  lastUnifiedOfBytes = unified;
  return unified;
}

/** readTradeFrame over the frame's UTF-8 bytes, with the same results; undefined: decode it and use onMessage. */
export function readTradeBytes(bytes: Buffer, context: FrameContext): Trade | undefined {
  const length = bytes.length;
  let at = 0;
  let combined = false;
  if (hasAt(bytes, 0, B_COMBINED_HEAD)) {
    // The stream name ends at the first quote; plain ASCII without a backslash, `@trade` just before it.
    let end = B_COMBINED_HEAD.length;
    for (; end < length && bytes[end] !== QUOTE; end++) if (bytes[end] === BACKSLASH || bytes[end]! >= 0x80) return undefined;
    if (end - B_COMBINED_TAIL.length < B_COMBINED_HEAD.length || !hasAt(bytes, end - B_COMBINED_TAIL.length, B_COMBINED_TAIL)) return undefined;
    if (!hasAt(bytes, end, B_DATA)) return undefined;
    at = end + B_DATA.length;
    combined = true;
  }
  let symbol: string | undefined;
  let id = 0;
  let price = 0;
  let amount = 0;
  let exchangeTime = 0;
  let buyerIsMaker = false;
  for (let k = 0; k < LAYOUT.length; k++) {
    const step = LAYOUT[k]!;
    if (step >= 0x20) {
      if (at >= length || bytes[at] !== step) return undefined;
      at += 1;
      continue;
    }
    switch (step) {
      case SKIP_INT:
      case ID:
      case TIME: {
        // A non-negative JSON integer as wire.ts `integer` accepts it.
        const start = at;
        let n = 0;
        let c = 0;
        while (at < length && (c = bytes[at]!) >= ZERO && c <= NINE) {
          n = n * 10 + (c - ZERO);
          at += 1;
        }
        const digits = at - start;
        // JSON forbids leading zeros; a fraction or exponent fails the next literal.
        if (digits === 0 || digits > 16 || (digits > 1 && bytes[start] === ZERO) || n > Number.MAX_SAFE_INTEGER) return undefined;
        if (step === ID) id = n;
        else if (step === TIME) exchangeTime = n;
        break;
      }
      case PRICE:
      case AMOUNT: {
        // A `"<digits>[.<digits>]"` string (wire.ts `decimal`), as Number() reads it.
        if (at >= length || bytes[at] !== QUOTE) return undefined;
        const start = ++at;
        let m = 0;
        let digits = 0;
        let scale = 0;
        let c = 0;
        while (at < length && (c = bytes[at]!) >= ZERO && c <= NINE) {
          m = m * 10 + (c - ZERO);
          digits += 1;
          at += 1;
        }
        if (digits === 0) return undefined;
        if (at < length && bytes[at] === DOT) {
          at += 1;
          while (at < length && (c = bytes[at]!) >= ZERO && c <= NINE) {
            m = m * 10 + (c - ZERO);
            digits += 1;
            scale += 1;
            at += 1;
          }
          if (scale === 0) return undefined;
        }
        if (at >= length || bytes[at] !== QUOTE) return undefined;
        // Up to 15 digits the mantissa is exact; longer ones go through Number() itself.
        const value = digits <= 15 && scale <= 22 ? m / POW10[scale]! : Number(bytes.toString('latin1', start, at));
        at += 1;
        if (step === PRICE) price = value;
        else amount = value;
        break;
      }
      case MAKER:
      case SKIP_BOOL: {
        const literal = bytes[at] === TRUE[0] ? TRUE : FALSE;
        if (!hasAt(bytes, at, literal)) return undefined;
        at += literal.length;
        if (step === MAKER) buyerIsMaker = literal === TRUE;
        break;
      }
      case SYMBOL: {
        // A stream of one symbol (or a run of one) matches the last symbol's bytes: no string made.
        const last = lastExchangeBytes;
        if (lastBytesTable === context.symbols && hasAt(bytes, at + 1, last) && bytes[at] === QUOTE && bytes[at + 1 + last.length] === QUOTE) {
          symbol = lastUnifiedOfBytes;
        } else {
          symbol = lookUpSymbolBytes(bytes, at, context.symbols);
          if (symbol === undefined) return undefined;
        }
        at += lastExchangeBytes.length + 2;
        break;
      }
      case OPTIONAL: {
        // Present when the frame continues with the section's first literal (`,"b":`).
        let i = k + 1;
        while (LAYOUT[i]! >= 0x20 && at + i - k - 1 < length && bytes[at + i - k - 1] === LAYOUT[i]) i++;
        if (LAYOUT[i]! >= 0x20) k = AFTER_OPTIONAL - 1;
        break;
      }
      default: // END_OPTIONAL
        break;
    }
  }
  if (combined) {
    if (at >= length || bytes[at] !== CLOSE_BRACE) return undefined;
    at += 1;
  }
  if (at !== length) return undefined;
  return {
    exchange: 'binance',
    symbol: symbol!,
    id,
    price,
    amount,
    side: buyerIsMaker ? TAKER_SELL : TAKER_BUY,
    exchangeTime,
    receivedAt: context.receivedAt,
  };
}
