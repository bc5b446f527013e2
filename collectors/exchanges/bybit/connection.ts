import type { ChannelFrame, ConnectionRules, SubscribeRequest } from '../../ws/channel-protocol.js';
import type { SymbolTable } from '../../ws/symbol-table.js';
import { type Json, splitSymbol } from '../../trades/wire.js';

// Limits from bybit-exchange/docs v5/ws/connect ("Public channel - Args limits"): spot takes at most
// 10 args per subscribe request (more is refused whole: "args size >10"), and the args of one public
// connection may not exceed 21,000 characters. 200 topics of at most ~35 characters stay well inside
// that, in 20 requests.
const MAX_TOPICS = 200;
const ARGS_PER_REQUEST = 10;

/** Bybit v5 public spot WebSocket (`/v5/public/spot`), for its trades and its book. */
export const bybitConnection: ConnectionRules = {
  exchange: 'bybit',
  defaultWsUrl: 'wss://stream.bybit.com',
  maxSymbolsPerConnection: MAX_TOPICS,
  // Bybit documents no per-message limit on public streams; 10 requests a second subscribes 200
  // symbols in 2 s without bursting.
  minSendIntervalMs: 100,
  // docs v5/ws/connect: "we recommend that you send the ping heartbeat packet every 20 seconds";
  // the server answers each one, so 30 s without any frame means the link is gone.
  keepalive: { clientPing: { intervalMs: 20_000, text: '{"op":"ping"}' }, silenceTimeoutMs: 30_000 },

  toExchangeSymbol(symbol: string): string {
    const [base, quote] = splitSymbol('bybit', symbol);
    return base + quote;
  },

  url(wsUrl: string): string {
    return `${wsUrl.replace(/\/+$/, '')}/v5/public/spot`;
  },
};

/** A subscribe or unsubscribe request for some symbols' topics (`<topicPrefix><SYMBOL>`). */
export function bybitRequest(op: 'subscribe' | 'unsubscribe', topicPrefix: string, names: readonly string[], reqId: string): string {
  return JSON.stringify({ req_id: reqId, op, args: names.map((name) => topicPrefix + name) });
}

/**
 * Subscribe requests for the symbols' `<topicPrefix><SYMBOL>` topics, ARGS_PER_REQUEST a request.
 * req_id (`<idPrefix><n>`) is echoed in the ack (docs subscribe_ack_public_spot): the only way to tell requests apart.
 */
export function bybitSubscribeRequests(symbols: SymbolTable, topicPrefix: string, idPrefix: string, firstRequest = 1): SubscribeRequest[] {
  const requests: SubscribeRequest[] = [];
  for (let start = 0; start < symbols.unified.length; start += ARGS_PER_REQUEST) {
    const chunk = symbols.unified.slice(start, start + ARGS_PER_REQUEST);
    const reqId = `${idPrefix}${firstRequest + requests.length}`;
    const names = chunk.map((symbol) => symbols.toExchange(symbol));
    requests.push({ text: bybitRequest('subscribe', topicPrefix, names, reqId), acks: [{ key: reqId, symbols: chunk }] });
  }
  return requests;
}

/** A reply to one of our `op` requests, on any topic: subscribe ack or refusal, or a pong. */
export function bybitOpReply(message: Json): Pick<ChannelFrame, 'ack' | 'error' | 'heartbeat'> {
  const reqId = typeof message.req_id === 'string' && message.req_id !== '' ? message.req_id : undefined;
  const reason = typeof message.ret_msg === 'string' ? message.ret_msg : JSON.stringify(message);
  switch (message.op) {
    case 'subscribe':
      // docs subscribe_ack_public_spot: {"success":true,"ret_msg":"subscribe","conn_id":...,"req_id":"10001","op":"subscribe"};
      // refusals carry success:false and the reason in ret_msg ("Invalid symbol :[publicTrade.XXX]").
      if (message.success === false) return { error: { ack: reqId, reason } };
      // Without our req_id (we always send one) an ack cannot be matched to a request.
      return reqId !== undefined ? { ack: reqId } : {};
    case 'ping':
      // docs pong_public_spot: {"success":true,"ret_msg":"pong","conn_id":...,"op":"ping"}.
      return { heartbeat: true };
    case 'pong':
      // ws_private_pong_example.jsonl: {"op":"pong","args":["1753340040127"],"conn_id":...} (private and linear streams).
      return { heartbeat: true };
    default:
      return {};
  }
}
