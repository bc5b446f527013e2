import type { DepthSource } from '../../liquidity/depth-poller.js';
import { textLevels } from '../../liquidity/levels.js';
import { integer, isObject } from '../../trades/wire.js';
import { gateioPair, GATEIO_REST_URL } from './symbols.js';

// The 2021 recordings ask for 100 levels (rest_order_book_*_limit100_with_id_2021-04-22.json).
const LIMIT = 100;

/**
 * Gate `GET /api/v4/spot/order_book`: `{current, update, asks, bids}` (2022), with `id` when asked
 * `with_id=true` (2025); the 2021 answers have id/asks/bids only. `current` (ms) is the time when there.
 */
export const gateioDepthRest: DepthSource = {
  exchange: 'gateio',
  defaultRestUrl: GATEIO_REST_URL,
  toRestSymbol: gateioPair,
  request(restSymbol: string) {
    return { path: '/api/v4/spot/order_book', params: { currency_pair: restSymbol, limit: LIMIT } };
  },
  parse(body: unknown) {
    if (!isObject(body)) throw new Error('spot/order_book answer is not a JSON object');
    // Errors are {"label": "INVALID_CURRENCY_PAIR", "message": ...}.
    if (typeof body.label === 'string') throw new Error(`Gate refused the request: ${body.label}: ${JSON.stringify(body.message)}`);
    const time = body.current === undefined ? undefined : integer(body.current, 'current');
    return { bids: textLevels(body.bids, 'bids'), asks: textLevels(body.asks, 'asks'), time };
  },
};
