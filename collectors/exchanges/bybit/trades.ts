import type { FrameContext, ParsedFrame, SubscribeRequest, SymbolTable, TradeProtocol } from '../../trades/protocol.js';
import { TAKER_BUY, TAKER_SELL, type Trade } from '../../trades/trade.js';
import { type Json, decimal, integer, isObject, splitSymbol } from '../../trades/wire.js';
import { bybitInstruments } from './instruments.js';

// Limits from bybit-exchange/docs v5/ws/connect ("Public channel - Args limits"): spot takes at most
// 10 args per subscribe request (more is refused whole: "args size >10"), and the args of one public
// connection may not exceed 21,000 characters. 200 topics of at most ~35 characters stay well inside
// that, in 20 requests.
const MAX_STREAMS = 200;
const ARGS_PER_REQUEST = 10;
const TOPIC_PREFIX = 'publicTrade.';


/** One entry of a `publicTrade` push as a normalized Trade. */
function parseTrade(data: unknown, context: FrameContext): Trade {
  if (!isObject(data)) throw new Error('publicTrade entry is not an object');
  if (typeof data.s !== 'string') throw new Error('trade without a symbol (s)');
  const symbol = context.symbols.fromExchange(data.s);
  if (symbol === undefined) throw new Error(`trade for ${data.s}, which this connection did not subscribe`);
  // Spot ids are digit strings beyond 2^53 (2240000000970262966); the docs example has a UUID.
  if (typeof data.i !== 'string' || data.i.length === 0) throw new Error(`i (trade id) is not a string: ${JSON.stringify(data.i)}`);
  if (data.S !== 'Buy' && data.S !== 'Sell') throw new Error(`S (side) is neither Buy nor Sell: ${JSON.stringify(data.S)}`);
  return {
    exchange: 'bybit',
    symbol,
    id: data.i,
    price: decimal(data.p, 'p (price)'),
    amount: decimal(data.v, 'v (size)'),
    // docs publicTrade: "S — Side of taker. Buy,Sell".
    side: data.S === 'Buy' ? TAKER_BUY : TAKER_SELL,
    exchangeTime: integer(data.T, 'T (trade time)'),
    receivedAt: context.receivedAt,
  };
}

/** A reply to one of our `op` requests: subscribe ack or refusal, or a pong. */
function parseOpReply(message: Json): ParsedFrame {
  const reqId = typeof message.req_id === 'string' && message.req_id !== '' ? message.req_id : undefined;
  const reason = typeof message.ret_msg === 'string' ? message.ret_msg : JSON.stringify(message);
  switch (message.op) {
    case 'subscribe':
      // docs subscribe_ack_public_spot: {"success":true,"ret_msg":"subscribe","conn_id":...,"req_id":"10001","op":"subscribe"};
      // refusals carry success:false and the reason in ret_msg ("Invalid symbol :[publicTrade.XXX]").
      if (message.success === false) return { error: { ack: reqId, reason } };
      // Without our req_id (we always send one) an ack cannot be matched to a request.
      return reqId !== undefined ? { ack: reqId } : {};
    case 'ping':
      // docs pong_public_spot: {"success":true,"ret_msg":"pong","conn_id":...,"op":"ping"}.
      return { heartbeat: true };
    case 'pong':
      // ws_private_pong_example.jsonl: {"op":"pong","args":["1753340040127"],"conn_id":...} (private and linear streams).
      return { heartbeat: true };
    default:
      return {};
  }
}

/** Bybit v5 spot `publicTrade.<SYMBOL>` topics on `/v5/public/spot`, one ack per request (by req_id). */
export const bybitTrades: TradeProtocol = {
  exchange: 'bybit',
  defaultWsUrl: 'wss://stream.bybit.com',
  maxStreamsPerConnection: MAX_STREAMS,
  // Bybit documents no per-message limit on public streams; 10 requests a second subscribes 200
  // symbols in 2 s without bursting.
  minSendIntervalMs: 100,
  // Spot ids are numbers without a documented order and other categories use UUIDs: dedup keeps a
  // bounded set of recent ids instead of a last id.
  idsIncrease: false,
  // docs v5/ws/connect: "we recommend that you send the ping heartbeat packet every 20 seconds";
  // the server answers each one, so 30 s without any frame means the link is gone.
  keepalive: { clientPing: { intervalMs: 20_000, text: '{"op":"ping"}' }, silenceTimeoutMs: 30_000 },
  instruments: bybitInstruments,

  toExchangeSymbol(symbol: string): string {
    const [base, quote] = splitSymbol('bybit', symbol);
    return base + quote;
  },

  url(wsUrl: string): string {
    return `${wsUrl.replace(/\/+$/, '')}/v5/public/spot`;
  },

  subscribeMessages(symbols: SymbolTable, firstRequest = 1): SubscribeRequest[] {
    const requests: SubscribeRequest[] = [];
    for (let start = 0; start < symbols.unified.length; start += ARGS_PER_REQUEST) {
      const chunk = symbols.unified.slice(start, start + ARGS_PER_REQUEST);
      // req_id is echoed in the ack (docs subscribe_ack_public_spot): the only way to tell requests apart.
      const reqId = `trades${firstRequest + requests.length}`;
      const args = chunk.map((symbol) => TOPIC_PREFIX + symbols.toExchange(symbol));
      requests.push({ text: JSON.stringify({ req_id: reqId, op: 'subscribe', args }), acks: [{ key: reqId, symbols: chunk }] });
    }
    return requests;
  },

  onMessage(text: string, context: FrameContext): ParsedFrame {
    const message: unknown = JSON.parse(text);
    if (!isObject(message)) throw new Error('frame is not a JSON object');
    if (typeof message.topic === 'string') {
      // Other topics (orderbook.*, tickers.*) share the shape; only publicTrade.* carries trades.
      if (!message.topic.startsWith(TOPIC_PREFIX)) return {};
      if (!Array.isArray(message.data)) throw new Error(`${message.topic} frame without a data array`);
      return { trades: message.data.map((entry) => parseTrade(entry, context)) };
    }
    if (typeof message.op === 'string') return parseOpReply(message);
    throw new Error('frame has neither a topic nor an op');
  },
};
