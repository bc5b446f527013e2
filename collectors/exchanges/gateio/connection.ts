import type { ChannelFrame, ConnectionRules } from '../../ws/channel-protocol.js';
import { type Json, isObject } from '../../trades/wire.js';
import { gateioPair } from './symbols.js';

// Gate documents no cap on pairs per request or per connection for public channels; 300 a
// connection is cautious, and covers all ~2,000 spot pairs in 7 connections.
const MAX_PAIRS = 300;

/** Now in whole seconds: every Gate request carries `time` (docs: "Request time in seconds"). */
export function gateioTime(): number {
  return Math.floor(Date.now() / 1000);
}

/** Gate API v4 spot WebSocket (`wss://api.gateio.ws/ws/v4/`), for its trades and its book. */
export const gateioConnection: ConnectionRules = {
  exchange: 'gateio',
  defaultWsUrl: 'wss://api.gateio.ws',
  maxSymbolsPerConnection: MAX_PAIRS,
  // Gate documents no per-connection message rate for public channels; a few requests a second is polite.
  minSendIntervalMs: 200,
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

  toExchangeSymbol: gateioPair,

  url(wsUrl: string): string {
    return `${wsUrl.replace(/\/+$/, '')}/ws/v4/`;
  },
};

/** The ack key of one subscribe request: Gate acknowledges a request once, echoing its `id` (2024 ack, gct). */
export function gateioAckKey(channel: string, id: unknown): string {
  return id === undefined || id === null ? channel : `${channel}#${String(id)}`;
}

/** A subscribe request on `channel`; docs client_request_example: `id` (an integer) is echoed in the reply (2024 ack: "id":1). */
export function gateioSubscribe(channel: string, id: number, payload: readonly string[]): string {
  return JSON.stringify({ time: gateioTime(), id, channel, event: 'subscribe', payload });
}

/**
 * The connection part of a frame that is not an `update` of `channel`: `spot.pong` (Gate's answer to
 * `spot.ping`, docs spot_pong_response; no recording has one), or the `{"event":"subscribe", ...}`
 * reply to a request on `channel`: an ack, or a refusal. docs server_response_note: "To verify if
 * subscription request is successful or not, you only need to check if error field is null"; the
 * 2021 acks have no `error` key at all, the documented refusal (spot_obu_duplicate_subscribe_error)
 * is `"error": {"code", "message"}, "result": {"status": "fail"}`. Undefined for an `update` frame.
 */
export function gateioControl(message: Json, channel: string): Pick<ChannelFrame, 'ack' | 'error' | 'heartbeat'> | undefined {
  if (message.channel === 'spot.pong') return { heartbeat: true };
  if (typeof message.channel !== 'string') throw new Error('frame has no channel');
  if (message.event === 'update') return undefined;
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
