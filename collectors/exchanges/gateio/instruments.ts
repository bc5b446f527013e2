import type { InstrumentList, ListedInstrument } from '../../trades/instruments.js';
import { isObject } from '../../trades/wire.js';
import { GATEIO_REST_URL, gateioApi } from './symbols.js';

/** A `GET /api/v4/spot/currency_pairs` answer (rest_currency_pairs_2021-04-22.json) as listed instruments. */
export function parseGateioCurrencyPairs(body: unknown): ListedInstrument[] {
  // Gate's errors are {"label","message"} objects; the list is a bare array.
  if (!Array.isArray(body)) throw new Error(`currency_pairs answered with no array: ${JSON.stringify(body).slice(0, 200)}`);
  return body.filter(isObject).map((entry) => {
    if (typeof entry.id !== 'string' || typeof entry.base !== 'string' || typeof entry.quote !== 'string') {
      throw new Error(`currency_pairs entry without id, base and quote: ${JSON.stringify(entry).slice(0, 200)}`);
    }
    // trade_status: untradable, buyable, sellable, tradable (docs "List all currency pairs supported").
    const status = String(entry.trade_status);
    return { exchangeSymbol: entry.id, unified: `${entry.base}-${entry.quote}`, trading: status === 'tradable', status };
  });
}

/** Gate spot pairs: one `GET /api/v4/spot/currency_pairs` (the whole list; ~1,500 pairs in 2021, 250 KB). */
export const gateioInstruments: InstrumentList = {
  defaultRestUrl: GATEIO_REST_URL,

  async fetch({ restUrl, http, signal }) {
    return parseGateioCurrencyPairs(await http.getJson(gateioApi(restUrl, '/spot/currency_pairs'), {}, signal, { attempts: 1 }));
  },
};
