/**
 * The few Coinbase Exchange REST endpoints the simulator serves, shaped like the 2026-06-19
 * captures: GET /products (rest_product_BTC-USD_*.json per entry), /products/<id>, /products/<id>/trades
 * (history.ts), /products/<id>/candles (klines.ts), /products/<id>/book
 * (book.ts), /time (rest_time_*.json).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '../../../simulator/server.js';
import type { RestAnswer } from '../../../simulator/server.js';
import { maintenanceAnswer, type CoinbaseMarketRoutes } from './klines.js';

/** A product as `GET /products/<id>` returns it, for the simulator's cent ticks and 0.00001 lots. */
function product(id: string): Record<string, unknown> {
  const [base, quote] = id.split('-');
  return {
    id, base_currency: base, quote_currency: quote, quote_increment: '0.01', base_increment: '0.00001', display_name: id,
    min_market_funds: '1', margin_enabled: false, post_only: false, limit_only: false, cancel_only: false, status: 'online',
    status_message: '', trading_disabled: false, fx_stablecoin: false, max_slippage_percentage: '0.02000000', auction_mode: false,
    high_bid_limit_percentage: '',
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  sendJson(res, status, body, 'application/json; charset=utf-8');
}

/** Sends a RestAnswer with its headers. */
function answer(res: ServerResponse, reply: RestAnswer): void {
  for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
  json(res, reply.status, reply.body);
}

/**
 * The REST request handler for a simulated exchange listing `products`; `trades` answers
 * `/products/<id>/trades` of a listed id, `market` its `/products/<id>/candles` and maintenance,
 * `book` its `/products/<id>/book`.
 */
export function coinbaseRest(
  products: readonly string[],
  trades?: (id: string, url: URL) => RestAnswer,
  market?: CoinbaseMarketRoutes,
  book?: (id: string, url: URL) => RestAnswer,
): (req: IncomingMessage, res: ServerResponse, url: URL) => void {
  return (req, res, url) => {
    const { pathname } = url;
    // During maintenance the whole API is down, `/time` included: that is how a client sees it.
    if (market?.maintenance()) return answer(res, maintenanceAnswer);
    // Coinbase answers unknown routes and products alike with {"message":"NotFound"}.
    if (req.method !== 'GET') return json(res, 404, { message: 'NotFound' });
    if (pathname === '/time') {
      const now = Date.now();
      return json(res, 200, { iso: new Date(now).toISOString(), epoch: now / 1000 });
    }
    if (pathname === '/products') return json(res, 200, products.map(product));
    const tradesOf = /^\/products\/([^/]+)\/trades$/.exec(pathname)?.[1];
    if (tradesOf !== undefined && trades && products.includes(decodeURIComponent(tradesOf))) return answer(res, trades(decodeURIComponent(tradesOf), url));
    const candlesOf = /^\/products\/([^/]+)\/candles$/.exec(pathname)?.[1];
    if (candlesOf !== undefined && market && products.includes(decodeURIComponent(candlesOf))) return answer(res, market.candles(decodeURIComponent(candlesOf), url));
    const bookOf = /^\/products\/([^/]+)\/book$/.exec(pathname)?.[1];
    if (bookOf !== undefined && book && products.includes(decodeURIComponent(bookOf))) return answer(res, book(decodeURIComponent(bookOf), url));
    const id = /^\/products\/([^/]+)$/.exec(pathname)?.[1];
    if (id !== undefined && products.includes(decodeURIComponent(id))) return json(res, 200, product(decodeURIComponent(id)));
    json(res, 404, { message: 'NotFound' });
  };
}
