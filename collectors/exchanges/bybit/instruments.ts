import type { InstrumentList, ListedInstrument } from '../../trades/instruments.js';
import { isObject } from '../../trades/wire.js';

/** The `result.list` of an `instruments-info?category=spot` answer (docs v5/market/instrument) as listed instruments. */
export function parseBybitInstruments(body: unknown): ListedInstrument[] {
  if (!isObject(body)) throw new Error(`instruments-info answered with no object: ${JSON.stringify(body).slice(0, 200)}`);
  if (body.retCode !== 0) throw new Error(`instruments-info refused: retCode ${String(body.retCode)}: ${String(body.retMsg)}`);
  const list = isObject(body.result) ? body.result.list : undefined;
  if (!Array.isArray(list)) throw new Error(`instruments-info answered with no result.list: ${JSON.stringify(body).slice(0, 200)}`);
  return list.filter(isObject).map((entry) => {
    if (typeof entry.symbol !== 'string' || typeof entry.baseCoin !== 'string' || typeof entry.quoteCoin !== 'string') {
      throw new Error(`instruments-info entry without symbol, baseCoin and quoteCoin: ${JSON.stringify(entry).slice(0, 200)}`);
    }
    // status: PreLaunch, Trading, Delivering, Closed.
    const status = String(entry.status);
    return { exchangeSymbol: entry.symbol, unified: `${entry.baseCoin}-${entry.quoteCoin}`, trading: status === 'Trading', status };
  });
}

/** Bybit spot instruments: one `GET /v5/market/instruments-info?category=spot` (spot is not paginated). */
export const bybitInstruments: InstrumentList = {
  defaultRestUrl: 'https://api.bybit.com',

  async fetch({ restUrl, http, signal }) {
    const url = `${restUrl.replace(/\/+$/, '')}/v5/market/instruments-info`;
    return parseBybitInstruments(await http.getJson(url, { category: 'spot' }, signal, { attempts: 1 }));
  },
};
