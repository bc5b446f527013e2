import type { ChannelFrame, ConnectionRules, SubscribeRequest } from '../../ws/channel-protocol.js';
import type { SymbolTable } from '../../ws/symbol-table.js';
import { type Json, isObject, splitSymbol } from '../../trades/wire.js';

// Limits from binance-spot-api-docs web-socket-streams.md (2026-07): 1024 streams per connection,
// 5 incoming messages per second (pings, pongs and JSON requests all count), a server ping every
// 20 s that must be answered within a minute.
const MAX_STREAMS = 1024;
// Keeps each SUBSCRIBE frame small; Binance documents no per-request cap.
const STREAMS_PER_REQUEST = 200;
// "A single connection to stream.binance.com is only valid for 24 hours; expect to be disconnected
// at the 24 hour mark" (web-socket-streams.md). Switching 10 minutes early leaves ample margin.
const MAX_CONNECTION_AGE_MS = 24 * 3_600_000 - 10 * 60_000;

/** Binance spot's WebSocket streams, for its trades and its book. */
export const binanceConnection: ConnectionRules = {
  exchange: 'binance',
  defaultWsUrl: 'wss://stream.binance.com:9443',
  maxSymbolsPerConnection: MAX_STREAMS,
  // 5 messages/s including our automatic pongs: 4/s leaves room for them.
  minSendIntervalMs: 250,
  // Binance pings at the WebSocket level and `ws` pongs automatically; three missed pings
  // mean the link is gone.
  keepalive: { serverPingIntervalMs: 20_000, silenceTimeoutMs: 60_000 },
  maxConnectionAgeMs: MAX_CONNECTION_AGE_MS,

  toExchangeSymbol(symbol: string): string {
    const [base, quote] = splitSymbol('binance', symbol);
    return base + quote;
  },

  // Raw streams: each payload bare (the trades' byte reader relies on it). The book uses /stream.
  url(wsUrl: string): string {
    return `${wsUrl.replace(/\/+$/, '')}/ws`;
  },
};

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
export function binanceRequestReply(message: Json): Pick<ChannelFrame, 'ack' | 'error'> | undefined {
  if ('error' in message) {
    const error = isObject(message.error) ? message.error : {};
    const id = typeof message.id === 'number' || typeof message.id === 'string' ? String(message.id) : undefined;
    return { error: { ack: id, reason: `code ${String(error.code)}: ${String(error.msg ?? JSON.stringify(message.error))}` } };
  }
  // `{"result":null,"id":N}` acknowledges a SUBSCRIBE; non-null results answer queries we do not send.
  if ('result' in message && 'id' in message) return message.result === null ? { ack: String(message.id) } : {};
  return undefined;
}

/** The `serverShutdown` event (docs serverShutdown_combined), on either endpoint. */
export const BINANCE_SHUTDOWN: ChannelFrame = { closing: 'binance announced a server shutdown (serverShutdown event)' };
