/**
 * Bitstamp's WebSocket v2 connection: its rules, the envelope every frame shares, `{event, channel,
 * data}`, and the control events trades and books read alike (bitstamp.net/websocket/v2/,
 * fixtures/bitstamp/docs_examples_protocol.json; recorded: ws_subscription_succeeded_2022-01-05.jsonl
 * and the one `bts:error` of ws_control_frames_2019-04_tickerservice.jsonl).
 */
import type { ChannelFrame, ConnectionRules, SubscribeRequest } from '../../ws/channel-protocol.js';
import type { SymbolTable } from '../../ws/symbol-table.js';
import { type Json, isObject, splitSymbol } from '../../trades/wire.js';

/** `BTC-USD` → `btcusd`, the `url_symbol` of trading-pairs-info and the channels' suffix. */
export function bitstampSymbol(symbol: string): string {
  const [base, quote] = splitSymbol('bitstamp', symbol);
  return (base + quote).toLowerCase();
}

/** wss://ws.bitstamp.net, for its trades (`live_trades_<pair>`) and its book (`order_book_<pair>`). */
export const bitstampConnection: ConnectionRules = {
  exchange: 'bitstamp',
  defaultWsUrl: 'wss://ws.bitstamp.net',
  // Bitstamp documents no limit on channels per connection; the recorded session carries 20.
  // 100 keeps one connection's subscribe burst short.
  maxSymbolsPerConnection: 100,
  // No documented message rate for subscribes either: 20 a second subscribes 100 pairs in 5 s.
  minSendIntervalMs: 50,
  // docs: "you should do so by websocket heartbeat" ({"event":"bts:heartbeat"}); the reply is
  // undocumented, so a quiet pair whose server does not answer is reopened after 60 s of silence.
  // No maxConnectionAgeMs: the 90-day limit is beyond a timer's range, and Bitstamp announces its
  // own closes with bts:request_reconnect.
  keepalive: { clientPing: { intervalMs: 20_000, text: '{"event":"bts:heartbeat"}' }, silenceTimeoutMs: 60_000 },
  toExchangeSymbol: bitstampSymbol,
  url(wsUrl: string): string {
    return wsUrl;
  },
};

/** Reads a frame's envelope; throws for anything else. */
export function bitstampEnvelope(text: string): Json & { event: string; channel: string } {
  const message: unknown = JSON.parse(text);
  if (!isObject(message)) throw new Error('frame is not a JSON object');
  if (typeof message.event !== 'string') throw new Error('frame without an event');
  // `bts:request_reconnect` carries channel "" (docs); a frame without one is read as "".
  return { ...message, event: message.event, channel: typeof message.channel === 'string' ? message.channel : '' };
}

/** One `bts:subscribe` per channel: Bitstamp acknowledges each by its channel name. */
export function bitstampSubscribeRequests(prefix: string, symbols: SymbolTable): SubscribeRequest[] {
  return symbols.unified.map((symbol) => {
    const channel = prefix + symbols.toExchange(symbol);
    return { text: JSON.stringify({ event: 'bts:subscribe', data: { channel } }), acks: [{ key: channel, symbols: [symbol] }] };
  });
}

/** The control events; undefined for a data event. */
export function bitstampControl(message: Json & { event: string; channel: string }): Pick<ChannelFrame, 'ack' | 'error' | 'heartbeat' | 'closing'> | undefined {
  switch (message.event) {
    case 'bts:subscription_succeeded':
      return { ack: message.channel };
    case 'bts:unsubscription_succeeded':
      return {};
    case 'bts:error': {
      // Recorded (2019): {"event":"bts:error","channel":"","data":{"code":null,"message":"Incorrect JSON format."}}.
      // A channel, where given, names the refused subscription.
      const data = isObject(message.data) ? message.data : {};
      const reason = typeof data.message === 'string' ? data.message : JSON.stringify(message.data);
      return { error: { ack: message.channel === '' ? undefined : message.channel, reason } };
    }
    case 'bts:request_reconnect':
      // docs: "you will have a few seconds to reconnect ... you will be placed to a new server.
      // Consequentially, you can continue without any message loss." Not recorded.
      return { closing: 'bitstamp asked to reconnect (bts:request_reconnect)' };
    case 'bts:heartbeat':
      // The docs show only the request {"event":"bts:heartbeat"}; no reply is documented or
      // recorded, so any frame with this event counts as the answer.
      return { heartbeat: true };
    default:
      return undefined;
  }
}
