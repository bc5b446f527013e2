import type { InstrumentList, ListedInstrument } from '../../trades/instruments.js';
import { isObject } from '../../trades/wire.js';

/** A `GET /products` answer (an array of rest_product_BTC-USD_2026-06-19.json entries) as listed instruments. */
export function parseCoinbaseProducts(body: unknown): ListedInstrument[] {
  if (!Array.isArray(body)) throw new Error(`products answered with no array: ${JSON.stringify(body).slice(0, 200)}`);
  return body.filter(isObject).map((entry) => {
    if (typeof entry.id !== 'string' || typeof entry.base_currency !== 'string' || typeof entry.quote_currency !== 'string') {
      throw new Error(`products entry without id, base_currency and quote_currency: ${JSON.stringify(entry).slice(0, 200)}`);
    }
    // status: online, offline, internal, delisted; trading_disabled stops matching while online.
    const status = entry.trading_disabled === true ? `${String(entry.status)}, trading disabled` : String(entry.status);
    return { exchangeSymbol: entry.id, unified: `${entry.base_currency}-${entry.quote_currency}`, trading: status === 'online', status };
  });
}

/** Coinbase Exchange products: one `GET /products`. */
export const coinbaseInstruments: InstrumentList = {
  defaultRestUrl: 'https://api.exchange.coinbase.com',

  async fetch({ restUrl, http, signal }) {
    return parseCoinbaseProducts(await http.getJson(`${restUrl.replace(/\/+$/, '')}/products`, {}, signal, { attempts: 1 }));
  },
};
