/**
 * How OKX answers the requests a client sends on `/ws/v5/public` (OKX v5 docs, sections
 * websocket-api-subscribe and error-code-websocket-public; shapes as in fixtures/okx/docs_examples_protocol.json).
 */
import { isJsonObject } from '../../../simulator/json.js';

/** What a connection's requests can change. */
export interface ConnectionState {
  connId: string;
  /** Subscribed args as `channel:instId`. */
  args: Set<string>;
  /** Times of the subscribe/unsubscribe requests of the last hour. */
  requestTimes: number[];
}

/** Why a `{channel, instId}` arg is refused (the 60018 text), or undefined when it is accepted. */
export type ArgCheck = (channel: string, instId: string) => string | undefined;

// docs overview-websocket: "480 'subscribe/unsubscribe/login' requests per connection per hour".
const REQUESTS_PER_HOUR = 480;
const HOUR_MS = 3_600_000;
// docs: id is "a combination of case-sensitive alphanumerical, ... length 1-32".
const ID = /^[A-Za-z0-9]{1,32}$/;

/** docs subscribe_ack / unsubscribe_ack: `{"id"?, "event", "arg", "connId"}` in that key order. */
function ack(event: string, id: string | undefined, arg: { channel: string; instId: string }, connId: string): string {
  return JSON.stringify({ ...(id !== undefined ? { id } : {}), event, arg, connId });
}

/** docs subscribe_error: `{"id"?, "event":"error", "code", "msg", "connId"}`. */
export function okxError(code: string, msg: string, connId: string, id?: string): string {
  return JSON.stringify({ ...(id !== undefined ? { id } : {}), event: 'error', code, msg, connId });
}

/** The 60018 message as OKX words it today (sieblyio/okx-api#106). */
export function missingArgMessage(channel: string, instId: string): string {
  return `Wrong URL or channel:${channel},instId:${instId} doesn't exist. Please use the correct URL, channel and parameters referring to API document.`;
}

/** OKX's replies to one client text frame (one per arg for a subscribe); applies a valid request to `state`. */
export function answerRequest(text: string, state: ConnectionState, check: ArgCheck, now = Date.now()): string[] {
  const { connId } = state;
  // docs keepalive: the literal text `ping` is answered with the literal text `pong`.
  if (text === 'ping') return ['pong'];
  let request: unknown;
  try {
    request = JSON.parse(text);
  } catch {
    // docs subscribe_error quotes the offending request after "Invalid request: ".
    return [okxError('60012', `Invalid request: ${text}`, connId)];
  }
  if (!isJsonObject(request)) return [okxError('60012', `Invalid request: ${text}`, connId)];
  const { op, args } = request;
  const id = typeof request.id === 'string' ? request.id : undefined;
  if (request.id !== undefined && (id === undefined || !ID.test(id))) return [okxError('60012', `Invalid request: ${text}`, connId)];
  if (op !== 'subscribe' && op !== 'unsubscribe') {
    if (typeof op !== 'string') return [okxError('60012', `Invalid request: ${text}`, connId, id)];
    return [okxError('60019', `Invalid op: ${op}`, connId, id)];
  }
  state.requestTimes = state.requestTimes.filter((t) => now - t < HOUR_MS);
  if (state.requestTimes.length >= REQUESTS_PER_HOUR) return [okxError('60014', 'Requests too frequent.', connId, id)];
  state.requestTimes.push(now);
  // docs subscribe_error: a request without `args` ("argss") is 60012 quoting the request.
  if (!Array.isArray(args)) return [okxError('60012', `Invalid request: ${text}`, connId, id)];
  if (args.length === 0) return [okxError('60013', 'Invalid args', connId, id)];
  // Each arg is answered on its own (ws_subscribe_acks.jsonl: one ack per arg of each request).
  return args.map((arg: unknown) => {
    if (!isJsonObject(arg) || typeof arg.channel !== 'string' || typeof arg.instId !== 'string') return okxError('60013', 'Invalid args', connId, id);
    const { channel, instId } = arg;
    const refusal = check(channel, instId);
    if (refusal !== undefined) return okxError('60018', refusal, connId, id);
    if (op === 'subscribe') state.args.add(`${channel}:${instId}`);
    else state.args.delete(`${channel}:${instId}`);
    return ack(op, id, { channel, instId }, connId);
  });
}
