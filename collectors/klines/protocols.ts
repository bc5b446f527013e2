import { binanceKlines } from '../exchanges/binance/klines.js';
import { bybitKlines } from '../exchanges/bybit/klines.js';
import { coinbaseKlines } from '../exchanges/coinbase/klines.js';
import { gateioKlines } from '../exchanges/gateio/klines.js';
import { krakenKlines } from '../exchanges/kraken/klines.js';
import { okxKlines } from '../exchanges/okx/klines.js';
import type { KlineProtocol } from './protocol.js';

/** Each exchange's kline hooks: adding an exchange is adding its klines.ts and one line here. */
const klineProtocols: Readonly<Record<string, KlineProtocol>> = {
  binance: binanceKlines,
  okx: okxKlines,
  bybit: bybitKlines,
  coinbase: coinbaseKlines,
  kraken: krakenKlines,
  gateio: gateioKlines,
};

/** The kline hooks of `exchange`; throws naming the exchanges that have them. */
export function klineProtocolFor(exchange: string): KlineProtocol {
  const protocol = klineProtocols[exchange];
  if (!protocol) throw new Error(`no kline support for exchange ${JSON.stringify(exchange)}; known: ${Object.keys(klineProtocols).join(', ')}`);
  return protocol;
}
