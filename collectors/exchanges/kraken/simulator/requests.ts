/**
 * How Kraken spot WebSocket v2 answers the requests a client sends: `ping`, and `subscribe` /
 * `unsubscribe` on the `trade` channel, acknowledged one symbol at a time (docs.kraken.com
 * spot-websocket-v2/trade and ping; refusal texts as captured from ws.kraken.com:
 * "Currency pair not supported XDG/USD", "Already subscribed").
 */
import { isJsonObject } from '../../../simulator/json.js';
import { methodReply, subscriptionRefusal } from './frames.js';

/** What the server sends back and what changed. */
export interface RequestOutcome {
  replies: string[];
  /** Symbols newly subscribed with `snapshot` on (Kraken's default): each gets its recent trades. */
  snapshots: string[];
  /** The request was an application-level ping. */
  ping: boolean;
}

function outcome(replies: string[], snapshots: string[] = [], ping = false): RequestOutcome {
  return { replies, snapshots, ping };
}

/** Kraken's replies to one client text frame; applies a valid request to `subscribed` (trade-channel symbols). */
export function answerRequest(text: string, subscribed: Set<string>, isListed: (symbol: string) => boolean): RequestOutcome {
  const timeIn = Date.now();
  let request: unknown;
  try {
    request = JSON.parse(text);
  } catch {
    // Not recorded; shaped like Kraken's other refusals.
    return outcome([methodReply({ error: 'Malformed request', method: '', success: false }, timeIn)]);
  }
  if (!isJsonObject(request) || typeof request.method !== 'string') return outcome([methodReply({ error: 'Malformed request', method: '', success: false }, timeIn)]);
  const { method, req_id: reqId } = request;
  if (method === 'ping') return outcome([methodReply({ method: 'pong', reqId, success: true }, timeIn)], [], true);
  if (method !== 'subscribe' && method !== 'unsubscribe') return outcome([methodReply({ error: 'Method not found', method, reqId, success: false }, timeIn)]);
  const params = isJsonObject(request.params) ? request.params : {};
  const symbols = Array.isArray(params.symbol) ? params.symbol : undefined;
  if (!symbols || symbols.some((s) => typeof s !== 'string')) return outcome([methodReply({ error: 'Missing or invalid symbol', method, reqId, success: false }, timeIn)]);
  // The simulator produces trades only; other channels are refused rather than acknowledged and left silent.
  if (params.channel !== 'trade') return outcome([methodReply({ error: `Channel ${String(params.channel)} is not simulated`, method, reqId, success: false }, timeIn)]);

  const snapshot = params.snapshot !== false;
  const replies: string[] = [];
  const snapshots: string[] = [];
  for (const symbol of symbols as string[]) {
    const refusal = subscriptionRefusal(method, symbol, isListed(symbol), subscribed.has(symbol));
    if (refusal) {
      replies.push(methodReply({ error: refusal, method, reqId, success: false, symbol }, timeIn));
      continue;
    }
    if (method === 'subscribe') {
      subscribed.add(symbol);
      if (snapshot) snapshots.push(symbol);
      replies.push(methodReply({ method, reqId, result: { channel: 'trade', snapshot, symbol }, success: true }, timeIn));
    } else {
      subscribed.delete(symbol);
      replies.push(methodReply({ method, reqId, result: { channel: 'trade', symbol }, success: true }, timeIn));
    }
  }
  return outcome(replies, snapshots);
}
