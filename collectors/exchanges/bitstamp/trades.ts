import type { TradeFrame, TradeProtocol } from '../../trades/protocol.js';
import { TAKER_BUY, TAKER_SELL, type Trade } from '../../trades/trade.js';
import { type Json, decimal, integer, isObject } from '../../trades/wire.js';
import type { FrameContext, SubscribeRequest } from '../../ws/channel-protocol.js';
import type { SymbolTable } from '../../ws/symbol-table.js';
import { bitstampConnection, bitstampControl, bitstampEnvelope, bitstampSubscribeRequests } from './connection.js';

const CHANNEL_PREFIX = 'live_trades_';
// amount_str is a decimal string, except that Bitstamp prints 1e-8 as "1E-8"
// (ws_live_trades_btcusd_amount_1e-08_2021-03-21_cmp.json).
const EXPONENT_DECIMAL = /^\d+(\.\d+)?E-?\d+$/i;
const MICROS = /^\d{1,19}$/;

/** A decimal string, also in Bitstamp's exponent spelling ("1E-8"). */
function bitstampDecimal(value: unknown, field: string): number {
  return typeof value === 'string' && EXPONENT_DECIMAL.test(value) ? Number(value) : decimal(value, field);
}

/** `microtimestamp` ("1641343699596000", µs as a digit string) in ms. */
function microsToMs(value: unknown): number {
  if (typeof value !== 'string' || !MICROS.test(value)) throw new Error(`microtimestamp is not a digit string: ${JSON.stringify(value)}`);
  return Math.floor(Number(value) / 1000);
}

/**
 * A `trade` event's data as a normalized Trade. Prices and amounts are read from the `_str`
 * fields: the number fields are floats printed to 17 digits (0.0015847299999999999 in 2019).
 */
function parseTrade(message: Json & { channel: string }, context: FrameContext): Trade {
  const { data } = message;
  if (!isObject(data)) throw new Error('trade event without a data object');
  const pair = message.channel.slice(CHANNEL_PREFIX.length);
  const symbol = context.symbols.fromExchange(pair);
  if (symbol === undefined) throw new Error(`trade for ${pair}, which this connection did not subscribe`);
  // docs live_trades: "type (0 - buy; 1 - sell)", the taker's side.
  if (data.type !== 0 && data.type !== 1) throw new Error(`type (side) is neither 0 nor 1: ${JSON.stringify(data.type)}`);
  return {
    exchange: 'bitstamp',
    symbol,
    id: integer(data.id, 'id (trade id)'),
    price: decimal(data.price_str, 'price_str'),
    amount: bitstampDecimal(data.amount_str, 'amount_str'),
    side: data.type === 0 ? TAKER_BUY : TAKER_SELL,
    exchangeTime: microsToMs(data.microtimestamp),
    receivedAt: context.receivedAt,
  };
}

/**
 * Bitstamp WebSocket v2 `live_trades_<pair>` channels at wss://ws.bitstamp.net, one `bts:subscribe`
 * and one `bts:subscription_succeeded` per channel.
 *
 * No trade history: REST `/api/v2/transactions/<pair>/?time=minute|hour|day` serves the trades
 * of a time window ending now, not trades after an id, and the engines' gap filler pages by id
 * (TradeHistory.fetchAfter). A gap in a pair's trades is recorded (gaps:bitstamp:<SYMBOL>), as for
 * Bybit, rather than filled from a window that may not reach back to it.
 */
export const bitstampTrades: TradeProtocol = {
  connection: bitstampConnection,
  // Ids are one counter across all pairs (ethusd 216000477, 216000484, 216000485, 216000500, ... in
  // ws_live_trades_ethusd_2022-01-05.jsonl): they increase per pair in every recording, but skip.
  idsIncrease: true,
  subscribeMessages(symbols: SymbolTable): SubscribeRequest[] {
    return bitstampSubscribeRequests(CHANNEL_PREFIX, symbols);
  },
  onMessage(text: string, context: FrameContext): TradeFrame {
    const message = bitstampEnvelope(text);
    if (message.event === 'trade') {
      if (!message.channel.startsWith(CHANNEL_PREFIX)) throw new Error(`trade event on channel ${JSON.stringify(message.channel)}`);
      return { trades: [parseTrade(message, context)] };
    }
    // Book channels (event "data") and other events are of no interest here.
    return bitstampControl(message) ?? {};
  },
};
