import type { DepthSource } from '../../liquidity/depth-poller.js';
import { integer, isObject, splitSymbol } from '../../trades/wire.js';
import { textLevels } from '../../liquidity/levels.js';

// rest-api.md "Order book": limit 1–100 weighs 5, 101–500 weighs 25. 100 levels keep a poll a
// second of several symbols well inside the 6000-per-minute weight budget.
const LIMIT = 100;
const WEIGHT = 5;

/** Binance spot `GET /api/v3/depth`. */
export const binanceDepthRest: DepthSource = {
  exchange: 'binance',
  defaultRestUrl: 'https://api.binance.com',

  toRestSymbol(symbol: string): string {
    const [base, quote] = splitSymbol('binance', symbol);
    return base + quote;
  },

  request(restSymbol: string) {
    return { path: '/api/v3/depth', params: { symbol: restSymbol, limit: LIMIT }, weight: WEIGHT };
  },

  parse(body: unknown) {
    if (!isObject(body)) throw new Error('depth answer is not a JSON object');
    integer(body.lastUpdateId, 'lastUpdateId');
    return { bids: textLevels(body.bids, 'bids'), asks: textLevels(body.asks, 'asks') };
  },
};
