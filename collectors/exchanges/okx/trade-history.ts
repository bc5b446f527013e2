import type { HistoryPageRequest, TradeHistory } from '../../trades/history.js';
import { TAKER_BUY, TAKER_SELL, type Trade } from '../../trades/trade.js';
import { decimal, isObject } from '../../trades/wire.js';

// OKX v5 docs "Get trades history" (GET /api/v5/market/history-trades; rest_history_trades_response
// in docs_examples_protocol.json): instId, type (1: paginate by tradeId, the default; 2: by ts),
// `after` "return records earlier than the requested tradeId", `before` "return records newer than
// the requested tradeId ... The latest data will be returned when using before individually",
// limit "maximum and default both are 100"; newest first; 20 requests per 2 s per IP.
//
// `before` alone gives the *latest* records above the cursor, not the ones right after it, so it
// cannot walk forwards. `after` is exact, and tradeIds are consecutive per instrument (the trades
// channel's tradeId is "the last trade ID in the trades aggregation" of `count` matches;
// ws_trades_2022.jsonl and rest_trades_BTC-USDT_2025-05-13.json have consecutive ids): so the page
// of ids afterId+1 … afterId+100 is `after=afterId+101&limit=100`. When fewer exist the page also
// holds older trades, which are dropped, and comes out short: the filler then knows it caught up.
//
// The REST records carry no `count` (docs response parameters, both fixtures): one per match, so a
// backfilled range has one record per id even where the live channel aggregated several.
const PAGE_SIZE = 100;
const MILLIS = /^\d{1,15}$/;
const TRADE_ID = /^\d+$/;

/** One history-trades entry (rest_trades_BTC-USDT_2025-05-13.json) as a normalized Trade. */
function parseHistoryTrade(entry: unknown, symbol: string, receivedAt: number): Trade {
  if (!isObject(entry)) throw new Error('history-trades entry is not an object');
  if (typeof entry.tradeId !== 'string' || !TRADE_ID.test(entry.tradeId)) throw new Error(`tradeId is not a digit string: ${JSON.stringify(entry.tradeId)}`);
  if (typeof entry.ts !== 'string' || !MILLIS.test(entry.ts)) throw new Error(`ts is not a millisecond timestamp string: ${JSON.stringify(entry.ts)}`);
  if (entry.side !== 'buy' && entry.side !== 'sell') throw new Error(`side is neither buy nor sell: ${JSON.stringify(entry.side)}`);
  return {
    exchange: 'okx',
    symbol,
    // A digit string, as on the stream (okx/trades.ts): dedup compares digit strings by value.
    id: entry.tradeId,
    price: decimal(entry.px, 'px (price)'),
    amount: decimal(entry.sz, 'sz (size)'),
    // docs: "side — Trade side of taker", as on the trades channel.
    side: entry.side === 'buy' ? TAKER_BUY : TAKER_SELL,
    exchangeTime: Number(entry.ts),
    receivedAt,
  };
}

/** OKX's past trades by id: `history-trades` with `type=1&after=afterId+101`, ascending. */
export const okxTradeHistory: TradeHistory = {
  defaultRestUrl: 'https://www.okx.com',
  idsSequential: true,
  pageSize: PAGE_SIZE,

  async fetchAfter({ symbol, exchangeSymbol, afterId, restUrl, http, signal }: HistoryPageRequest): Promise<Trade[]> {
    const url = `${restUrl.replace(/\/+$/, '')}/api/v5/market/history-trades`;
    const body = await http.getJson(url, { instId: exchangeSymbol, type: 1, after: String(afterId + PAGE_SIZE + 1), limit: PAGE_SIZE }, signal);
    // docs: every answer is {"code","msg","data"}; code "0" is success, anything else an error (e.g. 51001).
    if (!isObject(body) || !Array.isArray(body.data)) throw new Error(`history-trades answered with no data array: ${JSON.stringify(body).slice(0, 200)}`);
    if (body.code !== '0') throw new Error(`history-trades refused: code ${String(body.code)}: ${String(body.msg)}`);
    const receivedAt = Date.now();
    return body.data
      .map((entry) => parseHistoryTrade(entry, symbol, receivedAt))
      .filter((trade) => Number(trade.id) > afterId)
      .sort((a, b) => Number(a.id) - Number(b.id));
  },
};
