import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { SimulatedMarket, TallyCounter, type SimulatedTrade, type TradeTally } from '../../simulator/market.js';

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
import { answerRequest, streamSymbol, type ConnectionState } from './simulator-requests.js';

export interface BinanceSimulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Unified `BASE-QUOTE` symbols the simulated exchange lists. */
  symbols: readonly string[];
  /** Trades generated per second for each symbol. */
  tradesPerSecond: number;
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
  /** Seeds the generated prices, quantities and sides. */
  seed?: number;
}

/** The trades sent to clients for one symbol: each trade once, however many clients got it. */
export interface SentTrades extends TradeTally {
  trades: readonly BinanceTradePayload[];
}

export interface BinanceSimulator {
  wsUrl: string;
  restUrl: string;
  port: number;
  /** Everything generated for a symbol (either spelling), subscribed or not. */
  generated(symbol: string): TradeTally;
  /** What was sent to at least one client for a symbol (either spelling). */
  sent(symbol: string): SentTrades;
  /** Open client connections. */
  connections(): number;
  /** Pongs received that echoed the ping's payload. */
  pongs(): number;
  /** Stops generating trades (connections stay open). */
  pause(): void;
  resume(): void;
  /** Fault: cuts every connection without a close handshake, as a network failure would. */
  dropConnections(): void;
  /** Fault: sends a frame that is not valid JSON to every client. */
  sendMalformed(text?: string): void;
  /** Sends the serverShutdown event Binance sends before a server goes away. */
  announceShutdown(): void;
  close(): Promise<void>;
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
const TICK_MS = 10;

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

/** Starts a Binance spot market-data simulator on 127.0.0.1: `/ws`, `/ws/<stream>`, `/stream?streams=` and REST `/api/v3/{ping,time,exchangeInfo}`. */
export async function startBinanceSimulator(options: BinanceSimulatorOptions): Promise<BinanceSimulator> {
  const { symbols, tradesPerSecond, pingIntervalMs = 20_000, pongTimeoutMs = 60_000, rejectUnknownSymbols = false, seed = 1 } = options;
  const markets = new Map(symbols.map((symbol, i) => [exchangeSymbol(symbol), new SimulatedMarket(seed + i)]));
  const sent = new Map([...markets.keys()].map((s): [string, BinanceTradePayload[]] => [s, []]));
  const clients = new Set<Client>();
  let pongs = 0;
  let paused = false;

  const checkStream = (stream: string): string | undefined => {
    const symbol = streamSymbol(stream);
    if (symbol === undefined) return 'Invalid request: invalid stream';
    if (symbol !== '' && !markets.has(symbol) && rejectUnknownSymbols) return 'Invalid request: invalid stream';
    return undefined;
  };

  const sendEvent = (client: Client, stream: string, payload: string): void => {
    client.socket.send(client.combined ? `{"stream":"${stream}","data":${payload}}` : payload);
  };

  const publish = (trade: BinanceTradePayload): void => {
    const stream = `${trade.s.toLowerCase()}@trade`;
    const payload = JSON.stringify(trade);
    let delivered = false;
    for (const client of clients) {
      if (!client.streams.has(stream)) continue;
      sendEvent(client, stream, payload);
      delivered = true;
    }
    if (delivered) sent.get(trade.s)!.push(trade);
  };

  // Trades are generated on a fine timer; the fractional remainder carries over, so the rate holds.
  let due = 0;
  let lastTick = Date.now();
  const generator = setInterval(() => {
    const now = Date.now();
    if (!paused) due += ((now - lastTick) / 1000) * tradesPerSecond;
    lastTick = now;
    const owed = Math.floor(due);
    due -= owed;
    for (const [symbol, market] of markets) {
      for (let left = owed; left > 0; ) {
        const fills = market.nextFills(now, left);
        left -= fills.length;
        for (const fill of fills) publish(binancePayload(symbol, fill));
      }
    }
  }, TICK_MS);

  const pinger = setInterval(() => {
    const now = Date.now();
    for (const client of clients) {
      if (now - client.lastPongAt > pongTimeoutMs) {
        client.socket.terminate();
        continue;
      }
      client.pingPayload = String(now);
      client.socket.ping(client.pingPayload);
    }
  }, pingIntervalMs);

  /** Counts a client message; past the limit Binance disconnects (close code 1008 as reported by clients). */
  const overLimit = (client: Client): boolean => {
    const now = Date.now();
    client.recent = client.recent.filter((t) => now - t < 1000);
    client.recent.push(now);
    if (client.recent.length <= MAX_INCOMING_PER_SECOND) return false;
    client.socket.close(1008, 'Too many requests');
    return true;
  };

  const wss = new WebSocketServer({ noServer: true });
  const accept = (socket: WebSocket, state: ConnectionState, badUrl: boolean): void => {
    if (badUrl) {
      // What Binance answered a malformed stream URL with (ccxt/binance-api-node#121).
      socket.close(1008, '{"code":-1,"msg":"Illegal format ws or stream"}');
      return;
    }
    const client: Client = { ...state, socket, recent: [], lastPongAt: Date.now() };
    clients.add(client);
    socket.on('close', () => clients.delete(client));
    socket.on('error', () => clients.delete(client));
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
  };

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    let state: ConnectionState;
    if (url.pathname === '/ws' || url.pathname === '/ws/') state = { combined: false, streams: new Set() };
    else if (url.pathname.startsWith('/ws/')) state = { combined: false, streams: new Set([decodeURIComponent(url.pathname.slice(4))]) };
    else if (url.pathname === '/stream') {
      const names = (url.searchParams.get('streams') ?? '').split('/').filter((s) => s.length > 0);
      state = { combined: true, streams: new Set(names) };
    } else {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const badUrl = [...state.streams].some((stream) => checkStream(stream) !== undefined);
    wss.handleUpgrade(request, socket, head, (ws) => accept(ws, state, badUrl));
  };

  const json = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'Content-Type': 'application/json;charset=UTF-8' }).end(JSON.stringify(body));
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET') return json(res, 405, { code: -1, msg: 'Method not allowed.' });
    if (url.pathname === '/api/v3/ping') return json(res, 200, {});
    if (url.pathname === '/api/v3/time') return json(res, 200, { serverTime: Date.now() });
    if (url.pathname !== '/api/v3/exchangeInfo') return json(res, 404, { code: -1, msg: 'Not found.' });
    const one = url.searchParams.get('symbol');
    const many = url.searchParams.get('symbols');
    let wanted: string[];
    try {
      wanted = one !== null ? [one] : many !== null ? (JSON.parse(many) as string[]) : symbols.map(exchangeSymbol);
    } catch {
      return json(res, 400, { code: -1100, msg: "Illegal characters found in parameter 'symbols'." });
    }
    if (wanted.some((s) => !markets.has(s))) return json(res, 400, { code: -1121, msg: 'Invalid symbol.' });
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

  const server = createServer(onRequest);
  server.on('upgrade', onUpgrade);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const broadcast = (stream: string, payload: string): void => {
    for (const client of clients) sendEvent(client, stream, payload);
  };

  return {
    wsUrl: `ws://127.0.0.1:${port}`,
    restUrl: `http://127.0.0.1:${port}`,
    port,
    generated: (symbol) => markets.get(exchangeSymbol(symbol))?.generated.value() ?? { count: 0, amount: 0 },
    sent: (symbol) => {
      const trades = [...(sent.get(exchangeSymbol(symbol)) ?? [])];
      const tally = new TallyCounter();
      trades.forEach((trade) => tally.add(trade.q));
      return { ...tally.value(), trades };
    },
    connections: () => clients.size,
    pongs: () => pongs,
    pause: () => {
      paused = true;
    },
    resume: () => {
      paused = false;
    },
    dropConnections: () => clients.forEach((client) => client.socket.terminate()),
    sendMalformed: (text = '{"e":"trade","E":1790649901913,"s":"BTCUSDT","t":67208') => clients.forEach((client) => client.socket.send(text)),
    announceShutdown: () => broadcast('!serverShutdown', JSON.stringify({ e: 'serverShutdown', E: Date.now() })),
    close: async () => {
      clearInterval(generator);
      clearInterval(pinger);
      clients.forEach((client) => client.socket.terminate());
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
