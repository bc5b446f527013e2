import type { DepthSource } from '../../liquidity/depth-poller.js';
import { isObject } from '../../trades/wire.js';
import { bitstampMicros } from './book.js';
import { bitstampSymbol } from './connection.js';
import { textLevels } from '../../liquidity/levels.js';

/**
 * Bitstamp `GET /api/v2/order_book/<pair>/`: the whole book ({timestamp, microtimestamp, bids, asks},
 * rest_order_book_ethusd_2022-01-05.json holds 2023 bids and 1971 asks) in one request.
 */
export const bitstampDepthRest: DepthSource = {
  exchange: 'bitstamp',
  defaultRestUrl: 'https://www.bitstamp.net',
  toRestSymbol: bitstampSymbol,
  request(restSymbol: string) {
    return { path: `/api/v2/order_book/${restSymbol}/`, params: {} };
  },
  parse(body: unknown) {
    if (!isObject(body)) throw new Error('order_book answer is not a JSON object');
    if (body.status === 'error') throw new Error(`Bitstamp refused the request: ${String(body.code)}: ${JSON.stringify(body.reason)}`);
    return { bids: textLevels(body.bids, 'bids'), asks: textLevels(body.asks, 'asks'), time: Math.floor(bitstampMicros(body) / 1000) };
  },
};
