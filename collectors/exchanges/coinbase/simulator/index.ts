import type { WebSocket } from 'ws';
import { simulatorControls, type RestMarketControls, type SimulatorControls, type SimulatorStartOptions } from '../../../simulator/controls.js';
import { SimulatedKlines } from '../../../simulator/kline-source.js';
import type { TradeTally } from '../../../simulator/market.js';
import { RequestBudget } from '../../../simulator/request-budget.js';
import { startSimulatorServer, type AcceptSocket } from '../../../simulator/server.js';
import { TradeFeed, type SentRecords } from '../../../simulator/trade-feed.js';
import { heartbeatFrame, matchPayload, type CoinbaseMatchPayload } from './frames.js';
import { answerRequest, type Subscriptions } from './requests.js';
import { answerProductTrades } from './history.js';
import { answerCandles } from './klines.js';
import { coinbaseRest } from './rest.js';
import { startCoinbaseBooks } from './book.js';

export type { CoinbaseMatchPayload } from './frames.js';

export interface CoinbaseSimulatorOptions extends SimulatorStartOptions {
  /** Product ids (unified `BASE-QUOTE`, which Coinbase uses as is) the simulated exchange lists. */
  symbols: readonly string[];
  /** Period of the heartbeat channel; Coinbase: once a second. */
  heartbeatIntervalMs?: number;
  /** A client that has not subscribed within this long is disconnected; Coinbase: 5 s. */
  subscribeTimeoutMs?: number;
  /** REST requests allowed per window; Coinbase public endpoints: 10 per second per IP. */
  restRequestLimit?: { requests: number; windowMs: number };
}

/** The `match` frames sent for one product: each trade once, however many clients got it. */
export type SentMatches = SentRecords<CoinbaseMatchPayload>;

export interface CoinbaseSimulator extends SimulatorControls<CoinbaseMatchPayload>, RestMarketControls {
  /** Everything generated for a product, subscribed or not. */
  generated(symbol: string): TradeTally;
  /** The `match` frames sent to at least one client (`last_match` repeats are not counted). */
  sent(symbol: string): SentMatches;
  /** Heartbeat frames sent, all clients together. */
  heartbeats(): number;
  /** Stops generating trades (connections and heartbeats go on). */
  pause(): void;
  /** Fault: the next `level2_batch` l2update crosses the book (a bid at the best ask). */
  corruptNextBookUpdate(): void;
}

interface Client {
  socket: WebSocket;
  subscriptions: Subscriptions;
  subscribed: boolean;
}

/** What a product's frames carry beyond the trades themselves. */
interface Product {
  /** Coinbase's per-product sequence; the simulator advances it once per trade. */
  sequence: number;
  last?: CoinbaseMatchPayload;
}

/** Starts a Coinbase Exchange simulator on 127.0.0.1: the `ws-feed` at `/` and REST `/products`, `/products/<id>`, `/products/<id>/{trades,candles,book}`, `/time`. */
export async function startCoinbaseSimulator(options: CoinbaseSimulatorOptions): Promise<CoinbaseSimulator> {
  const { symbols, tradesPerSecond, seed = 1, heartbeatIntervalMs = 1_000, subscribeTimeoutMs = 5_000 } = options;
  // Coinbase product ids are the unified symbols as they are.
  const feed = new TradeFeed<CoinbaseMatchPayload>({ symbols, tradesPerSecond, seed, exchangeSymbol: (symbol) => symbol, amount: (trade) => trade.size });
  const { requests = 10, windowMs = 1000 } = options.restRequestLimit ?? {};
  const budget = new RequestBudget(requests, windowMs);
  const products = new Map(symbols.map((id, i): [string, Product] => [id, { sequence: 1_000_000 * (i + 1) }]));
  let heartbeats = 0;
  // Candles where nothing traded are not served ("No data is published for intervals where there are no ticks").
  const klines = new SimulatedKlines({ seed, startedAt: Date.now(), tradesOf: (id) => feed.history(id), openingPrice: (id) => feed.openingPrice(id), emptyCandles: 'skip', holes: options.klineHoles });
  let maintenance = false;

  const onMessage = (client: Client, text: string): void => {
    // The refusal fault answers every product as Coinbase answers one it does not list.
    const outcome = answerRequest(text, client.subscriptions, (id) => feed.lists(id) && !server.faults.refusingSubscriptions(id));
    client.subscribed ||= outcome.subscribed;
    outcome.replies.forEach((reply) => client.socket.send(reply));
    // Each newly subscribed product's latest trade follows as `last_match` (ws_full_session_2021-04-17.jsonl;
    // there some arrive before the subscriptions reply, here they always follow it).
    for (const id of outcome.newMatches) {
      const last = products.get(id)!.last;
      if (last) client.socket.send(JSON.stringify({ ...last, type: 'last_match' }));
    }
    // A new level2_batch subscription starts with the product's whole book.
    for (const id of outcome.newBooks) client.socket.send(books.snapshot(id));
  };

  const accept: AcceptSocket<Client> = (socket) => {
    const client: Client = { socket, subscriptions: new Map(), subscribed: false };
    // "you are disconnected if no subscribe has been received within 5 seconds" (websocket-feed overview).
    const deadline = setTimeout(() => {
      // The close code is not documented; a normal close is assumed.
      if (!client.subscribed) socket.close(1000);
    }, subscribeTimeoutMs);
    socket.on('close', () => clearTimeout(deadline));
    socket.on('error', () => clearTimeout(deadline));
    socket.on('message', (data, isBinary) => onMessage(client, isBinary ? '' : data.toString()));
    return client;
  };

  const server = await startSimulatorServer<Client>(options.port, {
    // The feed lives at the root of ws-feed.exchange.coinbase.com.
    websocket: (url) => (url.pathname === '/' ? accept : undefined),
    rest: coinbaseRest(symbols, (id, url) => answerProductTrades(url, feed.history(id), budget), {
      candles: (id, url) => answerCandles(url, id, klines, budget),
      maintenance: () => maintenance,
    }, (id, url) => books.answerBook(id, url, budget)),
  });

  const books = startCoinbaseBooks({
    products: feed.symbols,
    seed,
    lastPrice: (id) => feed.history(id).at(-1)?.price,
    clients: () => server.clients,
    every: (ms, task) => server.every(ms, task),
  });

  // One `match` frame per trade.
  feed.start((id, fills) => {
    const product = products.get(id)!;
    // Microseconds vary per trade, as in the recordings; the millisecond is the trade's.
    const payloads = fills.map((fill) => matchPayload(id, fill, (product.sequence += 1), (fill.id * 337) % 1000));
    // The latest trade is remembered for `last_match` and heartbeats whether or not anyone got it.
    product.last = payloads.at(-1);
    return payloads.filter((payload) => {
      const text = JSON.stringify(payload);
      return server.sendEach((client) => (client.subscriptions.get('matches')?.has(id) ? text : undefined));
    });
  });

  server.every(heartbeatIntervalMs, () => {
    const now = Date.now();
    for (const client of server.clients) {
      for (const id of client.subscriptions.get('heartbeat') ?? []) {
        const product = products.get(id)!;
        client.socket.send(heartbeatFrame(id, product.sequence, product.last?.trade_id ?? 0, now));
        heartbeats += 1;
      }
    }
  });

  return {
    ...simulatorControls(server, feed, '{"type":"match","trade_id":1568268,"maker_order_id":"cac01d6d'),
    heartbeats: () => heartbeats,
    setMaintenance: (on) => {
      maintenance = on;
    },
    rateLimited: () => budget.refused,
    corruptNextBookUpdate: () => books.corruptNextBookUpdate(),
    restRequests: (path) => server.restRequests(path),
  };
}
