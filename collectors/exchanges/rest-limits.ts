import type { RestLimits } from '../rest/rest-client.js';
import { binanceRestLimits } from './binance/rest-limits.js';
import { bybitRestLimits } from './bybit/rest-limits.js';
import { coinbaseRestLimits } from './coinbase/rest-limits.js';
import { gateioRestLimits } from './gateio/rest-limits.js';
import { krakenRestLimits } from './kraken/rest-limits.js';
import { okxRestLimits } from './okx/rest-limits.js';

/** Each exchange's published REST limits: adding an exchange is adding its file and one line here. */
const restLimits: Readonly<Record<string, RestLimits>> = {
  binance: binanceRestLimits,
  okx: okxRestLimits,
  bybit: bybitRestLimits,
  coinbase: coinbaseRestLimits,
  kraken: krakenRestLimits,
  gateio: gateioRestLimits,
};

/** An exchange's REST limits, or undefined for one without published limits here. */
export function restLimitsOf(exchange: string): RestLimits | undefined {
  return restLimits[exchange];
}
