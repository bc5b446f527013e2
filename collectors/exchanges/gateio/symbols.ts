import { splitSymbol } from '../../trades/wire.js';

/** Unified `BTC-USDT` → Gate's currency pair `BTC_USDT` (the `id` of /spot/currency_pairs). */
export function gateioPair(symbol: string): string {
  const [base, quote] = splitSymbol('gateio', symbol);
  return `${base}_${quote}`;
}

/** Gate's API v4 REST base: every path is under `/api/v4`. */
export function gateioApi(restUrl: string, path: string): string {
  return `${restUrl.replace(/\/+$/, '')}/api/v4${path}`;
}

/** Gate's production REST host (docs_examples_protocol.json rest_base_url, without `/api/v4`). */
export const GATEIO_REST_URL = 'https://api.gateio.ws';
