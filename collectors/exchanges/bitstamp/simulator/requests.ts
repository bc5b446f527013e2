/**
 * How Bitstamp answers the frames a client sends on wss://ws.bitstamp.net (bitstamp.net/websocket/v2/,
 * fixtures/bitstamp/docs_examples_protocol.json). Recorded: `bts:subscription_succeeded`
 * (ws_subscription_succeeded_2022-01-05.jsonl) and one `bts:error`, "Incorrect JSON format."
 * (ws_control_frames_2019-04_tickerservice.jsonl). Not recorded nor documented, so the simulator's
 * own in Bitstamp's envelope: the heartbeat reply, the refusal of an unknown channel or pair
 * (here it names the channel), the unsubscribe reply.
 */
import { isJsonObject } from '../../../simulator/json.js';

/** The public channels of the docs; the simulator publishes live_trades_ and order_book_. */
const CHANNEL = /^(live_trades|live_orders|order_book|detail_order_book|diff_order_book)_([a-z0-9]+)$/;

/** Bitstamp's `{event, channel, data}` envelope, in the recorded key order of control frames. */
export function bitstampFrame(event: string, channel: string, data: unknown): string {
  return JSON.stringify({ event, channel, data });
}

/** What a client frame did. */
export interface RequestOutcome {
  reply: string;
  /** A channel newly subscribed (a book channel's first snapshot follows). */
  subscribed?: string;
}

/** Bitstamp's answer to one client text frame; applies a valid subscribe/unsubscribe to `channels`. */
export function answerRequest(text: string, channels: Set<string>, listed: (pair: string) => boolean): RequestOutcome {
  let request: unknown;
  try {
    request = JSON.parse(text);
  } catch {
    request = undefined;
  }
  if (!isJsonObject(request) || typeof request.event !== 'string') return { reply: bitstampFrame('bts:error', '', { code: null, message: 'Incorrect JSON format.' }) };
  if (request.event === 'bts:heartbeat') return { reply: bitstampFrame('bts:heartbeat', '', { status: 'success' }) };
  const channel = isJsonObject(request.data) ? request.data.channel : undefined;
  const match = typeof channel === 'string' ? CHANNEL.exec(channel) : null;
  if (request.event !== 'bts:subscribe' && request.event !== 'bts:unsubscribe') {
    return { reply: bitstampFrame('bts:error', '', { code: null, message: `Unknown event ${request.event}.` }) };
  }
  if (!match || !listed(match[2]!)) return { reply: bitstampFrame('bts:error', typeof channel === 'string' ? channel : '', { code: null, message: 'Bad subscription string.' }) };
  if (request.event === 'bts:unsubscribe') {
    channels.delete(channel as string);
    return { reply: bitstampFrame('bts:unsubscription_succeeded', channel as string, {}) };
  }
  const fresh = !channels.has(channel as string);
  channels.add(channel as string);
  return { reply: bitstampFrame('bts:subscription_succeeded', channel as string, {}), subscribed: fresh ? (channel as string) : undefined };
}
