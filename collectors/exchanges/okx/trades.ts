import type { FrameContext, ParsedFrame, SubscribeRequest, SymbolTable, TradeProtocol } from '../../trades/protocol.js';
import { TAKER_BUY, TAKER_SELL, type Trade } from '../../trades/trade.js';
import { type Json, decimal, isObject, splitSymbol } from '../../trades/wire.js';
import { okxTradeHistory } from './trade-history.js';
import { okxInstruments } from './instruments.js';

// Limits from the OKX v5 docs (overview-websocket, crawled 2026-07): 480 subscribe/unsubscribe/login
// requests per connection per hour, at most 3 connection requests per second per IP, 64 KB for the
// args of one request, and close code 4009 when a connection carries too many channels.
// 300 instruments per connection covers every OKX spot pair (~700) with 3 connections, far below
// any per-IP connection cap, and needs only 3 subscribe requests of the 480 allowed per hour.
const MAX_STREAMS = 300;
// 100 args of ~40 bytes is ~4 KB per request, far inside the 64 KB cap.
const ARGS_PER_REQUEST = 100;
const CHANNEL = 'trades';
const MILLIS = /^\d{1,15}$/;
const TRADE_ID = /^\d+$/;
// 60018, as OKX words it today ("Wrong URL or channel:trades,instId:FOO-USDT doesn't exist. Please
// use ...", sieblyio/okx-api#106) and did in 2023 ("channel:tickers,instId:LTC-USD doesn't exist",
// okxapi/python-okx#21): the only error that names the refused arg.
const MISSING_ARG = /channel:([^,\s]+),instId:(\S+?) doesn't exist/;


/** The ack key of one subscribe arg: OKX acknowledges each arg on its own, echoing it. */
function okxArgKey(channel: string, instId: string): string {
  return `${channel}:${instId}`;
}

/** One entry of a `trades` push as a normalized Trade. */
/** A count OKX sends as a digit string. */
function positiveInteger(value: unknown, what: string): number {
  const n = typeof value === 'string' && /^[1-9]\d*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw new Error(`${what} is not a positive integer string: ${JSON.stringify(value)}`);
  return n;
}

function parseTrade(data: unknown, context: FrameContext): Trade {
  if (!isObject(data)) throw new Error('trades entry is not an object');
  if (typeof data.instId !== 'string') throw new Error('trade without an instId');
  const symbol = context.symbols.fromExchange(data.instId);
  if (symbol === undefined) throw new Error(`trade for ${data.instId}, which this connection did not subscribe`);
  if (typeof data.tradeId !== 'string' || !TRADE_ID.test(data.tradeId)) throw new Error(`tradeId is not a digit string: ${JSON.stringify(data.tradeId)}`);
  if (typeof data.ts !== 'string' || !MILLIS.test(data.ts)) throw new Error(`ts is not a millisecond timestamp string: ${JSON.stringify(data.ts)}`);
  if (data.side !== 'buy' && data.side !== 'sell') throw new Error(`side is neither buy nor sell: ${JSON.stringify(data.side)}`);
  return {
    exchange: 'okx',
    symbol,
    // Kept as the string OKX sends; dedup compares digit strings by value.
    id: data.tradeId,
    price: decimal(data.px, 'px (price)'),
    amount: decimal(data.sz, 'sz (size)'),
    // docs: `count` — "the count of trades aggregated"; absent before aggregation existed.
    ...(data.count !== undefined ? { count: positiveInteger(data.count, 'count') } : {}),
    // docs: "side — Trade side of taker".
    side: data.side === 'buy' ? TAKER_BUY : TAKER_SELL,
    exchangeTime: Number(data.ts),
    receivedAt: context.receivedAt,
  };
}

/** An `{"event": ...}` frame: a subscribe ack, an error, or a notice. */
function parseEvent(message: Json): ParsedFrame {
  const code = typeof message.code === 'string' ? message.code : undefined;
  const msg = typeof message.msg === 'string' ? message.msg : '';
  switch (message.event) {
    case 'subscribe': {
      // ws_subscribe_acks.jsonl: {"event":"subscribe","arg":{"channel":"trades","instId":"BTC-USDT"}}, one per arg.
      const arg = isObject(message.arg) ? message.arg : {};
      if (typeof arg.channel !== 'string' || typeof arg.instId !== 'string') throw new Error('subscribe ack without arg.channel and arg.instId');
      return { ack: okxArgKey(arg.channel, arg.instId) };
    }
    case 'error': {
      // docs subscribe_error: {"event":"error","code":"60012","msg":"Invalid request: ...","connId":...}: no arg,
      // so only a 60018 message tells which arg was refused; otherwise every waiting symbol is named.
      const missing = MISSING_ARG.exec(msg);
      const request = typeof message.id === 'string' ? ` (request id ${message.id})` : '';
      return { error: { ack: missing ? okxArgKey(missing[1]!, missing[2]!) : undefined, reason: `code ${code ?? '?'}: ${msg}${request}` } };
    }
    case 'notice':
      // docs service_upgrade_notice, code 64008: "The connection will soon be closed for a service upgrade. Please reconnect."
      return code === '64008' ? { closing: `okx announced the connection will close (${code}: ${msg})` } : {};
    default:
      // unsubscribe acks, channel-conn-count and other informational events.
      return {};
  }
}

/** OKX v5 public `trades` channel on `/ws/v5/public`, one ack per subscribed instrument. */
export const okxTrades: TradeProtocol = {
  exchange: 'okx',
  defaultWsUrl: 'wss://ws.okx.com:8443',
  maxStreamsPerConnection: MAX_STREAMS,
  // OKX documents no per-message limit on a public connection besides the hourly subscribe budget;
  // spacing requests like its 3-per-second connection limit is a cautious guess that costs < 1 s.
  minSendIntervalMs: 350,
  // docs: tradeId is "the last trade ID in the trades aggregation"; ws_trades_2022.jsonl has 69
  // BTC-USDT frames with ids strictly increasing (338476307, 338476308, ...).
  idsIncrease: true,
  // docs (overview-websocket): the server cuts a connection with no data for 30 s (close 4004 "No data
  // received in 30s"); clients send the text `ping` when nothing came for under 30 s and get `pong`.
  // Pinging every 20 s keeps a quiet instrument's connection open; 30 s without even a pong is a dead link.
  keepalive: { clientPing: { intervalMs: 20_000, text: 'ping' }, silenceTimeoutMs: 30_000 },
  history: okxTradeHistory,
  instruments: okxInstruments,

  toExchangeSymbol(symbol: string): string {
    // OKX spot instIds are spelled like unified symbols (BTC-USDT).
    splitSymbol('okx', symbol); // OKX spells instruments BASE-QUOTE too; this only checks
    return symbol;
  },

  url(wsUrl: string): string {
    return `${wsUrl.replace(/\/+$/, '')}/ws/v5/public`;
  },

  subscribeMessages(symbols: SymbolTable, firstRequest = 1): SubscribeRequest[] {
    const requests: SubscribeRequest[] = [];
    for (let start = 0; start < symbols.unified.length; start += ARGS_PER_REQUEST) {
      const chunk = symbols.unified.slice(start, start + ARGS_PER_REQUEST);
      const args = chunk.map((symbol) => ({ channel: CHANNEL, instId: symbols.toExchange(symbol) }));
      // docs: `id` (1-32 alphanumerics) is echoed in the acks and errors of the request.
      const id = `trades${firstRequest + requests.length}`;
      requests.push({
        text: JSON.stringify({ id, op: 'subscribe', args }),
        acks: chunk.map((symbol, i) => ({ key: okxArgKey(CHANNEL, args[i]!.instId), symbols: [symbol] })),
      });
    }
    return requests;
  },

  onMessage(text: string, context: FrameContext): ParsedFrame {
    // docs keepalive: the answer to the text `ping` is the bare text `pong`, not JSON.
    if (text === 'pong') return { heartbeat: true };
    const message: unknown = JSON.parse(text);
    if (!isObject(message)) throw new Error('frame is not a JSON object');
    if (typeof message.event === 'string') return parseEvent(message);
    if (!isObject(message.arg) || typeof message.arg.channel !== 'string') throw new Error('frame has neither an event nor an arg.channel');
    // Other channels (tickers, books, trades-all) share the connection shape; only `trades` is ours.
    if (message.arg.channel !== CHANNEL) return {};
    if (!Array.isArray(message.data)) throw new Error('trades frame without a data array');
    return { trades: message.data.map((entry) => parseTrade(entry, context)) };
  },
};
