import type { WebSocket } from 'ws';
import { simulatorControls, type RestMarketControls, type SimulatorControls, type SimulatorStartOptions } from '../../../simulator/controls.js';
import { SimulatedKlines } from '../../../simulator/kline-source.js';
import type { TradeTally } from '../../../simulator/market.js';
import { RequestBudget } from '../../../simulator/request-budget.js';
import { startSimulatorServer, type AcceptSocket } from '../../../simulator/server.js';
import { TradeFeed, type SentRecords } from '../../../simulator/trade-feed.js';
import { connectionId, framedTrade, HEARTBEAT, statusFrame, tradeFrame, type KrakenTradeEntry } from './frames.js';
import { answerRequest } from './requests.js';
import { answerTrades } from './history.js';
import { answerOhlc } from './klines.js';
import { answerDepth, krakenRest } from './rest.js';
import { startKrakenBooks, type BookSubscriptions } from './book.js';

export type { KrakenTradeEntry } from './frames.js';

export interface KrakenSimulatorOptions extends SimulatorStartOptions {
  /** Unified `BASE-QUOTE` symbols the simulated exchange lists (`BTC-USD` is listed as `BTC/USD`). */
  symbols: readonly string[];
  /** Period of `{"channel":"heartbeat"}` to subscribed clients; Kraken: about a second. */
  heartbeatIntervalMs?: number;
  /** REST requests allowed per window; Kraken public endpoints: about 1 per second per IP. */
  restRequestLimit?: { requests: number; windowMs: number };
}

/** The trades sent in `update` frames for one symbol: each trade once, however many clients got it. */
export type SentTrades = SentRecords<KrakenTradeEntry>;

export interface KrakenSimulator extends SimulatorControls<KrakenTradeEntry>, RestMarketControls {
  /** Everything generated for a symbol (either spelling), subscribed or not. */
  generated(symbol: string): TradeTally;
  /** What was sent in `update` frames to at least one client (either spelling); snapshots are not counted. */
  sent(symbol: string): SentTrades;
  /** Application-level pings answered with a pong. */
  pings(): number;
  /** Heartbeat frames sent, all clients together. */
  heartbeats(): number;
  /** Stops generating trades (connections and heartbeats go on). */
  pause(): void;
  /** Fault: the next `book` update carries a wrong checksum. */
  corruptNextBookUpdate(): void;
  /** `book` subscriptions acknowledged since the start. */
  bookSubscriptions(): number;
}

interface Client {
  socket: WebSocket;
  /** Symbols subscribed on the trade channel. */
  trades: Set<string>;
  /** Symbols subscribed on the book channel, with their depth. */
  books: BookSubscriptions;
}

// A trade snapshot holds the 50 most recent trades (spot-websocket-v2/trade, `snapshot`).
const SNAPSHOT_TRADES = 50;

/** `BTC-USD` or `BTC/USD` → `BTC/USD`. */
function v2Symbol(symbol: string): string {
  return symbol.replace('-', '/').toUpperCase();
}

/** Starts a Kraken spot simulator on 127.0.0.1: WebSocket v2 at `/v2` and REST `/0/public/{Time,SystemStatus,AssetPairs,Trades,OHLC,Depth}`. */
export async function startKrakenSimulator(options: KrakenSimulatorOptions): Promise<KrakenSimulator> {
  const { symbols, tradesPerSecond, seed = 1, heartbeatIntervalMs = 1_000 } = options;
  // docs spot-ratelimits: public endpoints about 1 call per second per IP.
  const { requests = 1, windowMs = 1000 } = options.restRequestLimit ?? {};
  const budget = new RequestBudget(requests, windowMs);
  const feed = new TradeFeed<KrakenTradeEntry>({ symbols, tradesPerSecond, seed, exchangeSymbol: v2Symbol, amount: (trade) => trade.qty });
  /** Entry texts of each symbol's latest trades, for snapshots. */
  const recent = new Map(feed.symbols.map((symbol): [string, string[]] => [symbol, []]));
  let pings = 0;
  let heartbeats = 0;
  // Minutes without trades are served flat at the previous close, as Kraken does (rest_OHLC_XBTUSDT_1m_2025-11.json).
  const klines = new SimulatedKlines({ seed, startedAt: Date.now(), tradesOf: (symbol) => feed.history(symbol), openingPrice: (symbol) => feed.openingPrice(symbol), emptyCandles: 'flat', holes: options.klineHoles });
  let maintenance = false;

  const onMessage = (client: Client, text: string): void => {
    const bookReplies = books.answer(text, client.books);
    if (bookReplies) return bookReplies.forEach((reply) => client.socket.send(reply));
    // The refusal fault answers every trade subscription as Kraken answers a pair it does not list.
    const outcome = answerRequest(text, client.trades, (symbol) => feed.lists(symbol) && !server.faults.refusingSubscriptions(symbol));
    if (outcome.ping) pings += 1;
    outcome.replies.forEach((reply) => client.socket.send(reply));
    for (const symbol of outcome.snapshots) client.socket.send(tradeFrame('snapshot', recent.get(symbol)!));
  };

  const accept: AcceptSocket<Client> = (socket) => {
    const client: Client = { socket, trades: new Set(), books: new Map() };
    socket.on('message', (data, isBinary) => onMessage(client, isBinary ? '' : data.toString()));
    // Sent at once, before any request (the recorded session's first frame).
    socket.send(statusFrame(connectionId()));
    return client;
  };

  const server = await startSimulatorServer<Client>(options.port, {
    websocket: (url) => (url.pathname === '/v2' ? accept : undefined),
    rest: krakenRest(feed.symbols, (symbol, key, url) => answerTrades(url, key, feed.history(symbol), budget), {
      ohlc: (symbol, key, url) => answerOhlc(url, symbol, key, klines, budget),
      maintenance: () => maintenance,
    }, (symbol, key, url) => answerDepth(url, key, (count) => books.top(symbol, count), budget)),
  });

  const books = startKrakenBooks({
    symbols: feed.symbols,
    seed,
    lastPrice: (symbol) => feed.history(symbol).at(-1)?.price,
    clients: () => server.clients,
    every: (ms, task) => server.every(ms, task),
  });

  // One `update` frame per taker order: its fills share the data array.
  feed.start((symbol, fills) => {
    // Microseconds vary per trade, as in the recordings; the millisecond is the trade's.
    const framed = fills.map((fill) => framedTrade(symbol, fill, (fill.id * 337) % 1000));
    const latest = recent.get(symbol)!;
    latest.push(...framed.map((f) => f.text));
    latest.splice(0, Math.max(0, latest.length - SNAPSHOT_TRADES));
    const text = tradeFrame('update', framed.map((f) => f.text));
    return server.sendEach((client) => (client.trades.has(symbol) ? text : undefined)) ? framed.map((f) => f.entry) : [];
  });

  server.every(heartbeatIntervalMs, () => {
    for (const client of server.clients) {
      if (client.trades.size === 0 && client.books.size === 0) continue;
      client.socket.send(HEARTBEAT);
      heartbeats += 1;
    }
  });

  return {
    ...simulatorControls(server, feed, '{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"buy","price":68580.0,'),
    pings: () => pings,
    heartbeats: () => heartbeats,
    corruptNextBookUpdate: () => books.corruptNextBookUpdate(),
    bookSubscriptions: () => books.subscriptions(),
    setMaintenance: (on) => {
      maintenance = on;
    },
    rateLimited: () => budget.refused,
    restRequests: (path) => server.restRequests(path),
  };
}
