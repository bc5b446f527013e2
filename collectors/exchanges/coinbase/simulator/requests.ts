/**
 * How Coinbase Exchange `ws-feed` answers the `subscribe`/`unsubscribe` messages a client sends
 * (docs.cdp.coinbase.com/exchange/websocket-feed, "Subscribe"; error texts as recorded in
 * ws_error_and_subscriptions_examples.jsonl and quoted by public clients).
 */
import { isJsonObject, type JsonObject } from '../../../simulator/json.js';
import { errorFrame, subscriptionsFrame } from './frames.js';

/** A connection's subscriptions: channel → products, in subscription order. */
export type Subscriptions = Map<string, Set<string>>;

/** What the server sends back and what changed. */
export interface RequestOutcome {
  replies: string[];
  /** True once the message was a valid subscribe: the client escapes the 5 s disconnect. */
  subscribed: boolean;
  /** Products newly subscribed to `matches`: each gets a `last_match` frame. */
  newMatches: string[];
  /** Products newly subscribed to `level2_batch`: each gets a `snapshot` frame. */
  newBooks: string[];
}

// docs_examples_protocol.json `channels_requiring_auth`; the recorded refusal names three of them.
const AUTH_CHANNELS = new Set(['full', 'user', 'level2', 'level3', 'rfq_matches']);
// Public channels of websocket-feed/channels; the simulator produces data for matches, heartbeat and level2_batch.
const PUBLIC_CHANNELS = new Set(['heartbeat', 'status', 'auctionfeed', 'matches', 'ticker', 'ticker_batch', 'level2_batch']);
const FAILED = 'Failed to subscribe';

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function refuse(reason: string): RequestOutcome {
  return { replies: [errorFrame(FAILED, reason)], subscribed: false, newMatches: [], newBooks: [] };
}

/**
 * Channel name → product ids of a request: `channels` holds names, which use the top-level
 * `product_ids`, or `{name, product_ids}` objects (docs_examples_protocol.json shows both).
 * The texts of malformed-request errors are not recorded; they follow the recorded shape.
 */
function requestedChannels(request: JsonObject): Map<string, string[]> | string {
  if (!Array.isArray(request.channels) || request.channels.length === 0) return 'No channels provided';
  const wanted = new Map<string, string[]>();
  for (const channel of request.channels as unknown[]) {
    const name = isJsonObject(channel) ? channel.name : channel;
    const products = isJsonObject(channel) && channel.product_ids !== undefined ? channel.product_ids : (request.product_ids ?? []);
    if (typeof name !== 'string' || !isStringArray(products)) return 'Malformed channel';
    wanted.set(name, [...(wanted.get(name) ?? []), ...products]);
  }
  return wanted;
}

/** Coinbase's replies to one client text frame; applies a valid request to `subscriptions`. */
export function answerRequest(text: string, subscriptions: Subscriptions, isProduct: (id: string) => boolean): RequestOutcome {
  let request: unknown;
  try {
    request = JSON.parse(text);
  } catch {
    // Not recorded; shaped like every other ws-feed error.
    return { replies: [errorFrame('Malformed JSON')], subscribed: false, newMatches: [], newBooks: [] };
  }
  const type = isJsonObject(request) ? request.type : undefined;
  if (!isJsonObject(request) || (type !== 'subscribe' && type !== 'unsubscribe')) return refuse('Type has to be either subscribe or unsubscribe');
  const wanted = requestedChannels(request);
  if (typeof wanted === 'string') return refuse(wanted);
  // All or nothing, checked before anything changes: one bad channel or product refuses the request.
  if ([...wanted.keys()].some((name) => AUTH_CHANNELS.has(name))) return refuse('level2, level3, and full channels now require authentication.');
  const unknownChannel = [...wanted.keys()].find((name) => !PUBLIC_CHANNELS.has(name));
  if (unknownChannel !== undefined) return refuse(`${unknownChannel} is not a valid channel`);
  const unknownProduct = [...wanted.values()].flat().find((id) => !isProduct(id));
  if (unknownProduct !== undefined) return refuse(`${unknownProduct} is not a valid product`);

  const newMatches: string[] = [];
  const newBooks: string[] = [];
  for (const [name, products] of wanted) {
    let current = subscriptions.get(name);
    if (!current) subscriptions.set(name, (current = new Set()));
    for (const id of products) {
      if (type === 'unsubscribe') current.delete(id);
      else if (!current.has(id)) {
        current.add(id);
        if (name === 'matches') newMatches.push(id);
        if (name === 'level2_batch') newBooks.push(id);
      }
    }
  }
  return { replies: [subscriptionsFrame(subscriptions)], subscribed: type === 'subscribe', newMatches, newBooks };
}
