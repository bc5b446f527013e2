import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WebSocket } from 'ws';
import { simulatorControls, type RestMarketControls, type SimulatorControls, type SimulatorStartOptions } from '../../../simulator/controls.js';
import { SimulatedKlines } from '../../../simulator/kline-source.js';
import { MaintenanceWindows } from '../../../simulator/maintenance.js';
import type { TradeTally } from '../../../simulator/market.js';
import { RequestBudget } from '../../../simulator/request-budget.js';
import { sendJson, startSimulatorServer, type AcceptSocket } from '../../../simulator/server.js';
import { TradeFeed, type SentRecords } from '../../../simulator/trade-feed.js';
import type { RestAnswer } from '../../../simulator/server.js';
import { gateioPair } from '../symbols.js';
import { answerGateTrades, gateError } from './history.js';
import { gateBookPayloadProblem, startGateBooks } from './book.js';
import { answerGateCandles } from './klines.js';
import { answerGateRequest, type GateConnectionState } from './requests.js';
import { GateIds, gateTradePayload, gateUpdateFrame, type GateTradePayload } from './trades.js';

export type { GateTradePayload } from './trades.js';

export interface GateioSimulatorOptions extends SimulatorStartOptions {
  /**
   * REST requests allowed per window, counted for each endpoint apart as Gate does. Default: Gate's
   * public spot limit, 200 requests per 10 s per endpoint.
   */
  restRequestLimit?: { requests: number; windowMs: number };
}

export interface GateioSimulator extends SimulatorControls<GateTradePayload>, RestMarketControls {
  /** Every fill generated for a pair (either spelling), subscribed or not. */
  generated(symbol: string): TradeTally;
  /** The spot.trades results sent to at least one client. */
  sent(symbol: string): SentRecords<GateTradePayload>;
  /** `spot.ping`s answered with `spot.pong`. */
  pings(): number;
  /** Fault: the next `spot.order_book` frame carries a lastUpdateId lower than the book's. */
  corruptNextBookUpdate(): void;
}

interface Client extends GateConnectionState {
  socket: WebSocket;
}

// The public spot channels a client may subscribe; the simulator publishes spot.trades and spot.order_book.
const PUBLIC_CHANNELS = new Set(['spot.trades', 'spot.tickers', 'spot.candlesticks', 'spot.book_ticker', 'spot.order_book', 'spot.order_book_update', 'spot.obu']);

/** A `/spot/currency_pairs` entry shaped like the docs example (rest_spot_currency_pairs), sized like the simulated market. */
function currencyPair(pair: string): Record<string, unknown> {
  const [base, quote] = pair.split('_');
  return {
    id: pair, base, base_name: base, quote, quote_name: quote, fee: '0.2', min_base_amount: '0.00001', min_quote_amount: '1',
    max_base_amount: '10000', max_quote_amount: '10000000', amount_precision: 5, precision: 2, trade_status: 'tradable',
    sell_start: 1516378650, buy_start: 1516378650, delisting_time: 0, trade_url: `https://www.gate.io/trade/${pair}`, st_tag: false,
  };
}

/**
 * Starts a Gate API v4 spot market-data simulator on 127.0.0.1: WebSocket `/ws/v4/` (spot.trades,
 * spot.order_book, spot.ping) and REST `/api/v4/spot/{currency_pairs,trades,candlesticks,order_book,time}`.
 */
export async function startGateioSimulator(options: GateioSimulatorOptions): Promise<GateioSimulator> {
  const { symbols, tradesPerSecond, seed = 1 } = options;
  const { requests = 200, windowMs = 10_000 } = options.restRequestLimit ?? {};
  const budgets = new Map<string, RequestBudget>();
  const budgetOf = (path: string) => budgets.get(path) ?? budgets.set(path, new RequestBudget(requests, windowMs)).get(path)!;
  const exchangeSymbol = (symbol: string) => (symbol.includes('_') ? symbol : gateioPair(symbol));
  const feed = new TradeFeed<GateTradePayload>({ symbols, tradesPerSecond, seed, exchangeSymbol, amount: (trade) => trade.amount });
  const ids = new GateIds(feed.symbols);
  const klines = new SimulatedKlines({ seed, startedAt: Date.now(), tradesOf: (s) => feed.history(s), openingPrice: (s) => feed.openingPrice(s), emptyCandles: 'flat', holes: options.klineHoles });
  const maintenance = new MaintenanceWindows();
  let pings = 0;

  const checkPayload = (channel: string, payload: readonly string[]): string | undefined => {
    if (!PUBLIC_CHANNELS.has(channel)) return `unknown channel ${channel}`;
    // spot.trades takes pairs; the book and candle channels one pair and their options.
    const pairs = channel === 'spot.trades' || channel === 'spot.tickers' ? payload : channel === 'spot.candlesticks' ? payload.slice(1, 2) : payload.slice(0, 1);
    // Not documented: Gate's wording for a pair it does not list. The collector does not rely on it
    // naming the pair (a refused batch is then retried pair by pair).
    const unknown = pairs.find((pair) => !feed.lists(pair) || server.faults.refusingSubscriptions(pair));
    if (unknown !== undefined) return `unknown currency pair: ${unknown}`;
    return channel === 'spot.order_book' ? gateBookPayloadProblem(payload) : undefined;
  };

  const accept: AcceptSocket<Client> = (socket) => {
    const client: Client = { socket, connId: randomBytes(8).toString('hex'), subscriptions: new Set() };
    socket.on('message', (data, isBinary) => {
      const text = isBinary ? '' : data.toString();
      const reply = answerGateRequest(text, client, checkPayload);
      if (reply?.includes('"spot.pong"')) pings += 1;
      if (reply !== undefined) socket.send(reply);
    });
    return client;
  };

  const send = (res: ServerResponse, answer: RestAnswer): void => sendJson(res, answer.status, answer.body);

  const onRequest = (req: IncomingMessage, res: ServerResponse, url: URL): void => {
    if (req.method !== 'GET') return send(res, gateError(405, 'METHOD_NOT_ALLOWED', 'Method Not Allowed'));
    // No documented shape: during maintenance every endpoint answers 503 with Gate's error body
    // (Gate has no status endpoint; the collector's health check asks /spot/time).
    if (maintenance.ongoing()) return send(res, gateError(503, 'SERVER_ERROR', 'System maintenance'));
    switch (url.pathname) {
      case '/api/v4/spot/time':
        // docs rest_spot_time: an integer (ccxt's 2024 capture has a string; the collector reads both).
        return sendJson(res, 200, { server_time: Date.now() });
      case '/api/v4/spot/currency_pairs':
        return sendJson(res, 200, feed.symbols.map(currencyPair));
      case '/api/v4/spot/candlesticks':
        return send(res, answerGateCandles(url, klines, (pair) => feed.lists(pair), budgetOf(url.pathname)));
      case '/api/v4/spot/order_book':
        return send(res, books.answerRest(url, budgetOf(url.pathname)));
      case '/api/v4/spot/trades':
        return send(res, answerGateTrades(url, (pair) => (feed.lists(pair) ? feed.history(pair) : undefined), ids, budgetOf(url.pathname)));
      default:
        return send(res, gateError(404, 'NOT_FOUND', 'Not Found'));
    }
  };

  const server = await startSimulatorServer<Client>(options.port, {
    websocket: (url) => (url.pathname === '/ws/v4/' || url.pathname === '/ws/v4' ? accept : undefined),
    rest: onRequest,
  });

  const books = startGateBooks({
    pairs: feed.symbols,
    seed,
    lastPrice: (pair) => feed.history(pair).at(-1)?.price,
    clients: () => server.clients,
    every: (ms, task) => server.every(ms, task),
  });

  feed.start((pair, fills, now) =>
    fills.map((fill) => gateTradePayload(pair, fill, ids)).filter((payload) => {
      const text = gateUpdateFrame('spot.trades', payload, now);
      return server.sendEach((client) => (client.subscriptions.has(`spot.trades:${pair}`) ? text : undefined));
    }),
  );

  return {
    ...simulatorControls(server, feed, '{"time":1682689046,"time_ms":1682689046133,"channel":"spot.trades","event":"update","result":{"id":55417'),
    pings: () => pings,
    corruptNextBookUpdate: () => books.corruptNextBookUpdate(),
    setMaintenance: (on) => maintenance.set(on),
    rateLimited: () => [...budgets.values()].reduce((n, budget) => n + budget.refused, 0),
    restRequests: (path) => server.restRequests(path),
  };
}
