import type { DepthSource } from '../../liquidity/depth-poller.js';
import type { LevelText } from '../../liquidity/order-book.js';
import { isObject, splitSymbol } from '../../trades/wire.js';

// REST keeps the legacy asset names (XBT for BTC, XDG for DOGE); the answer's key may be the
// legacy pair name (XXBTZUSD), so the one entry of `result` is read whatever its key.
const REST_ASSET: Readonly<Record<string, string>> = { BTC: 'XBT', DOGE: 'XDG' };
// Depth `count` 1–500 (rest/get-order-book); 500 reaches well past 100 bps on most pairs.
const COUNT = 500;

/** `[["price","volume",timestamp], ...]` from a Depth answer. */
function levels(value: unknown, field: string): LevelText[] {
  if (!Array.isArray(value)) throw new Error(`${field} is not an array`);
  return value.map((level, i) => {
    if (!Array.isArray(level) || typeof level[0] !== 'string' || typeof level[1] !== 'string') throw new Error(`${field}[${i}] is not a [price, volume, time] entry`);
    return [level[0], level[1]] as const;
  });
}

/** Kraken spot `GET /0/public/Depth`. */
export const krakenDepthRest: DepthSource = {
  exchange: 'kraken',
  defaultRestUrl: 'https://api.kraken.com',

  toRestSymbol(symbol: string): string {
    return splitSymbol('kraken', symbol)
      .map((asset) => REST_ASSET[asset] ?? asset)
      .join('');
  },

  request(restSymbol: string) {
    return { path: '/0/public/Depth', params: { pair: restSymbol, count: COUNT } };
  },

  parse(body: unknown) {
    if (!isObject(body)) throw new Error('Depth answer is not a JSON object');
    if (Array.isArray(body.error) && body.error.length > 0) throw new Error(`Kraken refused the request: ${body.error.join(', ')}`);
    const books = isObject(body.result) ? Object.values(body.result) : [];
    const book = books[0];
    if (books.length !== 1 || !isObject(book)) throw new Error('Depth answer without exactly one book in result');
    return { bids: levels(book.bids, 'bids'), asks: levels(book.asks, 'asks') };
  },
};
