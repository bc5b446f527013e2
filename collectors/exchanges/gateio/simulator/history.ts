/**
 * Gate's `GET /api/v4/spot/trades` as the simulator serves it, from the trades it generated, sent or
 * not (docs_examples_protocol.json rest_spot_trades_paging; entry shape as in
 * rest_trades_BTC_USDT_limit1_2024-03-13_ccxt.json). No recording shows a page of several trades:
 * like the docs' list endpoints, pages come newest first.
 */
import type { SimulatedTrade } from '../../../simulator/market.js';
import type { RequestBudget } from '../../../simulator/request-budget.js';
import type { RestAnswer } from '../../../simulator/server.js';
import { gateDecimal, type GateIds } from './trades.js';

// docs: limit "default 100, max 1000".
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

/** A Gate error body: `{"label", "message"}` (docs "Error response"). */
export function gateError(status: number, label: string, message: string): RestAnswer {
  return { status, body: { label, message } };
}

/** One public trade as Gate prints it (the ccxt capture, in its key order). */
function entry(pair: string, trade: SimulatedTrade, ids: GateIds): Record<string, string> {
  return {
    id: String(ids.global(pair, trade.id)),
    create_time: String(Math.floor(trade.time / 1000)),
    create_time_ms: `${trade.time}.000000`,
    currency_pair: pair,
    side: trade.takerSide > 0 ? 'buy' : 'sell',
    amount: gateDecimal(trade.amount),
    price: gateDecimal(trade.price),
    // docs: "Consecutive trade ID within a single market".
    sequence_id: String(trade.id),
  };
}

/** The answer to one /spot/trades request; `historyOf` gives a listed pair's generated trades (undefined: not listed). */
export function answerGateTrades(url: URL, historyOf: (pair: string) => readonly SimulatedTrade[] | undefined, ids: GateIds, budget: RequestBudget): RestAnswer {
  // docs "Rate Limit": 200 requests / 10 s per endpoint; over it 429 TOO_MANY_REQUESTS.
  if (budget.spend(1) !== undefined) return gateError(429, 'TOO_MANY_REQUESTS', 'Request Rate limit Exceeded');
  const pair = url.searchParams.get('currency_pair');
  if (!pair) return gateError(400, 'MISSING_REQUIRED_PARAM', 'Missing required parameter: currency_pair');
  const trades = historyOf(pair);
  if (!trades) return gateError(400, 'INVALID_CURRENCY_PAIR', `Invalid currency pair ${pair}`);
  const limit = Number(url.searchParams.get('limit') ?? DEFAULT_LIMIT);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) return gateError(400, 'INVALID_PARAM_VALUE', `Invalid limit ${String(url.searchParams.get('limit'))}`);
  const lastIdText = url.searchParams.get('last_id');
  if (lastIdText !== null && !/^\d+$/.test(lastIdText)) return gateError(400, 'INVALID_PARAM_VALUE', `Invalid last_id ${lastIdText}`);
  let page: readonly SimulatedTrade[];
  if (lastIdText === null) page = trades.slice(-limit);
  else {
    const lastId = Number(lastIdText);
    const reverse = url.searchParams.get('reverse') === 'true';
    // Trades are kept in id order, so those above (or, reversed, below) last_id are one run.
    const from = (beyond: (id: number) => boolean) => {
      const at = trades.findIndex((trade) => beyond(ids.global(pair, trade.id)));
      return at < 0 ? trades.length : at;
    };
    if (reverse) {
      const below = from((id) => id >= lastId);
      page = trades.slice(Math.max(0, below - limit), below);
    } else {
      const above = from((id) => id > lastId);
      page = trades.slice(above, above + limit);
    }
  }
  return { status: 200, body: [...page].reverse().map((trade) => entry(pair, trade, ids)) };
}
