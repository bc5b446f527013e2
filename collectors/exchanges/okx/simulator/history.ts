/**
 * OKX's `GET /api/v5/market/history-trades` as the simulator serves it, from the trades the
 * simulator generated, sent or not (OKX v5 docs "Get trades history"; shapes from
 * rest_trades_BTC-USDT_2025-05-13.json and docs_examples_protocol.json rest_history_trades_response).
 */
import type { SimulatedTrade } from '../../../simulator/market.js';
import type { RequestBudget } from '../../../simulator/request-budget.js';
import type { RestAnswer } from '../../../simulator/server.js';

/** One entry as OKX prints it (rest_trades_BTC-USDT_2025-05-13.json), in its key order. */
export interface OkxHistoryTrade {
  instId: string;
  side: 'buy' | 'sell';
  sz: string;
  px: string;
  tradeId: string;
  ts: string;
}

// docs: "limit — Number of results per request. The maximum and default both are 100".
const MAX_LIMIT = 100;

/** "65000.12000000" → "65000.12", as OKX prints decimals. */
function okxDecimal(value: string): string {
  return value.includes('.') ? value.replace(/\.?0+$/, '') : value;
}

function historyTrade(instId: string, trade: SimulatedTrade): OkxHistoryTrade {
  // One record per match: the REST response has no `count` (docs response parameters).
  return { instId, side: trade.takerSide > 0 ? 'buy' : 'sell', sz: okxDecimal(trade.amount), px: okxDecimal(trade.price), tradeId: String(trade.id), ts: String(trade.time) };
}

/** An OKX error envelope; OKX answers most parameter errors with HTTP 400. */
function error(status: number, code: string, msg: string): RestAnswer {
  return { status, body: { code, msg, data: [] } };
}

/** A cursor parameter: absent, or a non-negative integer (NaN when malformed). */
function cursor(url: URL, name: string): number | undefined {
  const text = url.searchParams.get(name);
  if (text === null || text === '') return undefined;
  return /^\d+$/.test(text) ? Number(text) : NaN;
}

/** The answer to one history-trades request; `historyOf` gives a listed instId's generated trades (undefined: not listed). */
export function answerHistoryTrades(url: URL, historyOf: (instId: string) => readonly SimulatedTrade[] | undefined, budget: RequestBudget): RestAnswer {
  // docs: "Rate Limit: 20 requests per 2 seconds, Rate limit rule: IP"; over it OKX answers HTTP 429
  // {"code":"50011","msg":"Too Many Requests"} (docs_examples_protocol.json rest_rate_limit_errors), no Retry-After.
  if (budget.spend(1) !== undefined) return error(429, '50011', 'Too Many Requests');
  const instId = url.searchParams.get('instId');
  if (!instId) return error(400, '50014', 'Parameter instId can not be empty.');
  const trades = historyOf(instId);
  if (!trades) return error(200, '51001', "Instrument ID doesn't exist.");
  const type = url.searchParams.get('type') ?? '1';
  if (type !== '1' && type !== '2') return error(400, '51000', 'Parameter type error');
  const limitText = url.searchParams.get('limit');
  const limit = limitText === null ? MAX_LIMIT : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) return error(400, '51000', 'Parameter limit error');
  const after = cursor(url, 'after');
  const before = cursor(url, 'before');
  if (Number.isNaN(after)) return error(400, '51000', 'Parameter after error');
  if (Number.isNaN(before)) return error(400, '51000', 'Parameter before error');
  // docs: `before` "Do not support timestamp for pagination".
  if (type === '2' && before !== undefined) return error(400, '51000', 'Parameter before error');

  // Kept trades are in id (and time) order: [lo, hi) is the window the cursors leave, newest first out.
  let lo = 0;
  let hi = trades.length;
  const first = trades[0]?.id ?? 0;
  if (type === '1') {
    // Ids are consecutive, so a tradeId is an offset from the oldest kept.
    if (after !== undefined) hi = Math.max(0, Math.min(hi, after - first));
    if (before !== undefined) lo = Math.max(0, Math.min(trades.length, before - first + 1));
  } else if (after !== undefined) {
    while (hi > 0 && trades[hi - 1]!.time >= after) hi -= 1;
  }
  // "records earlier than after": the newest of them first; `before` alone: "the latest data".
  const page = lo < hi ? trades.slice(Math.max(lo, hi - limit), hi) : [];
  return { status: 200, body: { code: '0', msg: '', data: page.reverse().map((trade) => historyTrade(instId, trade)) } };
}
