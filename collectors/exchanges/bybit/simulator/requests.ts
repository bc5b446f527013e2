/**
 * How Bybit answers the requests a client sends on `/v5/public/spot` (bybit-exchange/docs v5/ws/connect;
 * reply shapes as in fixtures/bybit/docs_examples_protocol.json and ws_spot_subscribe_ack_and_publicTrade_BTCUSDC_2025-10-27.jsonl).
 * Where Bybit's wording is neither documented nor quoted anywhere (malformed JSON, unknown op, empty
 * args, unsubscribe), the ret_msg text is the simulator's own, in Bybit's reply envelope.
 */
import { isJsonObject } from '../../../simulator/json.js';

/** What a connection's requests can change. */
export interface ConnectionState {
  connId: string;
  topics: Set<string>;
}

/** Which listed exchange symbols exist, and whether an unlisted one is refused. */
export interface TopicCheck {
  listed(symbol: string): boolean;
  rejectUnknownSymbols: boolean;
}

// docs v5/ws/connect: "Spot can input up to 10 args for each subscription request sent to one connection".
const MAX_ARGS = 10;
// The public spot topics (docs v5/websocket/public/*); the simulator publishes only publicTrade.
const TOPIC = /^(?:publicTrade|tickers|orderbook\.(?:1|50|200|1000)|kline\.(?:1|3|5|15|30|60|120|240|360|720|D|W|M))\.([A-Z0-9]+)$/;

/** docs subscribe_ack_public_spot key order; req_id only when the request had one (the 2025-10-27 ack has none). */
function reply(success: boolean, retMsg: string, state: ConnectionState, reqId: string | undefined, op: string): string {
  return JSON.stringify({ success, ret_msg: retMsg, conn_id: state.connId, ...(reqId !== undefined ? { req_id: reqId } : {}), op });
}

/** Why a topic is refused, or undefined when it is accepted. */
function refusal(topic: unknown, check: TopicCheck): string | undefined {
  const match = typeof topic === 'string' ? TOPIC.exec(topic) : null;
  // An unknown topic is answered "error:handler not found,topic:<topic>" on /v5/public/linear (quoted by
  // several public clients, e.g. for orderbook.500.BTCUSDT on mainnet); the spot wording is not in the fixtures.
  if (!match) return `error:handler not found,topic:${String(topic)}`;
  // Spot answers an unlisted symbol "Invalid symbol :[publicTrade.XXX]" (quoted by client code handling
  // spot refusals; not in the fixtures or docs, which show no failure example).
  if (check.rejectUnknownSymbols && !check.listed(match[1]!)) return `Invalid symbol :[${topic as string}]`;
  return undefined;
}

/** Bybit's reply to one client text frame; applies a valid subscribe/unsubscribe to `state`. */
export function answerRequest(text: string, state: ConnectionState, check: TopicCheck): string {
  let request: unknown;
  try {
    request = JSON.parse(text);
  } catch {
    request = undefined;
  }
  if (!isJsonObject(request) || typeof request.op !== 'string') return reply(false, 'error:malformed request', state, undefined, '');
  const { op, args } = request;
  const reqId = typeof request.req_id === 'string' ? request.req_id : undefined;
  if (op === 'ping') return reply(true, 'pong', state, reqId, 'ping');
  if (op !== 'subscribe' && op !== 'unsubscribe') return reply(false, `error:unsupported op ${op}`, state, reqId, op);
  if (!Array.isArray(args) || args.length === 0) return reply(false, 'error:args is empty', state, reqId, op);
  // Observed on spot (2026-09-12, a public probe log): 26 args → {"success":false,"ret_msg":"args size >10"}.
  if (args.length > MAX_ARGS) return reply(false, `args size >${MAX_ARGS}`, state, reqId, op);
  // One bad topic fails the whole request (observed by clients: "one bad symbol kills the whole subscribe").
  for (const topic of args) {
    const why = refusal(topic, check);
    if (why !== undefined) return reply(false, why, state, reqId, op);
  }
  for (const topic of args as string[]) {
    if (op === 'subscribe') state.topics.add(topic);
    else state.topics.delete(topic);
  }
  // docs subscribe_ack_public_spot: ret_msg "subscribe" on spot.
  return reply(true, op, state, reqId, op);
}
