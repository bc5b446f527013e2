import type { HistoryPageRequest, TradeHistory } from '../../trades/history.js';
import type { Trade } from '../../trades/trade.js';
import { isObject } from '../../trades/wire.js';
import { coinbaseTrade } from './trade.js';

// Coinbase Exchange REST "Get product trades" (GET /products/<product_id>/trades, docs.cdp.coinbase.com
// exchange api-reference): newest first, `limit` up to 1000, cursor pagination ("Pagination":
// `after` = "Request page after (older) this pagination id", `before` = newer; the CB-BEFORE /
// CB-AFTER headers carry the next cursors), and for trades the pagination id is the trade_id.
// So `after=X` gives the trades with trade_id < X, the newest of them first.
//
// trade_ids are consecutive per product (ws_matches_and_last_match.jsonl: SKL-USD 1568267, 1568268;
// rest_trades_BTC-USD_limit2_2026-06-19.json: 1040406590, 1040406589), so the page of ids
// afterId+1 … afterId+1000 is `after=afterId+1001&limit=1000`, one request walking forwards. When
// fewer exist the page also holds older trades: those are dropped and the page comes out short.
const PAGE_SIZE = 1000;

/**
 * One trades entry (rest_trades_BTC-USD_limit2_2026-06-19.json) as a normalized Trade. docs: "side —
 * The trade side indicates the maker order side"; the fixture agrees: the `buy` at 63212.97 sat
 * under the `sell` at 63212.98. The taker is the opposite side, as on the matches channel.
 */
function parseRestTrade(entry: unknown, symbol: string, receivedAt: number): Trade {
  if (!isObject(entry)) throw new Error('trades entry is not an object');
  return coinbaseTrade(entry, symbol, receivedAt);
}

/** Coinbase's past trades by id: `/products/<id>/trades?after=afterId+1001&limit=1000`, ascending. */
export const coinbaseTradeHistory: TradeHistory = {
  defaultRestUrl: 'https://api.exchange.coinbase.com',
  idsSequential: true,
  pageSize: PAGE_SIZE,

  async fetchAfter({ symbol, exchangeSymbol, afterId, restUrl, http, signal }: HistoryPageRequest): Promise<Trade[]> {
    const url = `${restUrl.replace(/\/+$/, '')}/products/${encodeURIComponent(exchangeSymbol)}/trades`;
    const body = await http.getJson(url, { after: afterId + PAGE_SIZE + 1, limit: PAGE_SIZE }, signal);
    if (!Array.isArray(body)) throw new Error(`trades answered with no array: ${JSON.stringify(body).slice(0, 200)}`);
    const receivedAt = Date.now();
    return body
      .map((entry) => parseRestTrade(entry, symbol, receivedAt))
      .filter((trade) => Number(trade.id) > afterId)
      .sort((a, b) => Number(a.id) - Number(b.id));
  },
};
