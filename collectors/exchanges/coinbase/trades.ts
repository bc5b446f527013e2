import type { FrameContext, ParsedFrame, SubscribeRequest, SymbolTable, TradeProtocol } from '../../trades/protocol.js';
import type { Trade } from '../../trades/trade.js';
import { type Json, isObject, isoTimeMs, splitSymbol } from '../../trades/wire.js';
import { coinbaseTrade } from './trade.js';
import { coinbaseTradeHistory } from './trade-history.js';
import { coinbaseInstruments } from './instruments.js';

// docs.cdp.coinbase.com/exchange/websocket-feed/best-practices asks to spread subscriptions over
// several connections; no per-connection cap is documented, so this keeps each one modest.
const MAX_PRODUCTS = 50;
// All of a connection's products go in ONE subscribe frame: Coinbase answers with a cumulative
// `subscriptions` reply, not a per-request ack, so one request is what one reply can confirm.
const SUBSCRIPTION_ACK = 'matches';
// "2021-04-17T16:43:30.244075Z" (ws_matches_and_last_match.jsonl); REST also prints nanoseconds.


/** ISO-8601 UTC time in ms (sub-millisecond digits truncated). */
export function coinbaseTimeMs(value: unknown, field = 'time'): number {
  return isoTimeMs(value, field);
}

/**
 * A `match` or `last_match` frame as a normalized Trade. Coinbase's `side` is the MAKER's side
 * (docs.cdp.coinbase.com/exchange/websocket-feed/channels, matches channel), so the taker is the
 * opposite: ws_full_session_2021-04-17.jsonl shows trade 881613 as a `sell` match and a `buy` ticker.
 */
export function parseCoinbaseMatch(message: Json, context: FrameContext): Trade {
  if (typeof message.product_id !== 'string') throw new Error('match without a product_id');
  const symbol = context.symbols.fromExchange(message.product_id);
  if (symbol === undefined) throw new Error(`match for ${message.product_id}, which this connection did not subscribe`);
  return coinbaseTrade(message, symbol, context.receivedAt);
}


/** True when the cumulative `subscriptions` reply lists every product of this connection under `matches`. */
function confirmsMatches(message: Json, symbols: SymbolTable): boolean {
  const channels = Array.isArray(message.channels) ? message.channels : [];
  const matches = channels.find((channel): channel is Json => isObject(channel) && channel.name === 'matches');
  const listed = new Set(matches && Array.isArray(matches.product_ids) ? matches.product_ids : []);
  return symbols.unified.every((symbol) => listed.has(symbols.toExchange(symbol)));
}

/** The reason of an `error` frame as Coinbase words it (`message: reason`), else the frame itself. */
export function coinbaseErrorReason(message: Json, text: string): string {
  return [message.message, message.reason].filter((part) => typeof part === 'string').join(': ') || text.slice(0, 200);
}

/** Coinbase Exchange `ws-feed` trades from the `matches` channel, kept alive by the `heartbeat` channel. */
export const coinbaseTrades: TradeProtocol = {
  exchange: 'coinbase',
  defaultWsUrl: 'wss://ws-feed.exchange.coinbase.com',
  maxStreamsPerConnection: MAX_PRODUCTS,
  // websocket-feed/rate-limits: 8 requests per second per IP (bursts of 20); 5/s leaves room for
  // other connections of the same daemon.
  minSendIntervalMs: 200,
  // Trade ids are sequential per product (ws_matches_and_last_match.jsonl: SKL-USD 1568267, 1568268, ...).
  idsIncrease: true,
  // The heartbeat channel sends one frame per product every second (websocket-feed/channels);
  // Coinbase sends no WebSocket pings we could rely on.
  keepalive: { silenceTimeoutMs: 15_000 },
  history: coinbaseTradeHistory,
  instruments: coinbaseInstruments,

  toExchangeSymbol(symbol: string): string {
    splitSymbol('coinbase', symbol);
    // Coinbase product ids are spelled the unified way already (rest_product_BTC-USD_2026-06-19.json).
    return symbol;
  },

  url(wsUrl: string): string {
    // The feed is the root of its host: wss://ws-feed.exchange.coinbase.com (docs_examples_protocol.json).
    return wsUrl;
  },

  subscribeMessages(symbols: SymbolTable): SubscribeRequest[] {
    // The loop sends the first request at once, well within the 5 s Coinbase allows before it disconnects.
    const productIds = symbols.unified.map((symbol) => symbols.toExchange(symbol));
    const text = JSON.stringify({ type: 'subscribe', product_ids: productIds, channels: ['matches', 'heartbeat'] });
    return [{ text, acks: [{ key: SUBSCRIPTION_ACK, symbols: symbols.unified }] }];
  },

  onMessage(text: string, context: FrameContext): ParsedFrame {
    const message: unknown = JSON.parse(text);
    if (!isObject(message)) throw new Error('frame is not a JSON object');
    switch (message.type) {
      case 'match':
        return { trades: [parseCoinbaseMatch(message, context)] };
      case 'last_match':
        // The product's latest trade, re-sent on every subscribe: after a daemon restart it is
        // usually one already stored, and the sum fields would count it twice (dedup state does
        // not survive a restart). Storing it would fill at most one trade of a reconnect gap.
        parseCoinbaseMatch(message, context);
        return { heartbeat: true };
      case 'heartbeat':
        return { heartbeat: true };
      case 'subscriptions':
        // Cumulative (ws_subscriptions_acks.jsonl): a reply that does not list all our products yet
        // answers nothing of ours; the ack timeout reports products that never appear.
        return confirmsMatches(message, context.symbols) ? { ack: SUBSCRIPTION_ACK } : {};
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
  },
};
