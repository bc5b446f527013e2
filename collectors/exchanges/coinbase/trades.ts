import type { TradeFrame, TradeProtocol } from '../../trades/protocol.js';
import type { Trade } from '../../trades/trade.js';
import { type Json, isObject, isoTimeMs } from '../../trades/wire.js';
import type { FrameContext, SubscribeRequest } from '../../ws/channel-protocol.js';
import type { SymbolTable } from '../../ws/symbol-table.js';
import { coinbaseConnection, coinbaseControl, coinbaseSubscribeRequests, type CoinbaseSubscription } from './connection.js';
import { coinbaseTrade } from './trade.js';

const CHANNEL = 'matches';
const SUBSCRIPTION: CoinbaseSubscription = { ack: 'matches', listedAs: ['matches'] };

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

/** Coinbase Exchange `ws-feed` trades from the `matches` channel, kept alive by the `heartbeat` channel. */
export const coinbaseTrades: TradeProtocol = {
  connection: coinbaseConnection,
  // Trade ids are sequential per product (ws_matches_and_last_match.jsonl: SKL-USD 1568267, 1568268, ...).
  idsIncrease: true,

  subscribeMessages(symbols: SymbolTable): SubscribeRequest[] {
    return coinbaseSubscribeRequests(symbols, CHANNEL, SUBSCRIPTION);
  },

  onMessage(text: string, context: FrameContext): TradeFrame {
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
      default:
        return coinbaseControl(message, text, SUBSCRIPTION, context.symbols);
    }
  },
};
