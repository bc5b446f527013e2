import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WebSocket } from 'ws';
import { simulatorControls, type RestMarketControls, type SimulatorControls, type SimulatorStartOptions } from '../../../simulator/controls.js';
import { SimulatedKlines } from '../../../simulator/kline-source.js';
import type { SimulatedTrade, TradeTally } from '../../../simulator/market.js';
import { RequestBudget } from '../../../simulator/request-budget.js';
import { sendJson, startSimulatorServer, type AcceptSocket } from '../../../simulator/server.js';
import { TradeFeed, type SentRecords } from '../../../simulator/trade-feed.js';
import type { RestAnswer } from '../../../simulator/server.js';
import { MaintenanceWindows } from '../../../simulator/maintenance.js';
import { answerHistoryTrades } from './history.js';
import { answerOkxCandles, answerOkxSystemStatus, OKX_MAINTENANCE_ANSWER } from './klines.js';
import { startOkxBooks } from './book.js';
import { answerRequest, missingArgMessage, type ConnectionState } from './requests.js';

/**
 * One entry of a `trades` push exactly as OKX sends it (ws_trades_BTC-USDT_2025-02.jsonl, the newest
 * recording; the 2026 docs add `source` and `seqId`), in OKX's key order, every value a string.
 */
export interface OkxTradePayload {
  instId: string;
  tradeId: string;
  px: string;
  sz: string;
  /** The taker's side. */
  side: 'buy' | 'sell';
  ts: string;
  /** How many matches this message aggregates. */
  count: string;
}

export interface OkxSimulatorOptions extends SimulatorStartOptions {
  /** Unified `BASE-QUOTE` symbols (= OKX instIds) the simulated exchange lists. */
  symbols: readonly string[];
  /** Taker fills generated per second for each symbol (several can share one message). */
  tradesPerSecond: number;
  /**
   * OKX refuses an arg whose instId it does not list with event:error 60018 "Wrong URL or
   * channel:trades,instId:FOO-USDT doesn't exist. ..." (okxapi/python-okx#21, sieblyio/okx-api#106),
   * so this defaults to true; false acknowledges it instead and sends nothing for it.
   */
  rejectUnknownSymbols?: boolean;
  /** A connection with no client message and no data pushed for this long is closed (4004); OKX: 30 s. */
  idleTimeoutMs?: number;
  /**
   * REST requests allowed per window, counted for each endpoint apart as OKX does. Default: OKX's
   * own per-IP limits — history-trades and history-candles 20 per 2 s, candles and books 40 per 2 s.
   */
  restRequestLimit?: { requests: number; windowMs: number };
}

/** The trade messages sent to clients for one instrument: each once, however many clients got it. */
export type SentTrades = SentRecords<OkxTradePayload>;

export interface OkxSimulator extends SimulatorControls<OkxTradePayload>, RestMarketControls {
  /** Every fill generated for a symbol, subscribed or not. */
  generated(symbol: string): TradeTally;
  /** The trade messages sent to at least one client for a symbol; `count` counts matches (Σ message `count`). */
  sent(symbol: string): SentTrades;
  /** Text `ping`s answered with `pong`. */
  pings(): number;
  /** Sends the 64008 notice OKX sends before closing connections for a service upgrade. */
  announceUpgrade(): void;
  /** Fault: the next `books` update carries a wrong checksum, or the next `books5` push a seqId gone back. */
  corruptNextBookUpdate(): void;
}

interface Client extends ConnectionState {
  socket: WebSocket;
  lastActivityAt: number;
}

// The public channels of /ws/v5/public a client may subscribe; the simulator publishes `trades`, `books` and `books5`.
const PUBLIC_CHANNELS = new Set(['trades', 'tickers', 'books', 'books5', 'bbo-tbt', 'books-l2-tbt', 'books50-l2-tbt', 'open-interest', 'funding-rate', 'mark-price', 'index-tickers', 'price-limit', 'status']);

/** "65000.12000000" → "65000.12", "0.00120000" → "0.0012", "30236.00000000" → "30236", as OKX prints decimals. */
function okxDecimal(value: string): string {
  return value.includes('.') ? value.replace(/\.?0+$/, '') : value;
}

/**
 * Frames one taker order's fills as OKX does: "one message per taker order, filled price, source",
 * `count` matches aggregated, `tradeId` the last of them, `sz` their sum (docs, trades channel).
 */
function okxPayloads(instId: string, fills: readonly SimulatedTrade[]): OkxTradePayload[] {
  const payloads: OkxTradePayload[] = [];
  let units = 0; // quantity in 1e-8, so the sum is exact
  let matches = 0;
  fills.forEach((fill, i) => {
    units += Math.round(Number(fill.amount) * 1e8);
    matches += 1;
    if (fills[i + 1]?.price === fill.price) return;
    payloads.push({
      instId, tradeId: String(fill.id), px: okxDecimal(fill.price), sz: okxDecimal((units / 1e8).toFixed(8)),
      side: fill.takerSide > 0 ? 'buy' : 'sell', ts: String(fill.time), count: String(matches),
    });
    units = 0;
    matches = 0;
  });
  return payloads;
}

/** The instruments entry of a spot pair, keys as in rest_instruments_SPOT_excerpt_2022.json; sizes match the simulated market. */
function instrument(instId: string): Record<string, string> {
  const [baseCcy, quoteCcy] = instId.split('-');
  return {
    alias: '', baseCcy: baseCcy!, category: '1', ctMult: '', ctType: '', ctVal: '', ctValCcy: '', expTime: '', instId, instType: 'SPOT', lever: '10',
    listTime: '1548133413000', lotSz: '0.00001', maxIcebergSz: '9999999999', maxLmtSz: '9999999999', maxMktSz: '1000000', maxStopSz: '1000000',
    maxTriggerSz: '9999999999', maxTwapSz: '9999999999', minSz: '0.00001', optType: '', quoteCcy: quoteCcy!, settleCcy: '', state: 'live', stk: '',
    tickSz: '0.01', uly: '',
  };
}

/**
 * Starts an OKX v5 public market-data simulator on 127.0.0.1: `/ws/v5/public` and REST
 * `/api/v5/public/{time,instruments}`, `/api/v5/market/{books,history-trades,candles,history-candles}`
 * and `/api/v5/system/status`.
 */
export async function startOkxSimulator(options: OkxSimulatorOptions): Promise<OkxSimulator> {
  const { symbols, tradesPerSecond, rejectUnknownSymbols = true, idleTimeoutMs = 30_000, seed = 1 } = options;
  const { requests = 20, windowMs = 2000 } = options.restRequestLimit ?? {};
  const budget = new RequestBudget(requests, windowMs);
  const candleBudgets = {
    candles: new RequestBudget(options.restRequestLimit?.requests ?? 40, windowMs),
    'history-candles': new RequestBudget(requests, windowMs),
  };
  // market/books: 40 requests per 2 s per IP, like candles.
  const booksBudget = new RequestBudget(options.restRequestLimit?.requests ?? 40, windowMs);
  const feed = new TradeFeed<OkxTradePayload>({
    symbols, tradesPerSecond, seed, exchangeSymbol: (symbol) => symbol, amount: (trade) => trade.sz, matches: (trade) => Number(trade.count),
  });
  const klines = new SimulatedKlines({ seed, startedAt: Date.now(), tradesOf: (s) => feed.history(s), openingPrice: (s) => feed.openingPrice(s), emptyCandles: 'flat', holes: options.klineHoles });
  const maintenance = new MaintenanceWindows();
  let pings = 0;

  const checkArg = (channel: string, instId: string): string | undefined => {
    if (!PUBLIC_CHANNELS.has(channel)) return missingArgMessage(channel, instId);
    if ((!feed.lists(instId) && rejectUnknownSymbols) || server.faults.refusingSubscriptions(instId)) return missingArgMessage(channel, instId);
    return undefined;
  };

  const accept: AcceptSocket<Client> = (socket) => {
    const client: Client = { socket, connId: randomBytes(4).toString('hex'), args: new Set(), requestTimes: [], lastActivityAt: Date.now() };
    socket.on('message', (data, isBinary) => {
      client.lastActivityAt = Date.now();
      const text = isBinary ? '' : data.toString();
      if (text === 'ping') pings += 1;
      const argsBefore = new Set(client.args);
      for (const reply of answerRequest(text, client, checkArg)) socket.send(reply);
      // A new book subscription gets its snapshot right after the ack.
      books.subscribed(client, argsBefore);
    });
    return client;
  };

  const send = (res: ServerResponse, answer: RestAnswer): void => sendJson(res, answer.status, answer.body);

  // Response envelopes as in docs rest_time_response and rest_instruments_SPOT_excerpt_2022.json.
  const onRequest = (req: IncomingMessage, res: ServerResponse, url: URL): void => {
    if (req.method !== 'GET') return sendJson(res, 405, { code: '405', msg: 'Method Not Allowed', data: [] });
    const candles = /^\/api\/v5\/market\/(candles|history-candles)$/.exec(url.pathname)?.[1] as keyof typeof candleBudgets | undefined;
    if (candles !== undefined) {
      return send(res, answerOkxCandles(url, candles, { klines, lists: (instId) => feed.lists(instId), budget: candleBudgets[candles], maintenance }));
    }
    // "Rate Limit: 1 request per 5 seconds": not enforced, so tests may poll it freely.
    if (url.pathname === '/api/v5/system/status') return send(res, answerOkxSystemStatus(url, maintenance));
    if (url.pathname === '/api/v5/market/books') return send(res, books.answerBooks(url, booksBudget, maintenance.ongoing()));
    if (url.pathname === '/api/v5/market/history-trades') {
      if (maintenance.ongoing()) return send(res, OKX_MAINTENANCE_ANSWER);
      const answer = answerHistoryTrades(url, (instId) => (feed.lists(instId) ? feed.history(instId) : undefined), budget);
      return sendJson(res, answer.status, answer.body);
    }
    if (url.pathname === '/api/v5/public/time') return sendJson(res, 200, { code: '0', msg: '', data: [{ ts: String(Date.now()) }] });
    if (url.pathname !== '/api/v5/public/instruments') return sendJson(res, 404, { code: '404', msg: 'Not Found', data: [] });
    const instType = url.searchParams.get('instType');
    if (!instType) return sendJson(res, 400, { code: '50014', msg: 'Parameter instType can not be empty.', data: [] });
    const instId = url.searchParams.get('instId');
    if (instId !== null && !feed.lists(instId)) return sendJson(res, 200, { code: '51001', msg: "Instrument ID doesn't exist.", data: [] });
    const listed = instType === 'SPOT' ? symbols.filter((s) => instId === null || s === instId) : [];
    sendJson(res, 200, { code: '0', data: listed.map(instrument), msg: '' });
  };

  const server = await startSimulatorServer<Client>(options.port, {
    websocket: (url) => (url.pathname === '/ws/v5/public' ? accept : undefined),
    rest: onRequest,
  });

  const books = startOkxBooks({
    symbols: feed.symbols,
    seed,
    lastPrice: (instId) => feed.history(instId).at(-1)?.price,
    clients: () => server.clients,
    every: (ms, task) => server.every(ms, task),
  });

  feed.start((instId, fills) => {
    const arg = `trades:${instId}`;
    return okxPayloads(instId, fills).filter((payload) => {
      // ws_trades_2022.jsonl: one trade per message, wrapped as {"arg": ..., "data": [ ... ]}.
      const text = JSON.stringify({ arg: { channel: 'trades', instId }, data: [payload] });
      return server.sendEach((client) => {
        if (!client.args.has(arg)) return undefined;
        // Pushed data keeps a connection alive as much as the client's own messages do.
        client.lastActivityAt = Date.now();
        return text;
      });
    });
  });

  // docs: "The connection will break automatically if the subscription is not established or data has
  // not been pushed for more than 30 seconds" — close code 4004 "No data received in 30s" (error-code page).
  server.every(Math.min(1000, Math.max(10, idleTimeoutMs / 4)), () => {
    const now = Date.now();
    for (const client of server.clients) {
      if (now - client.lastActivityAt > idleTimeoutMs) client.socket.close(4004, 'No data received in 30s');
    }
  });

  return {
    ...simulatorControls(server, feed, '{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"67451'),
    pings: () => pings,
    setMaintenance: (on) => maintenance.set(on),
    rateLimited: () => budget.refused + candleBudgets.candles.refused + candleBudgets['history-candles'].refused + booksBudget.refused,
    corruptNextBookUpdate: () => books.corruptNextBookUpdate(),
    restRequests: (path) => server.restRequests(path),
    announceUpgrade: () => {
      // docs service_upgrade_notice, in its key order.
      const msg = 'The connection will soon be closed for a service upgrade. Please reconnect.';
      server.sendEach((client) => JSON.stringify({ event: 'notice', code: '64008', msg, connId: client.connId }));
    },
  };
}
