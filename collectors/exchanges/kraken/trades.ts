import type { FrameContext, ParsedFrame, SubscribeRequest, SymbolTable, TradeProtocol } from '../../trades/protocol.js';
import { TAKER_BUY, TAKER_SELL, type Trade } from '../../trades/trade.js';
import { type Json, integer, isObject, isoTimeMs, jsonNumber, splitSymbol } from '../../trades/wire.js';
import { krakenTradeHistory } from './trade-history.js';
import { krakenInstruments } from './instruments.js';

// Kraken documents no symbol cap per connection and a load-dependent message rate
// (docs.kraken.com guides/spot-ratelimits: "Exceeded msg rate"), so both stay conservative.
const MAX_SYMBOLS = 200;
const SYMBOLS_PER_REQUEST = 50;
// Answers are matched by symbol, never by req_id, so the pings can share one id.
const PING = JSON.stringify({ method: 'ping', req_id: 0 });

/** RFC 3339 UTC time in ms (sub-millisecond digits truncated). */
export function krakenTimeMs(value: unknown, field = 'timestamp'): number {
  return isoTimeMs(value, field);
}

/** One entry of a `trade` frame's data as a normalized Trade; v2's `side` is the taker's (spot-websocket-v2/trade). */
function parseTrade(entry: unknown, context: FrameContext): Trade {
  if (!isObject(entry)) throw new Error('trade entry is not an object');
  if (typeof entry.symbol !== 'string') throw new Error('trade without a symbol');
  const symbol = context.symbols.fromExchange(entry.symbol);
  if (symbol === undefined) throw new Error(`trade for ${entry.symbol}, which this connection did not subscribe`);
  if (entry.side !== 'buy' && entry.side !== 'sell') throw new Error(`side is neither buy nor sell: ${JSON.stringify(entry.side)}`);
  return {
    exchange: 'kraken',
    symbol,
    id: integer(entry.trade_id, 'trade_id'),
    price: jsonNumber(entry.price, 'price'),
    amount: jsonNumber(entry.qty, 'qty'),
    side: entry.side === 'buy' ? TAKER_BUY : TAKER_SELL,
    exchangeTime: krakenTimeMs(entry.timestamp),
    receivedAt: context.receivedAt,
  };
}

/**
 * A reply to a request we sent on `channel` (`trade`, `book`): per-symbol acks and refusals, pongs.
 * Shared by the trade and book streams, which read the same method replies.
 */
export function krakenMethodReply(message: Json, channel: string): Pick<ParsedFrame, 'error' | 'ack' | 'heartbeat'> {
  if (message.success === false) {
    // {"error":"Currency pair not supported XDG/USD","method":"subscribe","success":false,"symbol":"XDG/USD"}
    const ack = typeof message.symbol === 'string' ? message.symbol : undefined;
    return { error: { ack, reason: typeof message.error === 'string' ? message.error : JSON.stringify(message) } };
  }
  if (message.method === 'pong') return { heartbeat: true };
  const result = isObject(message.result) ? message.result : {};
  // One ack per symbol: {"method":"subscribe","result":{"channel":"trade","snapshot":false,"symbol":"BTC/USD"},"success":true,...}
  if (message.method === 'subscribe' && result.channel === channel && typeof result.symbol === 'string') return { ack: result.symbol };
  return {};
}

/** Kraken spot WebSocket v2 trades (`trade` channel), with per-symbol acks and app-level pings. */
export const krakenTrades: TradeProtocol = {
  exchange: 'kraken',
  defaultWsUrl: 'wss://ws.kraken.com',
  maxStreamsPerConnection: MAX_SYMBOLS,
  minSendIntervalMs: 250,
  // "Trade ID: sequential int" (spot-websocket v2 vs v1 table), per symbol.
  idsIncrease: true,
  // Heartbeats come about once a second once subscribed (spot-websocket-v2/heartbeat); the ping
  // checks that the server still answers requests, and its pong counts as a frame too.
  keepalive: { clientPing: { intervalMs: 20_000, text: PING }, silenceTimeoutMs: 10_000 },
  history: krakenTradeHistory,
  instruments: krakenInstruments,

  toExchangeSymbol(symbol: string): string {
    const [base, quote] = splitSymbol('kraken', symbol);
    // v2 spells bitcoin BTC and refuses XBT ("Currency pair not supported XBT/USD", JKorf/Kraken.Net#126).
    if (base === 'XBT' || quote === 'XBT') throw new Error(`kraken: bad symbol ${JSON.stringify(symbol)}: WebSocket v2 spells bitcoin BTC (XBT is the v1/REST name)`);
    return `${base}/${quote}`;
  },

  url(wsUrl: string): string {
    const base = wsUrl.replace(/\/+$/, '');
    return base.endsWith('/v2') ? base : `${base}/v2`;
  },

  subscribeMessages(symbols: SymbolTable, firstRequest = 1): SubscribeRequest[] {
    const requests: SubscribeRequest[] = [];
    for (let start = 0; start < symbols.unified.length; start += SYMBOLS_PER_REQUEST) {
      const chunk = symbols.unified.slice(start, start + SYMBOLS_PER_REQUEST);
      const names = chunk.map((symbol) => symbols.toExchange(symbol));
      // snapshot:false: the 50 trades of a snapshot were likely stored before a restart, and the
      // sum fields would count them twice.
      const text = JSON.stringify({ method: 'subscribe', params: { channel: 'trade', symbol: names, snapshot: false }, req_id: firstRequest + requests.length });
      requests.push({ text, acks: chunk.map((symbol, i) => ({ key: names[i]!, symbols: [symbol] })) });
    }
    return requests;
  },

  onMessage(text: string, context: FrameContext): ParsedFrame {
    // The status frame's connection_id exceeds 2^53: JSON.parse rounds it, and it is never used.
    const message: unknown = JSON.parse(text);
    if (!isObject(message)) throw new Error('frame is not a JSON object');
    if (typeof message.method === 'string') return krakenMethodReply(message, 'trade');
    switch (message.channel) {
      case 'trade':
        if (!Array.isArray(message.data)) throw new Error('trade frame without a data array');
        // `update` carries new trades; a `snapshot` (only if asked for) recent ones, which dedup filters.
        return { trades: message.data.map((entry) => parseTrade(entry, context)) };
      case 'heartbeat':
      case 'status':
        return { heartbeat: true };
      case undefined:
        throw new Error('frame has neither a method nor a channel');
      default:
        return {};
    }
  },
};
