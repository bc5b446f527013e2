import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WebSocket } from 'ws';
import { simulatorControls, type RestMarketControls, type SimulatorControls, type SimulatorStartOptions } from '../../../simulator/controls.js';
import type { SimulatedTrade, TradeTally } from '../../../simulator/market.js';
import { RequestBudget } from '../../../simulator/request-budget.js';
import { sendJson, startSimulatorServer, type AcceptSocket } from '../../../simulator/server.js';
import { TradeFeed, type SentRecords } from '../../../simulator/trade-feed.js';
import { answerRequest, bitstampFrame } from './requests.js';
import { answerOhlc } from './klines.js';
import { startBitstampBooks } from './book.js';
import { SimulatedKlines } from '../../../simulator/kline-source.js';

/** A `live_trades_` event's data exactly as Bitstamp sent it on 2022-01-05 (ws_live_trades_ethusd_2022-01-05.jsonl), in its key order. */
export interface BitstampTradePayload {
  id: number;
  /** Seconds, a digit string. */
  timestamp: string;
  amount: number;
  amount_str: string;
  price: number;
  price_str: string;
  /** 0 the taker bought, 1 sold. */
  type: 0 | 1;
  /** Microseconds, a digit string. */
  microtimestamp: string;
  buy_order_id: number;
  sell_order_id: number;
}

export interface BitstampSimulatorOptions extends SimulatorStartOptions {
  /** REST requests allowed per window; Bitstamp: 400 a second per IP. */
  restRequestLimit?: { requests: number; windowMs: number };
  /** How long a client has to reconnect after `bts:request_reconnect` before it is cut; docs: "a few seconds". */
  reconnectGraceMs?: number;
}

export type SentTrades = SentRecords<BitstampTradePayload>;

export interface BitstampSimulator extends SimulatorControls<BitstampTradePayload>, RestMarketControls {
  generated(symbol: string): TradeTally;
  sent(symbol: string): SentTrades;
  /** `bts:heartbeat` requests answered. */
  heartbeats(): number;
  /** Fault: sends `bts:request_reconnect` to every client and cuts those still open after the grace period. */
  requestReconnect(): void;
  /** Fault: the next `order_book_` frame carries a microtimestamp older than the book's. */
  corruptNextBookUpdate(): void;
}

interface Client {
  socket: WebSocket;
  channels: Set<string>;
}

// Recorded ids (216000477 in 2022) are one counter across pairs: the simulated ids interleave the
// pairs' sequences in that range, so they increase per pair but skip.
const ID_BASE = 216_000_000;
const ORDER_ID_BASE = 1_443_875_000_000_000;

/** `BTC-USD` or `btcusd` → `btcusd`. */
function exchangeSymbol(symbol: string): string {
  return symbol.replace('-', '').toLowerCase();
}

/** A generated fill as Bitstamp frames it: prices with 2 decimals, amounts with 8, the float beside each string. */
function tradePayload(fill: SimulatedTrade, pairIndex: number, pairs: number): BitstampTradePayload {
  // A planted price beyond a double (dropped-input tests) goes out as its digits, as Bitstamp's string field would carry them.
  const priceStr = Number.isFinite(Number(fill.price)) ? Number(fill.price).toFixed(2) : fill.price;
  // Sub-millisecond digits vary, as in the 2019 recordings (2022's are whole milliseconds).
  const micros = fill.time * 1000 + ((fill.id * 337) % 1000);
  const orderId = ORDER_ID_BASE + fill.id * 2 * pairs + pairIndex;
  return {
    id: ID_BASE + fill.id * pairs + pairIndex,
    timestamp: String(Math.floor(fill.time / 1000)),
    amount: Number(fill.amount),
    amount_str: fill.amount,
    price: Number(priceStr),
    price_str: priceStr,
    type: fill.takerSide > 0 ? 0 : 1,
    microtimestamp: String(micros),
    buy_order_id: orderId,
    sell_order_id: orderId + pairs,
  };
}

/** A trading-pairs-info entry shaped like rest_trading-pairs-info_2022-01-05.json. */
function pairInfo(symbol: string): Record<string, unknown> {
  const [base, quote] = symbol.split('-');
  return {
    trading: 'Enabled', base_decimals: 8, url_symbol: exchangeSymbol(symbol), name: `${base}/${quote}`, instant_and_market_orders: 'Enabled',
    minimum_order: `20.0 ${quote}`, counter_decimals: 2, description: `${base} / ${quote}`,
  };
}

/** Starts a Bitstamp simulator on 127.0.0.1: WebSocket v2 at `/` and REST `/api/v2/trading-pairs-info/`, `/api/v2/ohlc/<pair>/`, `/api/v2/order_book/<pair>/`. */
export async function startBitstampSimulator(options: BitstampSimulatorOptions): Promise<BitstampSimulator> {
  const { symbols, tradesPerSecond, seed = 1, reconnectGraceMs = 3_000 } = options;
  const feed = new TradeFeed<BitstampTradePayload>({ symbols, tradesPerSecond, seed, exchangeSymbol, amount: (trade) => trade.amount_str });
  const { requests = 400, windowMs = 1000 } = options.restRequestLimit ?? {};
  const budget = new RequestBudget(requests, windowMs);
  const pairIndex = new Map(feed.symbols.map((pair, i) => [pair, i]));
  let heartbeats = 0;
  let maintenance = false;
  const klines = new SimulatedKlines({ seed, startedAt: Date.now(), tradesOf: (pair) => feed.history(pair), openingPrice: (pair) => feed.openingPrice(pair), emptyCandles: 'flat', holes: options.klineHoles });

  const accept: AcceptSocket<Client> = (socket) => {
    const client: Client = { socket, channels: new Set() };
    socket.on('message', (data, isBinary) => {
      // The refusal fault answers every pair as Bitstamp answers one it does not list.
      const outcome = answerRequest(isBinary ? '' : data.toString(), client.channels, (pair) => feed.lists(pair) && !server.faults.refusingSubscriptions(pair));
      if (outcome.reply.startsWith('{"event":"bts:heartbeat"')) heartbeats += 1;
      socket.send(outcome.reply);
      if (outcome.subscribed) books.subscribed(socket, outcome.subscribed);
    });
    return client;
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse, url: URL): void => {
    if (req.method !== 'GET') return sendJson(res, 405, { status: 'error', reason: 'Method not allowed', code: 'API0000' });
    // Over the limit Bitstamp answers 429; the body is not recorded, the envelope is its error shape.
    const retryAfter = budget.spend(1);
    if (retryAfter !== undefined) return void res.writeHead(429, { 'Content-Type': 'application/json', 'Retry-After': String(retryAfter) }).end('{"status":"error","reason":"Rate limit exceeded","code":"API0010"}');
    if (maintenance) return sendJson(res, 503, { status: 'error', reason: 'Maintenance', code: 'API0000' });
    if (url.pathname === '/api/v2/trading-pairs-info/') return sendJson(res, 200, symbols.map(pairInfo));
    const book = /^\/api\/v2\/order_book\/([a-z0-9]+)\/$/.exec(url.pathname);
    const bookBody = book ? books.restBook(book[1]!) : undefined;
    if (bookBody) return sendJson(res, 200, bookBody);
    const ohlc = /^\/api\/v2\/ohlc\/([a-z0-9]+)\/$/.exec(url.pathname);
    const symbol = symbols.find((s) => exchangeSymbol(s) === ohlc?.[1]);
    if (ohlc && symbol) {
      const answer = answerOhlc(url, ohlc[1]!, symbol.replace('-', '/'), klines);
      return sendJson(res, answer.status, answer.body);
    }
    sendJson(res, 404, { status: 'error', reason: 'Not found', code: 'API0000' });
  };

  const server = await startSimulatorServer<Client>(options.port, {
    websocket: (url) => (url.pathname === '/' ? accept : undefined),
    rest: onRequest,
  });

  const books = startBitstampBooks({
    pairs: feed.symbols,
    seed,
    lastPrice: (pair) => feed.history(pair).at(-1)?.price,
    clients: () => server.clients,
    every: (ms, task) => server.every(ms, task),
  });

  // One `trade` event per fill.
  feed.start((pair, fills) => {
    const index = pairIndex.get(pair)!;
    const channel = `live_trades_${pair}`;
    return fills
      .map((fill) => tradePayload(fill, index, feed.symbols.length))
      .filter((payload) => {
        // Recorded key order of data frames: data, channel, event.
        const text = JSON.stringify({ data: payload, channel, event: 'trade' });
        return server.sendEach((client) => (client.channels.has(channel) ? text : undefined));
      });
  });

  return {
    ...simulatorControls(server, feed, '{"data":{"id":216000477,"timestamp":"1641343699","amount":0.0792,'),
    heartbeats: () => heartbeats,
    requestReconnect: () => {
      const told = [...server.clients];
      // docs request_reconnect: {"event": "bts:request_reconnect", "channel": "", "data": ""}.
      told.forEach((client) => client.socket.send(bitstampFrame('bts:request_reconnect', '', '')));
      setTimeout(() => told.forEach((client) => client.socket.terminate()), reconnectGraceMs).unref();
    },
    setMaintenance: (on) => {
      maintenance = on;
    },
    corruptNextBookUpdate: () => books.corruptNextBookUpdate(),
    rateLimited: () => budget.refused,
    restRequests: (path) => server.restRequests(path),
  };
}
