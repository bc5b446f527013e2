import type { InstrumentList, ListedInstrument } from '../../trades/instruments.js';
import { isObject } from '../../trades/wire.js';

/** The `data` of a `public/instruments?instType=SPOT` answer (rest_instruments_SPOT_excerpt_2022.json) as listed instruments. */
export function parseOkxInstruments(body: unknown): ListedInstrument[] {
  // docs: every answer is {"code","msg","data"}; code "0" is success.
  if (!isObject(body) || !Array.isArray(body.data)) throw new Error(`instruments answered with no data array: ${JSON.stringify(body).slice(0, 200)}`);
  if (body.code !== '0') throw new Error(`instruments refused: code ${String(body.code)}: ${String(body.msg)}`);
  return body.data.filter(isObject).map((entry) => {
    if (typeof entry.instId !== 'string' || typeof entry.baseCcy !== 'string' || typeof entry.quoteCcy !== 'string') {
      throw new Error(`instruments entry without instId, baseCcy and quoteCcy: ${JSON.stringify(entry).slice(0, 200)}`);
    }
    // state: live, suspend, preopen, test (docs "Get instruments").
    const status = String(entry.state);
    return { exchangeSymbol: entry.instId, unified: `${entry.baseCcy}-${entry.quoteCcy}`, trading: status === 'live', status };
  });
}

/** OKX spot instruments: one `GET /api/v5/public/instruments?instType=SPOT` (20 requests / 2 s per IP). */
export const okxInstruments: InstrumentList = {
  defaultRestUrl: 'https://www.okx.com',

  async fetch({ restUrl, http, signal }) {
    const url = `${restUrl.replace(/\/+$/, '')}/api/v5/public/instruments`;
    return parseOkxInstruments(await http.getJson(url, { instType: 'SPOT' }, signal, { attempts: 1 }));
  },
};
