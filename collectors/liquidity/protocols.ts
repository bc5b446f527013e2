import { binanceBook } from '../exchanges/binance/book.js';
import { binanceDepthRest } from '../exchanges/binance/depth-rest.js';
import { bybitBook } from '../exchanges/bybit/book.js';
import { bybitDepthRest } from '../exchanges/bybit/depth-rest.js';
import { coinbaseBook } from '../exchanges/coinbase/book.js';
import { coinbaseDepthRest } from '../exchanges/coinbase/depth-rest.js';
import { krakenBook } from '../exchanges/kraken/book.js';
import { krakenDepthRest } from '../exchanges/kraken/depth-rest.js';
import { okxBook } from '../exchanges/okx/book.js';
import { okxDepthRest } from '../exchanges/okx/depth-rest.js';
import type { BookProtocol } from './book-protocol.js';
import type { DepthSource } from './depth-poller.js';

/** Book channel hooks by exchange name: adding an exchange is adding its file and one line here. */
export const bookProtocols: Readonly<Record<string, BookProtocol>> = {
  binance: binanceBook,
  okx: okxBook,
  bybit: bybitBook,
  coinbase: coinbaseBook,
  kraken: krakenBook,
};

/** REST depth endpoints by exchange name. */
export const depthSources: Readonly<Record<string, DepthSource>> = {
  binance: binanceDepthRest,
  okx: okxDepthRest,
  bybit: bybitDepthRest,
  coinbase: coinbaseDepthRest,
  kraken: krakenDepthRest,
};

/** Looks `exchange` up in `table`; throws an Error listing the supported exchanges. */
function lookup<T>(table: Readonly<Record<string, T>>, exchange: string, what: string): T {
  const found = Object.hasOwn(table, exchange) ? table[exchange] : undefined;
  if (found === undefined) throw new Error(`liquidity: no ${what} for exchange ${JSON.stringify(exchange)}; supported: ${Object.keys(table).join(', ')}`);
  return found;
}

/** The WebSocket book hooks of `exchange`. */
export function bookProtocolFor(exchange: string): BookProtocol {
  return lookup(bookProtocols, exchange, 'WebSocket book channel');
}

/** The REST depth endpoint of `exchange`. */
export function depthSourceFor(exchange: string): DepthSource {
  return lookup(depthSources, exchange, 'REST depth endpoint');
}
