import type { ChannelFrame, ConnectionRules, SubscribeRequest } from '../../ws/channel-protocol.js';
import type { SymbolTable } from '../../ws/symbol-table.js';
import { type Json, isObject, splitSymbol } from '../../trades/wire.js';

// docs.cdp.coinbase.com/exchange/websocket-feed/best-practices asks to spread subscriptions over
// several connections; no per-connection cap is documented, so this keeps each one modest.
const MAX_PRODUCTS = 50;

/** Coinbase Exchange `ws-feed`, for its trades (`matches`) and its book (`level2_batch`), kept alive by the `heartbeat` channel. */
export const coinbaseConnection: ConnectionRules = {
  exchange: 'coinbase',
  defaultWsUrl: 'wss://ws-feed.exchange.coinbase.com',
  maxSymbolsPerConnection: MAX_PRODUCTS,
  // websocket-feed/rate-limits: 8 requests per second per IP (bursts of 20); 5/s leaves room for
  // other connections of the same daemon.
  minSendIntervalMs: 200,
  // The heartbeat channel sends one frame per product every second (websocket-feed/channels);
  // Coinbase sends no WebSocket pings we could rely on.
  keepalive: { silenceTimeoutMs: 15_000 },

  toExchangeSymbol(symbol: string): string {
    splitSymbol('coinbase', symbol);
    // Coinbase product ids are spelled the unified way already (rest_product_BTC-USD_2026-06-19.json).
    return symbol;
  },

  url(wsUrl: string): string {
    // The feed is the root of its host: wss://ws-feed.exchange.coinbase.com (docs_examples_protocol.json).
    return wsUrl;
  },
};

/** A subscribe or unsubscribe request for some products on some channels. */
export function coinbaseRequest(type: 'subscribe' | 'unsubscribe', productIds: readonly string[], channels: readonly string[]): string {
  return JSON.stringify({ type, product_ids: productIds, channels });
}

/** How the cumulative `subscriptions` reply confirms one channel: the ack key, and the names the channel is listed under. */
export interface CoinbaseSubscription {
  ack: string;
  listedAs: readonly string[];
}

/**
 * All of a connection's products in ONE subscribe frame, on `channel` and `heartbeat`: Coinbase
 * answers with a cumulative `subscriptions` reply, not a per-request ack, so one request is what
 * one reply can confirm. The loop sends it at once, well within the 5 s Coinbase allows before it disconnects.
 */
export function coinbaseSubscribeRequests(symbols: SymbolTable, channel: string, subscription: CoinbaseSubscription): SubscribeRequest[] {
  const productIds = symbols.unified.map((symbol) => symbols.toExchange(symbol));
  return [{ text: coinbaseRequest('subscribe', productIds, [channel, 'heartbeat']), acks: [{ key: subscription.ack, symbols: symbols.unified }] }];
}

/** The reason of an `error` frame as Coinbase words it (`message: reason`), else the frame itself. */
export function coinbaseErrorReason(message: Json, text: string): string {
  return [message.message, message.reason].filter((part) => typeof part === 'string').join(': ') || text.slice(0, 200);
}

/** True when the cumulative `subscriptions` reply lists every product of this connection under the channel. */
function confirms(message: Json, subscription: CoinbaseSubscription, symbols: SymbolTable): boolean {
  const channels = Array.isArray(message.channels) ? message.channels : [];
  const listing = channels.find((channel): channel is Json => isObject(channel) && subscription.listedAs.includes(channel.name as string));
  const listed = new Set(listing && Array.isArray(listing.product_ids) ? listing.product_ids : []);
  return symbols.unified.every((symbol) => listed.has(symbols.toExchange(symbol)));
}

/** A frame that is not the channel's data, by its `type`: a heartbeat, the subscriptions reply, an error, or `{}` for another channel's. */
export function coinbaseControl(message: Json, text: string, subscription: CoinbaseSubscription, symbols: SymbolTable): ChannelFrame {
  switch (message.type) {
    case 'heartbeat':
      return { heartbeat: true };
    case 'subscriptions':
      // Cumulative (ws_subscriptions_acks.jsonl): a reply that does not list all our products yet
      // answers nothing of ours; the ack timeout reports products that never appear.
      return confirms(message, subscription, symbols) ? { ack: subscription.ack } : {};
    case 'error':
      // {"type":"error","message":"Failed to subscribe","reason":"ETH-USD is not a valid product"}
      // (ws_error_and_subscriptions_examples.jsonl): no request id, the reason names the product.
      return { error: { reason: coinbaseErrorReason(message, text) } };
    case undefined:
      throw new Error('frame has no type');
    default:
      // ticker, snapshot, l2update, status...: "clients are expected to ignore messages they do not support".
      return {};
  }
}
