import type { ChannelFrame, ConnectionRules, SubscribeRequest } from '../../ws/channel-protocol.js';
import type { SymbolTable } from '../../ws/symbol-table.js';
import { type Json, isObject, splitSymbol } from '../../trades/wire.js';

// Kraken documents no symbol cap per connection and a load-dependent message rate
// (docs.kraken.com guides/spot-ratelimits: "Exceeded msg rate"), so both stay conservative.
const MAX_SYMBOLS = 200;
const SYMBOLS_PER_REQUEST = 50;
// Answers are matched by symbol, never by req_id, so the pings can share one id.
const PING = JSON.stringify({ method: 'ping', req_id: 0 });

/** Kraken spot WebSocket v2, for its trades and its book, with per-symbol acks and app-level pings. */
export const krakenConnection: ConnectionRules = {
  exchange: 'kraken',
  defaultWsUrl: 'wss://ws.kraken.com',
  maxSymbolsPerConnection: MAX_SYMBOLS,
  minSendIntervalMs: 250,
  // Heartbeats come about once a second once subscribed (spot-websocket-v2/heartbeat); the ping
  // checks that the server still answers requests, and its pong counts as a frame too.
  keepalive: { clientPing: { intervalMs: 20_000, text: PING }, silenceTimeoutMs: 10_000 },

  toExchangeSymbol(symbol: string): string {
    const [base, quote] = splitSymbol('kraken', symbol);
    // v2 spells bitcoin BTC and refuses XBT ("Currency pair not supported XBT/USD", JKorf/Kraken.Net#126).
    if (base === 'XBT' || quote === 'XBT') throw new Error(`kraken: bad symbol ${JSON.stringify(symbol)}: WebSocket v2 spells bitcoin BTC (XBT is the v1/REST name)`);
    return `${base}/${quote}`;
  },

  url(wsUrl: string): string {
    const base = wsUrl.replace(/\/+$/, '');
    return base.endsWith('/v2') ? base : `${base}/v2`;
  },
};

/**
 * Subscribe requests for the symbols, SYMBOLS_PER_REQUEST a request, numbered from `firstRequest`:
 * `request(names, reqId)` writes one. Kraken acknowledges each symbol on its own, by its name.
 */
export function krakenSubscribeRequests(symbols: SymbolTable, request: (names: readonly string[], reqId: number) => string, firstRequest = 1): SubscribeRequest[] {
  const requests: SubscribeRequest[] = [];
  for (let start = 0; start < symbols.unified.length; start += SYMBOLS_PER_REQUEST) {
    const chunk = symbols.unified.slice(start, start + SYMBOLS_PER_REQUEST);
    const names = chunk.map((symbol) => symbols.toExchange(symbol));
    requests.push({ text: request(names, firstRequest + requests.length), acks: chunk.map((symbol, i) => ({ key: names[i]!, symbols: [symbol] })) });
  }
  return requests;
}

/** A reply to a request we sent on `channel` (`trade`, `book`): per-symbol acks and refusals, pongs. */
export function krakenMethodReply(message: Json, channel: string): Pick<ChannelFrame, 'error' | 'ack' | 'heartbeat'> {
  if (message.success === false) {
    // {"error":"Currency pair not supported XDG/USD","method":"subscribe","success":false,"symbol":"XDG/USD"}
    const ack = typeof message.symbol === 'string' ? message.symbol : undefined;
    return { error: { ack, reason: typeof message.error === 'string' ? message.error : JSON.stringify(message) } };
  }
  if (message.method === 'pong') return { heartbeat: true };
  const result = isObject(message.result) ? message.result : {};
  // One ack per symbol: {"method":"subscribe","result":{"channel":"trade","snapshot":false,"symbol":"BTC/USD"},"success":true,...}
  if (message.method === 'subscribe' && result.channel === channel && typeof result.symbol === 'string') return { ack: result.symbol };
  return {};
}

/**
 * A frame of another channel than `channel`'s data, by its `channel`: heartbeats and the status
 * frame prove the link; `{}` for other channels. `method` replies are read by krakenMethodReply.
 */
export function krakenOtherChannel(message: Json): ChannelFrame {
  switch (message.channel) {
    case 'heartbeat':
    case 'status':
      return { heartbeat: true };
    case undefined:
      throw new Error('frame has neither a method nor a channel');
    default:
      return {};
  }
}
