import { RestError } from '../../rest/rest-client.js';
import type { InstrumentList, ListedInstrument } from '../../trades/instruments.js';
import { isObject } from '../../trades/wire.js';

// rest-api.md "Exchange information": GET /api/v3/exchangeInfo, weight 20 with or without
// `symbols`; "If any symbol provided in either symbol or symbols do not exist, the endpoint will
// throw an error" (-1121 "Invalid symbol."), which does not say which one: the whole list then
// tells, with the close ones. Without parameters it lists the SPOT, MARGIN and LEVERAGED symbols.
const WEIGHT = 20;
// A longer `symbols` array would make the URL unwieldy; the whole list is one request anyway.
const MAX_ASKED = 100;

/** The `symbols` of an exchangeInfo answer (rest_exchangeInfo_2021_excerpt.json) as listed instruments. */
export function parseBinanceExchangeInfo(body: unknown): ListedInstrument[] {
  if (!isObject(body) || !Array.isArray(body.symbols)) throw new Error(`exchangeInfo answered with no symbols array: ${JSON.stringify(body).slice(0, 200)}`);
  return body.symbols.filter(isObject).map((entry) => {
    if (typeof entry.symbol !== 'string' || typeof entry.baseAsset !== 'string' || typeof entry.quoteAsset !== 'string') {
      throw new Error(`exchangeInfo entry without symbol, baseAsset and quoteAsset: ${JSON.stringify(entry).slice(0, 200)}`);
    }
    // status: PRE_TRADING, TRADING, POST_TRADING, END_OF_DAY, HALT, AUCTION_MATCH, BREAK (delisted pairs stay as BREAK).
    const status = String(entry.status);
    return { exchangeSymbol: entry.symbol, unified: `${entry.baseAsset}-${entry.quoteAsset}`, trading: status === 'TRADING', status };
  });
}

/** True for exchangeInfo's refusal of a symbol it does not list. */
function isInvalidSymbol(err: unknown): boolean {
  return err instanceof RestError && err.status === 400 && err.message.includes('-1121');
}

/** Binance spot symbols: exchangeInfo for the configured ones, the whole list when one is not listed. */
export const binanceInstruments: InstrumentList = {
  defaultRestUrl: 'https://api.binance.com',

  async fetch({ wanted, restUrl, http, signal }) {
    const url = `${restUrl.replace(/\/+$/, '')}/api/v3/exchangeInfo`;
    if (wanted.length > 0 && wanted.length <= MAX_ASKED) {
      try {
        return parseBinanceExchangeInfo(await http.getJson(url, { symbols: JSON.stringify(wanted) }, signal, { weight: WEIGHT, attempts: 1 }));
      } catch (err) {
        if (!isInvalidSymbol(err)) throw err;
      }
    }
    // showPermissionSets=false leaves out a large per-symbol field nothing here reads.
    return parseBinanceExchangeInfo(await http.getJson(url, { showPermissionSets: 'false' }, signal, { weight: WEIGHT, attempts: 1 }));
  },
};
