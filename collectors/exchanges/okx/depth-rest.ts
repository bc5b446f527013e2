import type { DepthSource } from '../../liquidity/depth-poller.js';
import { isObject } from '../../trades/wire.js';
import { okxConnection } from './connection.js';
import { textLevels } from '../../liquidity/levels.js';

// rest market/books: sz up to 400 levels per side; 40 requests per 2 s per IP.
const LEVELS = 400;

/** OKX v5 `GET /api/v5/market/books`. */
export const okxDepthRest: DepthSource = {
  exchange: 'okx',
  defaultRestUrl: 'https://www.okx.com',
  toRestSymbol: (symbol) => okxConnection.toExchangeSymbol(symbol),

  request(restSymbol: string) {
    return { path: '/api/v5/market/books', params: { instId: restSymbol, sz: LEVELS } };
  },

  parse(body: unknown) {
    if (!isObject(body)) throw new Error('books answer is not a JSON object');
    if (body.code !== '0') throw new Error(`OKX refused the request: code ${String(body.code)}: ${String(body.msg)}`);
    const book = Array.isArray(body.data) ? body.data[0] : undefined;
    if (!isObject(book)) throw new Error('books answer without a data entry');
    return { bids: textLevels(book.bids, 'bids'), asks: textLevels(book.asks, 'asks'), time: typeof book.ts === 'string' ? Number(book.ts) : undefined };
  },
};
