import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WebSocket } from 'ws';
import { simulatorControls, type RestMarketControls, type SimulatorControls, type SimulatorStartOptions } from '../../../simulator/controls.js';
import { SimulatedKlines } from '../../../simulator/kline-source.js';
import type { SimulatedTrade, TradeTally } from '../../../simulator/market.js';
import { RequestBudget } from '../../../simulator/request-budget.js';
import { sendJson, startSimulatorServer, type AcceptSocket } from '../../../simulator/server.js';
import { TradeFeed, type SentRecords } from '../../../simulator/trade-feed.js';
import { MaintenanceWindows } from '../../../simulator/maintenance.js';
import { answerBybitKline, answerBybitSystemStatus, type BybitRateLimitRefusal, type BybitRestAnswer } from './klines.js';
import { answerRequest, type ConnectionState } from './requests.js';
import { startBybitBooks } from './book.js';

/**
 * One entry of a spot `publicTrade` push exactly as Bybit sends it today
 * (ws_spot_subscribe_ack_and_publicTrade_BTCUSDC_2025-10-27.jsonl: no `L`, which is for derivatives), in Bybit's key order.
 */
export interface BybitTradePayload {
  /** Trade id: a digit string beyond 2^53. */
  i: string;
  T: number;
  p: string;
  v: string;
  /** The taker's side. */
  S: 'Buy' | 'Sell';
  /** Cross sequence: shared by the fills of one taker order. */
  seq: number;
  s: string;
  BT: boolean;
  RPI: boolean;
}

export interface BybitSimulatorOptions extends SimulatorStartOptions {
  /**
   * Bybit spot refuses a topic of an unlisted symbol with success:false and ret_msg
   * "Invalid symbol :[publicTrade.XXX]" (quoted by client code; the docs show no failure example),
   * so this defaults to true; false acknowledges it instead and sends nothing for it.
   */
  rejectUnknownSymbols?: boolean;
  /**
   * REST requests allowed per window to the kline endpoint, and how going over is refused.
   * Default: Bybit's per-IP limit, 600 per 5 s, refused with HTTP 403 (rate-limit.mdx).
   */
  restRequestLimit?: { requests: number; windowMs: number; refusal?: BybitRateLimitRefusal };
}

/** The trades sent to clients for one symbol: each once, however many clients got it. */
export type SentTrades = SentRecords<BybitTradePayload>;

export interface BybitSimulator extends SimulatorControls<BybitTradePayload>, RestMarketControls {
  /** Everything generated for a symbol (either spelling), subscribed or not. */
  generated(symbol: string): TradeTally;
  /** What was sent to at least one client for a symbol (either spelling). */
  sent(symbol: string): SentTrades;
  /** `{"op":"ping"}` requests answered. */
  pings(): number;
  /** Fault: the next `orderbook.50` delta skips an update id (`u`). */
  corruptNextBookUpdate(): void;
}

interface Client extends ConnectionState {
  socket: WebSocket;
}

// Spot trade ids as recorded (2240000000970262966) are far beyond 2^53: the simulated ids are offset into that range.
const ID_BASE = 2_290_000_000_000_000_000n;

/** `BTC-USDT` or `BTCUSDT` → `BTCUSDT`. */
function exchangeSymbol(symbol: string): string {
  return symbol.replace('-', '').toUpperCase();
}

/** "65000.12000000" → "65000.12", "0.00120000" → "0.0012", as Bybit spot prints decimals. */
function bybitDecimal(value: string): string {
  return value.includes('.') ? value.replace(/\.?0+$/, '') : value;
}

/** Frames one taker order's fills as Bybit spot does: several entries of one message, one `seq`. */
function bybitPayloads(symbol: string, fills: readonly SimulatedTrade[], seq: number): BybitTradePayload[] {
  return fills.map((fill) => ({
    i: String(ID_BASE + BigInt(fill.id)), T: fill.time, p: bybitDecimal(fill.price), v: bybitDecimal(fill.amount),
    S: fill.takerSide > 0 ? 'Buy' : 'Sell', seq, s: symbol, BT: false, RPI: false,
  }));
}

/** A spot instruments-info entry, shaped like the docs (v5/market/instrument) example; sizes match the simulated market. */
function instrument(symbol: string): Record<string, unknown> {
  const [baseCoin, quoteCoin] = symbol.split('-');
  return {
    symbol: exchangeSymbol(symbol), baseCoin, quoteCoin, innovation: '0', status: 'Trading', marginTrading: 'both',
    lotSizeFilter: { basePrecision: '0.00001', quotePrecision: '0.00000001', minOrderQty: '0.00001', maxOrderQty: '100', minOrderAmt: '1', maxOrderAmt: '2000000' },
    priceFilter: { tickSize: '0.01' },
  };
}

/** Starts a Bybit v5 spot market-data simulator on 127.0.0.1: `/v5/public/spot` and REST `/v5/market/{time,instruments-info,kline}` and `/v5/system/status`. */
export async function startBybitSimulator(options: BybitSimulatorOptions): Promise<BybitSimulator> {
  const { symbols, tradesPerSecond, rejectUnknownSymbols = true, seed = 1 } = options;
  const feed = new TradeFeed<BybitTradePayload>({ symbols, tradesPerSecond, seed, exchangeSymbol, amount: (trade) => trade.v });
  const sequences = new Map(feed.symbols.map((s): [string, number] => [s, 89_200_000_000 + seed * 1_000_000]));
  // The refusal fault makes every symbol unlisted and refused.
  const check = {
    listed: (symbol: string) => feed.lists(symbol) && !server.faults.refusingSubscriptions(symbol),
    get rejectUnknownSymbols() {
      return rejectUnknownSymbols || server.faults.refusingAny();
    },
  };
  const { requests = 600, windowMs = 5000, refusal = 'http-403' } = options.restRequestLimit ?? {};
  const budget = new RequestBudget(requests, windowMs);
  const klines = new SimulatedKlines({ seed, startedAt: Date.now(), tradesOf: (s) => feed.history(s), openingPrice: (s) => feed.openingPrice(s), emptyCandles: 'flat', holes: options.klineHoles });
  const maintenance = new MaintenanceWindows();
  let pings = 0;

  const accept: AcceptSocket<Client> = (socket) => {
    const client: Client = { socket, connId: randomUUID(), topics: new Set() };
    socket.on('message', (data, isBinary) => {
      const topicsBefore = new Set(client.topics);
      const answer = answerRequest(isBinary ? '' : data.toString(), client, check);
      const { success, op } = JSON.parse(answer) as { success: boolean; op: string };
      if (success && op === 'ping') pings += 1;
      socket.send(answer);
      books.subscribed(client, topicsBefore);
    });
    return client;
  };

  /** The v5 REST envelope (docs rest_time_response, rest_kline_spot_BTCUSDT_D_2025-04-29.json). */
  const json = (res: ServerResponse, status: number, retCode: number, retMsg: string, result: unknown): void => {
    sendJson(res, status, { retCode, retMsg, result, retExtInfo: {}, time: Date.now() });
  };

  const send = (res: ServerResponse, answer: BybitRestAnswer): void => {
    if (answer.text !== undefined) res.writeHead(answer.status, { 'Content-Type': 'text/plain' }).end(answer.text);
    else sendJson(res, answer.status, answer.body);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse, url: URL): void => {
    if (req.method !== 'GET') return json(res, 405, 10001, 'Method not allowed', {});
    if (url.pathname === '/v5/market/kline') return send(res, answerBybitKline(url, { klines, lists: (symbol) => feed.lists(symbol), budget, refusal, maintenance }));
    if (url.pathname === '/v5/market/orderbook') {
      const book = books.restBook(url.searchParams.get('symbol') ?? '', Number(url.searchParams.get('limit') ?? 1));
      return book ? json(res, 200, 0, 'OK', book) : json(res, 200, 10001, 'params error: symbol invalid', {});
    }
    if (url.pathname === '/v5/system/status') return send(res, answerBybitSystemStatus(url, maintenance));
    if (url.pathname === '/v5/market/time') {
      const now = Date.now();
      return json(res, 200, 0, 'OK', { timeSecond: String(Math.floor(now / 1000)), timeNano: String(BigInt(now) * 1_000_000n) });
    }
    if (url.pathname !== '/v5/market/instruments-info') return json(res, 404, 10001, 'Not found', {});
    if (url.searchParams.get('category') !== 'spot') return json(res, 200, 10001, 'params error: category is invalid', {});
    const symbol = url.searchParams.get('symbol');
    const listed = symbols.filter((s) => symbol === null || exchangeSymbol(s) === symbol);
    json(res, 200, 0, 'OK', { category: 'spot', list: listed.map(instrument) });
  };

  const server = await startSimulatorServer<Client>(options.port, {
    websocket: (url) => (url.pathname === '/v5/public/spot' ? accept : undefined),
    rest: onRequest,
  });

  const books = startBybitBooks({
    symbols: feed.symbols,
    seed,
    lastPrice: (symbol) => feed.history(symbol).at(-1)?.price,
    clients: () => server.clients,
    every: (ms, task) => server.every(ms, task),
  });

  // One message per taker order: its fills share the data array and one cross sequence.
  feed.start((symbol, fills, now) => {
    const seq = sequences.get(symbol)! + 1;
    sequences.set(symbol, seq);
    const trades = bybitPayloads(symbol, fills, seq);
    const topic = `publicTrade.${symbol}`;
    // Recorded key order: topic, ts, type, data.
    const text = JSON.stringify({ topic, ts: now, type: 'snapshot', data: trades });
    return server.sendEach((client) => (client.topics.has(topic) ? text : undefined)) ? trades : [];
  });

  return {
    ...simulatorControls(server, feed, '{"topic":"publicTrade.BTCUSDT","ts":1761583474344,"type":"snapshot","data":[{"i":"229000000092'),
    pings: () => pings,
    corruptNextBookUpdate: () => books.corruptNextBookUpdate(),
    setMaintenance: (on) => maintenance.set(on),
    rateLimited: () => budget.refused,
    restRequests: (path) => server.restRequests(path),
  };
}
