import type { DepthSource } from '../../liquidity/depth-poller.js';
import { isObject } from '../../trades/wire.js';
import { bybitConnection } from './connection.js';
import { textLevels } from '../../liquidity/levels.js';

// v5 market/orderbook: spot limit 1–200.
const LIMIT = 200;

/** Bybit v5 `GET /v5/market/orderbook?category=spot`. */
export const bybitDepthRest: DepthSource = {
  exchange: 'bybit',
  defaultRestUrl: 'https://api.bybit.com',
  toRestSymbol: (symbol) => bybitConnection.toExchangeSymbol(symbol),

  request(restSymbol: string) {
    return { path: '/v5/market/orderbook', params: { category: 'spot', symbol: restSymbol, limit: LIMIT } };
  },

  parse(body: unknown) {
    if (!isObject(body)) throw new Error('orderbook answer is not a JSON object');
    if (body.retCode !== 0) throw new Error(`Bybit refused the request: retCode ${String(body.retCode)}: ${String(body.retMsg)}`);
    const result = isObject(body.result) ? body.result : {};
    return { bids: textLevels(result.b, 'b (bids)'), asks: textLevels(result.a, 'a (asks)'), time: typeof result.ts === 'number' ? result.ts : undefined };
  },
};
