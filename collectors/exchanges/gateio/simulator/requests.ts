/**
 * How Gate answers what a client sends on `/ws/v4/` (Gate API v4 Spot WebSocket docs; shapes as in
 * fixtures/gateio/docs_examples_protocol.json and the 2021/2024 recorded acks).
 */
import { isJsonObject } from '../../../simulator/json.js';

/** What a connection's requests can change. */
export interface GateConnectionState {
  connId: string;
  /** Subscribed `channel:pair` (spot.trades) or `channel:pair:interval` (candlesticks, books). */
  subscriptions: Set<string>;
}

/** Why a channel's payload is refused (Gate's error message), or undefined when it is accepted. */
export type PayloadCheck = (channel: string, payload: readonly string[]) => string | undefined;

/** The keys a channel's payload subscribes: spot.trades takes a list of pairs, the others one pair and its options. */
export function subscriptionKeys(channel: string, payload: readonly string[]): string[] {
  return channel === 'spot.trades' ? payload.map((pair) => `${channel}:${pair}`) : [`${channel}:${payload.join(':')}`];
}

/** The common head of every reply: time, time_ms (since 2022-11-22), the echoed id, conn_id (2024 ack, gct). */
function head(now: number, id: unknown, connId: string): Record<string, unknown> {
  return { time: Math.floor(now / 1000), time_ms: now, ...(id !== undefined ? { id } : {}), conn_id: connId };
}

/** docs spot_obu_duplicate_subscribe_error: `"error": {"code", "message"}, "result": {"status": "fail"}`. */
function refusal(now: number, request: Record<string, unknown>, connId: string, code: number, message: string): string {
  const { channel, event, payload } = request;
  return JSON.stringify({ ...head(now, request.id, connId), channel, event, payload, error: { code, message }, result: { status: 'fail' } });
}

/** Gate's reply to one client text frame; applies a valid (un)subscribe to `state`. */
export function answerGateRequest(text: string, state: GateConnectionState, check: PayloadCheck, now = Date.now()): string | undefined {
  let request: unknown;
  try {
    request = JSON.parse(text);
  } catch {
    // docs error_codes: 1 "Invalid request body format". What Gate echoes then is not documented.
    return JSON.stringify({ ...head(now, undefined, state.connId), channel: '', event: '', error: { code: 1, message: 'Invalid request body format' }, result: { status: 'fail' } });
  }
  if (!isJsonObject(request)) return refusal(now, {}, state.connId, 1, 'Invalid request body format');
  // docs spot_pong_response, answering '{"time": %d, "channel" : "spot.ping"}'.
  if (request.channel === 'spot.ping') return JSON.stringify({ time: Math.floor(now / 1000), channel: 'spot.pong', event: '', error: null, result: null });
  const { channel, event, payload } = request;
  if (event !== 'subscribe' && event !== 'unsubscribe') return refusal(now, request, state.connId, 2, `unknown event ${String(event)}`);
  if (typeof channel !== 'string' || !Array.isArray(payload) || payload.length === 0 || !payload.every((p) => typeof p === 'string')) {
    return refusal(now, request, state.connId, 2, 'Invalid argument provided');
  }
  const why = check(channel, payload as string[]);
  if (why !== undefined) return refusal(now, request, state.connId, 2, why);
  for (const key of subscriptionKeys(channel, payload as string[])) {
    if (event === 'subscribe') state.subscriptions.add(key);
    else state.subscriptions.delete(key);
  }
  // The 2024 ack (ws_subscribe_ack_conn_id_trace_id_2024-09-12_gct.json) without trace_id/requestId.
  return JSON.stringify({ ...head(now, request.id, state.connId), channel, event, payload, result: { status: 'success' } });
}
