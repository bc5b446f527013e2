import type { InstrumentList, ListedInstrument } from '../../trades/instruments.js';
import { isObject } from '../../trades/wire.js';

// AssetPairs' wsname keeps the v1 asset names (rest_AssetPairs_XBTUSDT.json: "XBT/USDT"); WebSocket
// v2 spells them BTC and DOGE.
const V2_ASSET: Readonly<Record<string, string>> = { XBT: 'BTC', XDG: 'DOGE' };
// docs "Get Tradable Asset Pairs": status online, cancel_only, post_only, limit_only, reduce_only;
// trades happen only where taker orders are accepted.
const TRADING = new Set(['online', 'limit_only', 'reduce_only']);

/** An `AssetPairs` answer (rest_AssetPairs_XBTUSDT.json) as listed instruments in WebSocket v2 spelling (BTC/USDT). */
export function parseKrakenAssetPairs(body: unknown): ListedInstrument[] {
  if (!isObject(body)) throw new Error(`AssetPairs answered with no object: ${JSON.stringify(body).slice(0, 200)}`);
  if (Array.isArray(body.error) && body.error.length > 0) throw new Error(`AssetPairs refused: ${body.error.join(', ')}`);
  if (!isObject(body.result)) throw new Error(`AssetPairs answered with no result: ${JSON.stringify(body).slice(0, 200)}`);
  const listed: ListedInstrument[] = [];
  for (const pair of Object.values(body.result)) {
    // Dark-pool pairs (".d") have no wsname: nothing to subscribe.
    if (!isObject(pair) || typeof pair.wsname !== 'string') continue;
    const [base, quote] = pair.wsname.split('/').map((asset) => V2_ASSET[asset] ?? asset);
    if (base === undefined || quote === undefined) continue;
    const status = typeof pair.status === 'string' ? pair.status : 'online';
    listed.push({ exchangeSymbol: `${base}/${quote}`, unified: `${base}-${quote}`, trading: TRADING.has(status), status });
  }
  return listed;
}

/** Kraken spot pairs: one `GET /0/public/AssetPairs`. */
export const krakenInstruments: InstrumentList = {
  defaultRestUrl: 'https://api.kraken.com',

  async fetch({ restUrl, http, signal }) {
    return parseKrakenAssetPairs(await http.getJson(`${restUrl.replace(/\/+$/, '')}/0/public/AssetPairs`, {}, signal, { attempts: 1 }));
  },
};
