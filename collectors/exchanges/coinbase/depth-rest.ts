import type { DepthSource } from '../../liquidity/depth-poller.js';
import { isObject } from '../../trades/wire.js';
import { coinbaseConnection } from './connection.js';
import { textLevels } from '../../liquidity/levels.js';

/** Coinbase Exchange `GET /products/<id>/book?level=2` (the top 50 aggregated levels per side). */
export const coinbaseDepthRest: DepthSource = {
  exchange: 'coinbase',
  defaultRestUrl: 'https://api.exchange.coinbase.com',
  toRestSymbol: (symbol) => coinbaseConnection.toExchangeSymbol(symbol),

  request(restSymbol: string) {
    return { path: `/products/${encodeURIComponent(restSymbol)}/book`, params: { level: 2 } };
  },

  parse(body: unknown) {
    if (!isObject(body)) throw new Error('book answer is not a JSON object');
    if (typeof body.message === 'string') throw new Error(`Coinbase refused the request: ${body.message}`);
    return { bids: textLevels(body.bids, 'bids'), asks: textLevels(body.asks, 'asks') };
  },
};
