import type { InstrumentList, ListedInstrument } from '../../trades/instruments.js';
import { isObject } from '../../trades/wire.js';

const NAME = /^([A-Z0-9]+)\/([A-Z0-9]+)$/;

/**
 * A `GET /api/v2/trading-pairs-info/` answer (rest_trading-pairs-info_2022-01-05.json: an array of
 * {name "BTC/USD", url_symbol "btcusd", trading "Enabled", ...}) as listed instruments.
 */
export function parseBitstampInstruments(body: unknown): ListedInstrument[] {
  if (!Array.isArray(body)) throw new Error(`bitstamp: trading-pairs-info answered with no array: ${JSON.stringify(body).slice(0, 200)}`);
  return body.filter(isObject).map((entry) => {
    const name = typeof entry.name === 'string' ? NAME.exec(entry.name) : null;
    if (!name || typeof entry.url_symbol !== 'string') {
      throw new Error(`bitstamp: trading-pairs-info entry without name BASE/QUOTE and url_symbol: ${JSON.stringify(entry).slice(0, 200)}`);
    }
    // trading: "Enabled" or "Disabled".
    const status = String(entry.trading);
    return { exchangeSymbol: entry.url_symbol, unified: `${name[1]}-${name[2]}`, trading: status === 'Enabled', status };
  });
}

/** Bitstamp spot instruments: one `GET /api/v2/trading-pairs-info/` lists every pair. */
export const bitstampInstruments: InstrumentList = {
  defaultRestUrl: 'https://www.bitstamp.net',
  async fetch({ restUrl, http, signal }) {
    const url = `${restUrl.replace(/\/+$/, '')}/api/v2/trading-pairs-info/`;
    return parseBitstampInstruments(await http.getJson(url, {}, signal, { attempts: 1 }));
  },
};
