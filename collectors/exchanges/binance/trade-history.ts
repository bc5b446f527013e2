import type { HistoryPageRequest, TradeHistory } from '../../trades/history.js';
import { TAKER_BUY, TAKER_SELL, type Trade } from '../../trades/trade.js';
import { decimal, integer, isObject } from '../../trades/wire.js';

// rest-api.md "Old trade lookup": `GET /api/v3/historicalTrades`, symbol, limit (default 500,
// max 1000), fromId ("TradeId to fetch from", inclusive); the same ids as the `@trade` stream's
// `t`. Public since 2023-07-11 (binance-spot-api-docs CHANGELOG.md: "Changed security type from
// MARKET_DATA to NONE ... the X-MBX-APIKEY header is no longer necessary"), so no key is sent.
// aggTrades would not do: its ids are aggregate ids, not trade ids.
const PAGE_SIZE = 1000;

/** One historicalTrades entry (rest_historicalTrades_BTCUSDT.json) as a normalized Trade. */
function parseHistoricalTrade(entry: unknown, symbol: string, receivedAt: number): Trade {
  if (!isObject(entry)) throw new Error('historicalTrades entry is not an object');
  if (typeof entry.isBuyerMaker !== 'boolean') throw new Error(`isBuyerMaker is not a boolean: ${JSON.stringify(entry.isBuyerMaker)}`);
  return {
    exchange: 'binance',
    symbol,
    id: integer(entry.id, 'id'),
    price: decimal(entry.price, 'price'),
    amount: decimal(entry.qty, 'qty'),
    // As on the stream: the buyer being the maker means the seller was the aggressor.
    side: entry.isBuyerMaker ? TAKER_SELL : TAKER_BUY,
    exchangeTime: integer(entry.time, 'time'),
    receivedAt,
  };
}

/** Binance spot's past trades by id: `historicalTrades` from `afterId + 1`. */
export const binanceTradeHistory: TradeHistory = {
  defaultRestUrl: 'https://api.binance.com',
  idsSequential: true,
  pageSize: PAGE_SIZE,

  async fetchAfter({ symbol, exchangeSymbol, afterId, restUrl, http, signal }: HistoryPageRequest): Promise<Trade[]> {
    const url = `${restUrl.replace(/\/+$/, '')}/api/v3/historicalTrades`;
    // rest-api.md "Old trade lookup": weight 25.
    const body = await http.getJson(url, { symbol: exchangeSymbol, fromId: afterId + 1, limit: PAGE_SIZE }, signal, { weight: 25 });
    if (!Array.isArray(body)) throw new Error(`historicalTrades answered with no array: ${JSON.stringify(body).slice(0, 200)}`);
    const receivedAt = Date.now();
    return body.map((entry) => parseHistoricalTrade(entry, symbol, receivedAt));
  },
};
