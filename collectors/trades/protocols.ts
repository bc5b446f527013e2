import { binanceTrades } from '../exchanges/binance/trades.js';
import { bybitTrades } from '../exchanges/bybit/trades.js';
import { gateioTrades } from '../exchanges/gateio/trades.js';
import { coinbaseTrades } from '../exchanges/coinbase/trades.js';
import { krakenTrades } from '../exchanges/kraken/trades.js';
import { okxTrades } from '../exchanges/okx/trades.js';
import type { TradeProtocol } from './protocol.js';

/** Trade protocols by exchange name: adding an exchange is adding its file and one line here. */
export const tradeProtocols: Readonly<Record<string, TradeProtocol>> = {
  binance: binanceTrades,
  okx: okxTrades,
  bybit: bybitTrades,
  coinbase: coinbaseTrades,
  kraken: krakenTrades,
  gateio: gateioTrades,
};

/** The trade protocol of `exchange`; throws an Error listing the supported exchanges. */
export function tradeProtocolFor(exchange: string): TradeProtocol {
  const protocol = Object.hasOwn(tradeProtocols, exchange) ? tradeProtocols[exchange] : undefined;
  if (!protocol) {
    throw new Error(`trades: no trade protocol for exchange ${JSON.stringify(exchange)}; supported: ${Object.keys(tradeProtocols).join(', ')}`);
  }
  return protocol;
}
