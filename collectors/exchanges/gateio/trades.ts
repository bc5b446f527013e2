import type { FrameContext, ParsedFrame, SubscribeRequest, SymbolTable, TradeProtocol } from '../../trades/protocol.js';
import { type Json, isObject } from '../../trades/wire.js';
import { gateioInstruments } from './instruments.js';
import { gateioPair } from './symbols.js';
import { parseGateioTrade } from './trade.js';
import { gateioTradeHistory } from './trade-history.js';

const CHANNEL = 'spot.trades';
// Gate documents no cap on pairs per request or per connection for public channels; 100 pairs a
// request (~1.2 KB) and 300 a connection are cautious, and cover all ~2,000 spot pairs in 7 connections.
const PAIRS_PER_REQUEST = 100;
const MAX_STREAMS = 300;

/** The ack key of one subscribe request: Gate acknowledges a request once, echoing its `id` (2024 ack, gct). */
export function gateioAckKey(channel: string, id: unknown): string {
  return id === undefined || id === null ? channel : `${channel}#${String(id)}`;
}

/** Now in whole seconds: every Gate request carries `time` (docs: "Request time in seconds"). */
export function gateioTime(): number {
  return Math.floor(Date.now() / 1000);
}

/**
 * The `{"event":"subscribe"|"unsubscribe", ...}` reply to a request: an ack, or a refusal.
 * docs server_response_note: "To verify if subscription request is successful or not, you only need
 * to check if error field is null"; the 2021 acks have no `error` key at all, the documented
 * refusal (spot_obu_duplicate_subscribe_error) is `"error": {"code", "message"}, "result": {"status": "fail"}`.
 */
export function parseGateioReply(message: Json, channel: string): ParsedFrame {
  if (message.event !== 'subscribe' || message.channel !== channel) return {};
  const key = gateioAckKey(channel, message.id);
  if (message.error !== undefined && message.error !== null) {
    const error = isObject(message.error) ? message.error : {};
    // docs error_codes: 1 invalid request body, 2 invalid argument, 3 server side error, 4 authentication fail.
    // The echoed payload is left out of the reason: a pair the message names is the one refused.
    const reason = `code ${String(error.code ?? '?')}: ${String(error.message ?? JSON.stringify(message.error))}`;
    return { error: { ack: message.id === undefined || message.id === null ? undefined : key, reason } };
  }
  return { ack: key };
}

/** `spot.pong`, Gate's answer to `spot.ping` (docs spot_pong_response; no recording has one). */
export function isGateioPong(message: Json): boolean {
  return message.channel === 'spot.pong';
}

/** Gate API v4 spot `spot.trades` on `wss://api.gateio.ws/ws/v4/`: one ack per subscribe request. */
export const gateioTrades: TradeProtocol = {
  exchange: 'gateio',
  defaultWsUrl: 'wss://api.gateio.ws',
  maxStreamsPerConnection: MAX_STREAMS,
  // Gate documents no per-connection message rate for public channels; a few requests a second is polite.
  minSendIntervalMs: 200,
  // One id sequence over all markets, so per pair ids strictly increase (see trade-history.ts).
  idsIncrease: true,
  // docs: "spot.ping" is answered with "spot.pong"; Gate documents no server ping and no idle cut-off,
  // so the client pings every 15 s and takes 40 s without any frame (even a pong) as a dead link.
  keepalive: {
    clientPing: {
      intervalMs: 15_000,
      // docs code: '{"time": %d, "channel" : "spot.ping"}' — a getter, so each ping carries its own time.
      get text() {
        return JSON.stringify({ time: gateioTime(), channel: 'spot.ping' });
      },
    },
    silenceTimeoutMs: 40_000,
  },
  history: gateioTradeHistory,
  instruments: gateioInstruments,

  toExchangeSymbol: gateioPair,

  url(wsUrl: string): string {
    return `${wsUrl.replace(/\/+$/, '')}/ws/v4/`;
  },

  subscribeMessages(symbols: SymbolTable, firstRequest = 1): SubscribeRequest[] {
    const requests: SubscribeRequest[] = [];
    for (let start = 0; start < symbols.unified.length; start += PAIRS_PER_REQUEST) {
      const chunk = symbols.unified.slice(start, start + PAIRS_PER_REQUEST);
      // docs client_request_example: `id` (an integer) is echoed in the reply (2024 ack: "id":1).
      const id = firstRequest + requests.length;
      const payload = chunk.map((symbol) => symbols.toExchange(symbol));
      requests.push({
        text: JSON.stringify({ time: gateioTime(), id, channel: CHANNEL, event: 'subscribe', payload }),
        acks: [{ key: gateioAckKey(CHANNEL, id), symbols: chunk }],
      });
    }
    return requests;
  },

  onMessage(text: string, context: FrameContext): ParsedFrame {
    const message: unknown = JSON.parse(text);
    if (!isObject(message)) throw new Error('frame is not a JSON object');
    if (isGateioPong(message)) return { heartbeat: true };
    if (typeof message.channel !== 'string') throw new Error('frame has no channel');
    if (message.event !== 'update') return parseGateioReply(message, CHANNEL);
    // Other channels (spot.order_book_update, spot.tickers, ...) share the connection shape.
    if (message.channel !== CHANNEL) return {};
    const result = message.result;
    if (!isObject(result) || typeof result.currency_pair !== 'string') throw new Error('spot.trades update without result.currency_pair');
    const symbol = context.symbols.fromExchange(result.currency_pair);
    if (symbol === undefined) throw new Error(`trade for ${result.currency_pair}, which this connection did not subscribe`);
    // One trade per update (every recorded spot.trades frame).
    return { trades: [parseGateioTrade(result, symbol, context.receivedAt)] };
  },
};
