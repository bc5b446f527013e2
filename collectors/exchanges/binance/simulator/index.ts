import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WebSocket } from 'ws';
import { simulatorControls, type RestMarketControls, type SimulatorControls, type SimulatorStartOptions } from '../../../simulator/controls.js';
import { SimulatedKlines } from '../../../simulator/kline-source.js';
import type { SimulatedTrade, TradeTally } from '../../../simulator/market.js';
import { RequestBudget } from '../../../simulator/request-budget.js';
import { sendJson, startSimulatorServer, type AcceptSocket } from '../../../simulator/server.js';
import { TradeFeed, type SentRecords } from '../../../simulator/trade-feed.js';
import type { RestAnswer } from '../../../simulator/server.js';
import { answerHistoricalTrades } from './history.js';
import { MaintenanceWindows } from '../../../simulator/maintenance.js';
import { answerBinanceKlines, answerBinanceSystemStatus, BINANCE_MAINTENANCE_ANSWER } from './klines.js';
import { startBinanceBooks } from './book.js';
import { answerRequest, streamSymbol, type ConnectionState } from './requests.js';

/**
 * A `<symbol>@trade` payload exactly as Binance spot sends it today (ws_trade_current_format_2026-09-29:
 * no `b`/`a` order ids since 2023-06-18, `M` still present), in Binance's key order.
 */
export interface BinanceTradePayload {
  e: 'trade';
  E: number;
  s: string;
  t: number;
  p: string;
  q: string;
  T: number;
  m: boolean;
  M: true;
}

/** Frames a simulated trade as Binance does; the buyer is the maker when the taker sold. */
function binancePayload(symbol: string, trade: SimulatedTrade): BinanceTradePayload {
  return { e: 'trade', E: trade.time, s: symbol, t: trade.id, p: trade.price, q: trade.amount, T: trade.time, m: trade.takerSide < 0, M: true };
}

export interface BinanceSimulatorOptions extends SimulatorStartOptions {
  /** WebSocket ping period; Binance: 20 s. Pongs count toward the 5 messages/s limit, so keep it ≥ 250 ms. */
  pingIntervalMs?: number;
  /** A connection that has not answered a ping for this long is dropped; Binance: a minute. */
  pongTimeoutMs?: number;
  /**
   * Binance acknowledges a subscription to a well-formed stream of an unlisted symbol and then
   * sends nothing (reported in JKorf/Binance.Net#620). True answers it the way Binance answers a
   * malformed stream name instead, to exercise a client's rejection path.
   */
  rejectUnknownSymbols?: boolean;
  /** REST weight budget per window; Binance: 6000 per minute (exchangeInfo rateLimits REQUEST_WEIGHT). */
  restWeightLimit?: { weight: number; windowMs: number };
  /**
   * Closes each connection this long after it opened; Binance: 24 h ("A single connection to
   * stream.binance.com is only valid for 24 hours; expect to be disconnected at the 24 hour mark",
   * web-socket-streams.md). Unset (default): never. Binance documents no close code for it; this
   * assumes a normal close frame (1000), which a client treats like any other server close.
   */
  maxConnectionAgeMs?: number;
}

/** The trades sent to clients for one symbol: each trade once, however many clients got it. */
export type SentTrades = SentRecords<BinanceTradePayload>;

export interface BinanceSimulator extends SimulatorControls<BinanceTradePayload>, RestMarketControls {
  /** Everything generated for a symbol (either spelling), subscribed or not. */
  generated(symbol: string): TradeTally;
  /** What was sent to at least one client for a symbol (either spelling). */
  sent(symbol: string): SentTrades;
  /** Pongs received that echoed the ping's payload. */
  pongs(): number;
  /** Sends the serverShutdown event Binance sends before a server goes away. */
  announceShutdown(): void;
  /** WebSocket connections accepted since the start (open or not). */
  connectionsOpened(): number;
  /** Connections closed because they reached `maxConnectionAgeMs`. */
  connectionsCut(): number;
  /** Fault: the next `@depth20@100ms` frame is inconsistent (its lastUpdateId goes back). */
  corruptNextBookUpdate(): void;
  /** Delists a symbol (either spelling): `exchangeInfo` no longer lists it (its market goes on, unseen by new lists). */
  delist(symbol: string): void;
}

interface Client extends ConnectionState {
  socket: WebSocket;
  /** Arrival times of the client's messages in the last second (Binance counts pings, pongs and requests). */
  recent: number[];
  pingPayload?: string;
  lastPongAt: number;
}

// web-socket-streams.md: 5 incoming messages per second; beyond that the connection is closed.
const MAX_INCOMING_PER_SECOND = 5;
// What Binance answered a malformed stream URL with (ccxt/binance-api-node#121).
const ILLEGAL_STREAM_URL = '{"code":-1,"msg":"Illegal format ws or stream"}';

/** `BTC-USDT` or `BTCUSDT` → `BTCUSDT`. */
function exchangeSymbol(symbol: string): string {
  return symbol.replace('-', '').toUpperCase();
}

/** exchangeInfo's entry for a symbol, shaped like rest_exchangeInfo_2021_excerpt.json. */
function symbolInfo(symbol: string): Record<string, unknown> {
  const [baseAsset, quoteAsset] = symbol.split('-');
  return {
    symbol: exchangeSymbol(symbol), status: 'TRADING', baseAsset, baseAssetPrecision: 8, quoteAsset, quotePrecision: 8, quoteAssetPrecision: 8,
    baseCommissionPrecision: 8, quoteCommissionPrecision: 8,
    orderTypes: ['LIMIT', 'LIMIT_MAKER', 'MARKET', 'STOP_LOSS_LIMIT', 'TAKE_PROFIT_LIMIT'],
    icebergAllowed: true, ocoAllowed: true, quoteOrderQtyMarketAllowed: true, isSpotTradingAllowed: true, isMarginTradingAllowed: true,
    filters: [
      { filterType: 'PRICE_FILTER', minPrice: '0.01000000', maxPrice: '1000000.00000000', tickSize: '0.01000000' },
      { filterType: 'PERCENT_PRICE', multiplierUp: '5', multiplierDown: '0.2', avgPriceMins: 5 },
      { filterType: 'LOT_SIZE', minQty: '0.00001000', maxQty: '9000.00000000', stepSize: '0.00001000' },
      { filterType: 'MIN_NOTIONAL', minNotional: '10.00000000', applyToMarket: true, avgPriceMins: 5 },
      { filterType: 'ICEBERG_PARTS', limit: 10 },
      { filterType: 'MARKET_LOT_SIZE', minQty: '0.00000000', maxQty: '100.00000000', stepSize: '0.00000000' },
      { filterType: 'MAX_NUM_ORDERS', maxNumOrders: 200 },
      { filterType: 'MAX_NUM_ALGO_ORDERS', maxNumAlgoOrders: 5 },
    ],
    permissions: ['SPOT', 'MARGIN'],
  };
}

/**
 * Starts a Binance spot market-data simulator on 127.0.0.1: `/ws`, `/ws/<stream>`, `/stream?streams=`
 * and REST `/api/v3/{ping,time,exchangeInfo,historicalTrades,klines}` and `/sapi/v1/system/status`.
 */
export async function startBinanceSimulator(options: BinanceSimulatorOptions): Promise<BinanceSimulator> {
  const { symbols, tradesPerSecond, pingIntervalMs = 20_000, pongTimeoutMs = 60_000, rejectUnknownSymbols = false, seed = 1 } = options;
  const { weight = 6000, windowMs = 60_000 } = options.restWeightLimit ?? {};
  const budget = new RequestBudget(weight, windowMs);
  const feed = new TradeFeed<BinanceTradePayload>({ symbols, tradesPerSecond, seed, exchangeSymbol, amount: (trade) => trade.q });
  const klines = new SimulatedKlines({ seed, startedAt: Date.now(), tradesOf: (s) => feed.history(s), openingPrice: (s) => feed.openingPrice(s), emptyCandles: 'flat', holes: options.klineHoles });
  const maintenance = new MaintenanceWindows();
  const delisted = new Set<string>();
  /** Whether `exchangeInfo` lists a symbol spelled the exchange's way. */
  const listed = (symbol: string): boolean => feed.lists(symbol) && !delisted.has(symbol);
  let pongs = 0;
  let opened = 0;
  let cut = 0;

  const checkStream = (stream: string): string | undefined => {
    const symbol = streamSymbol(stream);
    if (symbol === undefined) return 'Invalid request: invalid stream';
    if (symbol !== '' && ((!feed.lists(symbol) && rejectUnknownSymbols) || server.faults.refusingSubscriptions(symbol))) return 'Invalid request: invalid stream';
    return undefined;
  };

  /** A stream event as this client reads it: wrapped as {"stream", "data"} on a combined connection. */
  const streamEvent = (client: Client, stream: string, payload: string): string => (client.combined ? `{"stream":"${stream}","data":${payload}}` : payload);

  /** Counts a client message; past the limit Binance disconnects (close code 1008 as reported by clients). */
  const overLimit = (client: Client): boolean => {
    const now = Date.now();
    client.recent = client.recent.filter((t) => now - t < 1000);
    client.recent.push(now);
    if (client.recent.length <= MAX_INCOMING_PER_SECOND) return false;
    client.socket.close(1008, 'Too many requests');
    return true;
  };

  const accept = (state: ConnectionState, badUrl: boolean): AcceptSocket<Client> => (socket) => {
    if (badUrl) {
      socket.close(1008, ILLEGAL_STREAM_URL);
      return undefined;
    }
    const client: Client = { ...state, socket, recent: [], lastPongAt: Date.now() };
    opened += 1;
    const { maxConnectionAgeMs } = options;
    if (maxConnectionAgeMs !== undefined) {
      const timer = setTimeout(() => {
        cut += 1;
        socket.close(1000);
      }, maxConnectionAgeMs);
      socket.once('close', () => clearTimeout(timer));
    }
    socket.on('ping', () => overLimit(client));
    socket.on('pong', (data) => {
      if (overLimit(client)) return;
      if (data.toString() !== client.pingPayload) return;
      client.lastPongAt = Date.now();
      pongs += 1;
    });
    socket.on('message', (data, isBinary) => {
      if (overLimit(client)) return;
      socket.send(answerRequest(isBinary ? '' : data.toString(), client, checkStream));
    });
    return client;
  };

  /** The streams a connection URL subscribes to, or undefined for a path Binance does not serve. */
  const connectionState = (url: URL): ConnectionState | undefined => {
    if (url.pathname === '/ws' || url.pathname === '/ws/') return { combined: false, streams: new Set() };
    if (url.pathname.startsWith('/ws/')) {
      const name = decodeURIComponent(url.pathname.slice(4));
      // A name without `@` is a user-data listen key, which carries no market data; ccxt connects
      // to `/ws/<its stream index>` (e.g. `/ws/0`) that way and then SUBSCRIBEs.
      return { combined: false, streams: new Set(name.includes('@') ? [name] : []) };
    }
    if (url.pathname !== '/stream') return undefined;
    const names = (url.searchParams.get('streams') ?? '').split('/').filter((s) => s.length > 0);
    return { combined: true, streams: new Set(names) };
  };

  const json = (res: ServerResponse, status: number, body: unknown): void => sendJson(res, status, body, 'application/json;charset=UTF-8');

  const send = (res: ServerResponse, answer: RestAnswer): void => {
    for (const [name, value] of Object.entries(answer.headers ?? {})) res.setHeader(name, value);
    json(res, answer.status, answer.body);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse, url: URL): void => {
    if (req.method !== 'GET') return json(res, 405, { code: -1, msg: 'Method not allowed.' });
    if (url.pathname === '/api/v3/ping') return json(res, 200, {});
    if (url.pathname === '/api/v3/time') return json(res, 200, { serverTime: Date.now() });
    if (url.pathname === '/api/v3/historicalTrades') {
      if (maintenance.ongoing()) return send(res, BINANCE_MAINTENANCE_ANSWER);
      return send(res, answerHistoricalTrades(url, (symbol) => (feed.lists(symbol) ? feed.history(symbol) : undefined), budget));
    }
    if (url.pathname === '/api/v3/klines') return send(res, answerBinanceKlines(url, { klines, lists: (symbol) => feed.lists(symbol), budget, maintenance }));
    // SAPI weight is counted apart from REQUEST_WEIGHT at Binance; the simulator does not count it.
    if (url.pathname === '/sapi/v1/system/status') return send(res, answerBinanceSystemStatus(maintenance));
    if (url.pathname === '/api/v3/depth') {
      const answer = books.answerDepth(url, budget);
      for (const [name, value] of Object.entries(answer.headers ?? {})) res.setHeader(name, value);
      return json(res, answer.status, answer.body);
    }
    if (url.pathname !== '/api/v3/exchangeInfo') return json(res, 404, { code: -1, msg: 'Not found.' });
    const one = url.searchParams.get('symbol');
    const many = url.searchParams.get('symbols');
    let wanted: string[];
    try {
      wanted = one !== null ? [one] : many !== null ? (JSON.parse(many) as string[]) : symbols.map(exchangeSymbol).filter(listed);
    } catch {
      return json(res, 400, { code: -1100, msg: "Illegal characters found in parameter 'symbols'." });
    }
    if (wanted.some((s) => !listed(s))) return json(res, 400, { code: -1121, msg: 'Invalid symbol.' });
    json(res, 200, {
      timezone: 'UTC',
      serverTime: Date.now(),
      rateLimits: [
        { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: 6000 },
        { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: 100 },
        { rateLimitType: 'ORDERS', interval: 'DAY', intervalNum: 1, limit: 200000 },
        { rateLimitType: 'RAW_REQUESTS', interval: 'MINUTE', intervalNum: 5, limit: 61000 },
      ],
      exchangeFilters: [],
      symbols: symbols.filter((s) => wanted.includes(exchangeSymbol(s))).map(symbolInfo),
    });
  };

  const server = await startSimulatorServer<Client>(options.port, {
    websocket: (url) => {
      const state = connectionState(url);
      if (!state) return undefined;
      // Binance accepts the upgrade and then closes a connection whose URL names a malformed stream.
      return accept(state, [...state.streams].some((stream) => checkStream(stream) !== undefined));
    },
    rest: onRequest,
  });

  const books = startBinanceBooks({
    symbols: feed.symbols,
    seed,
    lastPrice: (symbol) => feed.history(symbol).at(-1)?.price,
    publish: (stream, payload) => server.sendEach((client) => (client.streams.has(stream) ? streamEvent(client, stream, payload) : undefined)),
    every: (ms, task) => server.every(ms, task),
  });

  // One frame per trade, to the clients subscribed to the symbol's `@trade` stream.
  feed.start((symbol, fills) => {
    const stream = `${symbol.toLowerCase()}@trade`;
    return fills
      .map((fill) => binancePayload(symbol, fill))
      .filter((trade) => {
        const payload = JSON.stringify(trade);
        return server.sendEach((client) => (client.streams.has(stream) ? streamEvent(client, stream, payload) : undefined));
      });
  });

  // Binance pings every 20 s and drops a connection whose pong is a minute overdue.
  server.every(pingIntervalMs, () => {
    const now = Date.now();
    for (const client of server.clients) {
      if (now - client.lastPongAt > pongTimeoutMs) {
        client.socket.terminate();
        continue;
      }
      client.pingPayload = String(now);
      client.socket.ping(client.pingPayload);
    }
  });

  return {
    ...simulatorControls(server, feed, '{"e":"trade","E":1790649901913,"s":"BTCUSDT","t":67208'),
    pongs: () => pongs,
    setMaintenance: (on) => maintenance.set(on),
    rateLimited: () => budget.refused,
    restRequests: (path) => server.restRequests(path),
    connectionsOpened: () => opened,
    connectionsCut: () => cut,
    corruptNextBookUpdate: () => books.corruptNextBookUpdate(),
    delist: (symbol) => void delisted.add(exchangeSymbol(symbol)),
    announceShutdown: () => {
      const payload = JSON.stringify({ e: 'serverShutdown', E: Date.now() });
      server.sendEach((client) => streamEvent(client, '!serverShutdown', payload));
    },
  };
}
