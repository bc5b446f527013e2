/**
 * Binance spot's `GET /api/v3/historicalTrades` as the simulator serves it (rest-api.md "Old
 * trade lookup": weight 25, limit default 500 and max 1000, fromId inclusive, most recent
 * trades without it), from the trades the simulator generated, sent or not.
 */
import type { SimulatedTrade } from '../../../simulator/market.js';
import type { RequestBudget } from '../../../simulator/request-budget.js';
import type { RestAnswer } from '../../../simulator/server.js';

/** One entry as Binance prints it (rest_historicalTrades_BTCUSDT.json), in its key order. */
export interface BinanceHistoricalTrade {
  id: number;
  price: string;
  qty: string;
  quoteQty: string;
  time: number;
  isBuyerMaker: boolean;
  isBestMatch: true;
}

const WEIGHT = 25;
const DEFAULT_LIMIT = 500;
const MAX_LIMIT = 1000;

function historicalTrade(trade: SimulatedTrade): BinanceHistoricalTrade {
  const quote = (Number(trade.price) * Number(trade.amount)).toFixed(8);
  return { id: trade.id, price: trade.price, qty: trade.amount, quoteQty: quote, time: trade.time, isBuyerMaker: trade.takerSide < 0, isBestMatch: true };
}

/** errors.md -1130 INVALID_PARAMETER. */
function invalid(parameter: string): RestAnswer {
  return { status: 400, body: { code: -1130, msg: `Data sent for parameter '${parameter}' is not valid.` } };
}

/** The answer to one historicalTrades request; `historyOf` gives a listed symbol's generated trades (undefined: not listed). */
export function answerHistoricalTrades(url: URL, historyOf: (symbol: string) => readonly SimulatedTrade[] | undefined, budget: RequestBudget): RestAnswer {
  // rest-api.md "LIMITS": over the weight limit → 429 with Retry-After; the body is error -1003.
  const retryAfter = budget.spend(WEIGHT);
  if (retryAfter !== undefined) {
    return {
      status: 429,
      headers: { 'Retry-After': String(retryAfter) },
      body: { code: -1003, msg: `Too much request weight used; current limit is ${budget.limit} request weight per ${budget.windowMs % 60_000 === 0 ? `${budget.windowMs / 60_000} MINUTE` : `${budget.windowMs / 1000} SECOND`}. Please use WebSocket Streams for live updates to avoid polling the API.` },
    };
  }
  const headers = { 'X-MBX-USED-WEIGHT-1M': String(budget.usedWeight()) };
  const symbol = url.searchParams.get('symbol');
  if (symbol === null) return { status: 400, headers, body: { code: -1102, msg: "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed." } };
  const trades = historyOf(symbol);
  if (!trades) return { status: 400, headers, body: { code: -1121, msg: 'Invalid symbol.' } };
  const limitText = url.searchParams.get('limit');
  const limit = limitText === null ? DEFAULT_LIMIT : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) return { ...invalid('limit'), headers };
  const fromIdText = url.searchParams.get('fromId');
  let page: readonly SimulatedTrade[];
  if (fromIdText === null) {
    page = trades.slice(-limit);
  } else {
    const fromId = Number(fromIdText);
    if (!Number.isSafeInteger(fromId) || fromId < 0) return { ...invalid('fromId'), headers };
    // Ids are consecutive: the index is an offset from the oldest kept (older ones are forgotten).
    const start = trades.length === 0 ? 0 : Math.max(0, fromId - trades[0]!.id);
    page = trades.slice(start, start + limit);
  }
  return { status: 200, headers, body: page.map(historicalTrade) };
}
