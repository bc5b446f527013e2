import { SymbolTable, type FrameContext, type ParsedFrame, type SubscribeRequest, type TradeProtocol } from '../../trades/protocol.js';
import { TAKER_BUY, TAKER_SELL, type Trade } from '../../trades/trade.js';
import { type Json, decimal, integer, isObject, splitSymbol } from '../../trades/wire.js';
import { readTradeBytes, readTradeFrame } from './trade-frame.js';
import { binanceTradeHistory } from './trade-history.js';
import { binanceInstruments } from './instruments.js';

// Limits from binance-spot-api-docs web-socket-streams.md (2026-07): 1024 streams per connection,
// 5 incoming messages per second (pings, pongs and JSON requests all count), a server ping every
// 20 s that must be answered within a minute.
export const BINANCE_MAX_STREAMS = 1024;
// Keeps each SUBSCRIBE frame small; Binance documents no per-request cap.
const STREAMS_PER_REQUEST = 200;
// "A single connection to stream.binance.com is only valid for 24 hours; expect to be disconnected
// at the 24 hour mark" (web-socket-streams.md). Switching 10 minutes early leaves ample margin.
const MAX_CONNECTION_AGE_MS = 24 * 3_600_000 - 10 * 60_000;


/** SUBSCRIBE requests for each symbol's `<symbol><suffix>` stream (`@trade`, `@depth20@100ms`), each acked by its id. */
export function binanceSubscribeRequests(symbols: SymbolTable, streamSuffix: string, firstRequest = 1): SubscribeRequest[] {
  const requests: SubscribeRequest[] = [];
  for (let start = 0; start < symbols.unified.length; start += STREAMS_PER_REQUEST) {
    const chunk = symbols.unified.slice(start, start + STREAMS_PER_REQUEST);
    const id = firstRequest + requests.length;
    const params = chunk.map((symbol) => `${symbols.toExchange(symbol).toLowerCase()}${streamSuffix}`);
    requests.push({ text: JSON.stringify({ method: 'SUBSCRIBE', params, id }), acks: [{ key: String(id), symbols: chunk }] });
  }
  return requests;
}

/** What a reply to one of our requests means (an ack or a refusal with its code), or undefined for any other frame. */
export function binanceRequestReply(message: Json): Pick<ParsedFrame, 'ack' | 'error'> | undefined {
  if ('error' in message) {
    const error = isObject(message.error) ? message.error : {};
    const id = typeof message.id === 'number' || typeof message.id === 'string' ? String(message.id) : undefined;
    return { error: { ack: id, reason: `code ${String(error.code)}: ${String(error.msg ?? JSON.stringify(message.error))}` } };
  }
  // `{"result":null,"id":N}` acknowledges a SUBSCRIBE; non-null results answer queries we do not send.
  if ('result' in message && 'id' in message) return message.result === null ? { ack: String(message.id) } : {};
  return undefined;
}

/** A `trade` event payload (raw or unwrapped from a combined frame) as a normalized Trade. */
function parseTrade(data: Json, context: FrameContext): Trade {
  if (typeof data.s !== 'string') throw new Error('trade without a symbol (s)');
  const symbol = context.symbols.fromExchange(data.s);
  if (symbol === undefined) throw new Error(`trade for ${data.s}, which this connection did not subscribe`);
  if (typeof data.m !== 'boolean') throw new Error(`m (buyer is maker) is not a boolean: ${JSON.stringify(data.m)}`);
  return {
    exchange: 'binance',
    symbol,
    id: integer(data.t, 't (trade id)'),
    price: decimal(data.p, 'p (price)'),
    amount: decimal(data.q, 'q (quantity)'),
    // The buyer being the maker means the seller was the aggressor.
    side: data.m ? TAKER_SELL : TAKER_BUY,
    exchangeTime: integer(data.T, 'T (trade time)'),
    receivedAt: context.receivedAt,
  };
}

const shutdown: ParsedFrame = { closing: 'binance announced a server shutdown (serverShutdown event)' };

/** Binance spot trades over `/ws` with SUBSCRIBE requests whose acks are checked. */
export const binanceTrades: TradeProtocol = {
  exchange: 'binance',
  defaultWsUrl: 'wss://stream.binance.com:9443',
  maxStreamsPerConnection: BINANCE_MAX_STREAMS,
  // 5 messages/s including our automatic pongs: 4/s leaves room for them.
  minSendIntervalMs: 250,
  idsIncrease: true,
  // Binance pings at the WebSocket level and `ws` pongs automatically; three missed pings
  // mean the link is gone.
  keepalive: { serverPingIntervalMs: 20_000, silenceTimeoutMs: 60_000 },
  maxConnectionAgeMs: MAX_CONNECTION_AGE_MS,
  history: binanceTradeHistory,
  instruments: binanceInstruments,

  toExchangeSymbol(symbol: string): string {
    const [base, quote] = splitSymbol('binance', symbol);
    return base + quote;
  },

  url(wsUrl: string): string {
    return `${wsUrl.replace(/\/+$/, '')}/ws`;
  },

  subscribeMessages(symbols: SymbolTable, firstRequest?: number): SubscribeRequest[] {
    return binanceSubscribeRequests(symbols, '@trade', firstRequest);
  },

  onMessage(text: string, context: FrameContext): ParsedFrame {
    // Nearly every frame is a trade in Binance's fixed layout: read it without JSON.parse.
    const trade = readTradeFrame(text, context);
    return trade ? { trades: [trade] } : parseFrame(text, context);
  },

  onBytes(data: Buffer, context: FrameContext): ParsedFrame | undefined {
    const trade = readTradeBytes(data, context);
    return trade && { trades: [trade] };
  },
};

/** Reads any Binance frame with JSON.parse: the reference reading, and the fallback of readTradeFrame. */
export function parseFrame(text: string, context: FrameContext): ParsedFrame {
  const message: unknown = JSON.parse(text);
  if (!isObject(message)) throw new Error('frame is not a JSON object');
  const reply = binanceRequestReply(message);
  if (reply) return reply;
  // Combined streams wrap the payload as {"stream": ..., "data": ...}; /ws sends it bare.
  // Some payloads (bookTicker, partial depth) carry no event type, so the stream name decides.
  if (typeof message.stream === 'string') {
    if (!isObject(message.data)) throw new Error(`${message.stream} frame without a data object`);
    if (message.stream.endsWith('@trade')) return { trades: [parseTrade(message.data, context)] };
    return message.stream === '!serverShutdown' ? shutdown : {};
  }
  switch (message.e) {
    case 'trade':
      return { trades: [parseTrade(message, context)] };
    case 'serverShutdown':
      return shutdown;
    case undefined:
      throw new Error('frame has no event type (e) and no stream');
    default:
      return {};
  }
}
