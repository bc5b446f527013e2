/**
 * The exchanges, each one object exported by its folder's index.ts: the only place an exchange is
 * named outside its folder. Adding an exchange is its folder and its line here (import and entry).
 */
import { exchangeDirectory, type Exchange } from '../exchange.js';
import { binance } from './binance/index.js';
import { bitstamp } from './bitstamp/index.js';
import { bybit } from './bybit/index.js';
import { coinbase } from './coinbase/index.js';
import { gateio } from './gateio/index.js';
import { kraken } from './kraken/index.js';
import { okx } from './okx/index.js';

export const exchanges = [binance, okx, bybit, coinbase, kraken, gateio, bitstamp] as const satisfies readonly Exchange[];

/** The name of a built-in exchange, as used in configs and keys. */
export type ExchangeName = (typeof exchanges)[number]['name'];

/** The built-in exchanges by name: what the collector kinds collect from. */
export const builtInExchanges = exchangeDirectory(exchanges);
