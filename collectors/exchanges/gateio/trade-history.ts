import type { HistoryPageRequest, TradeHistory } from '../../trades/history.js';
import { GATEIO_REST_URL, gateioApi } from './symbols.js';
import { parseGateioTrade } from './trade.js';

// Gate API v4 "Retrieve market trades" (GET /api/v4/spot/trades; docs_examples_protocol.json
// rest_spot_trades_paging): currency_pair, limit ("default 100, max 1000"), last_id, reverse
// ("Whether to retrieve data less than last_id. Default returns records greater than last_id").
// So `last_id=afterId` alone is the page of ids above afterId. Gate calls last_id paging "no longer
// recommended" (from/to by time is the new way) but still documents it. No recording covers paging,
// so the order of a page is not relied on: it is sorted here.
//
// Ids are NOT consecutive per pair: `id` is one sequence over all of Gate's markets
// (ws_trades_2021-04-22.jsonl: DIS_USDT 816995772, then NEO_BTC 816995970, 816995982, 816996982,
// 816996983, 816997068 — increasing, with other markets' trades in between). Only REST's
// `sequence_id` is "Consecutive trade ID within a single market", and the WebSocket does not carry
// it (nor any recording the 2025 `id_market`). So a jump in ids says nothing: `idsSequential` is
// false, and the collector records a gap for a disconnect instead of backfilling it (see README).
const PAGE_SIZE = 1000;

/** Gate's past trades by id: `/spot/trades?last_id=afterId`, ascending. */
export const gateioTradeHistory: TradeHistory = {
  defaultRestUrl: GATEIO_REST_URL,
  idsSequential: false,
  pageSize: PAGE_SIZE,

  async fetchAfter({ symbol, exchangeSymbol, afterId, restUrl, http, signal }: HistoryPageRequest) {
    const body = await http.getJson(gateioApi(restUrl, '/spot/trades'), { currency_pair: exchangeSymbol, limit: PAGE_SIZE, last_id: String(afterId) }, signal);
    // Errors are {"label": "INVALID_CURRENCY", "message": ...} with a 4xx status; a 200 is a bare array.
    if (!Array.isArray(body)) throw new Error(`spot/trades answered with no array: ${JSON.stringify(body).slice(0, 200)}`);
    const receivedAt = Date.now();
    return body
      .map((entry) => parseGateioTrade(entry, symbol, receivedAt))
      .filter((trade) => Number(trade.id) > afterId)
      .sort((a, b) => Number(a.id) - Number(b.id));
  },
};
