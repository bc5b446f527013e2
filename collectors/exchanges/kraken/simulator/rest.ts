/**
 * The few Kraken spot REST endpoints the simulator serves, shaped like the Nov 2025 captures:
 * GET /0/public/Time (rest_Time.json), /0/public/SystemStatus (rest_SystemStatus.json) and
 * /0/public/AssetPairs (rest_AssetPairs_XBTUSDT.json), /0/public/Trades (history.ts),
 * /0/public/OHLC (klines.ts) and /0/public/Depth (rest_Depth_XBTUSDT.json).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { priceText, sizeText, type SimLevel } from '../../../simulator/book.js';
import type { RequestBudget } from '../../../simulator/request-budget.js';
import { sendJson } from '../../../simulator/server.js';
import type { RestAnswer } from '../../../simulator/server.js';
import { answerSystemStatus, unavailableAnswer, type KrakenMarketRoutes } from './klines.js';

// REST keeps Kraken's legacy asset names: XBT for BTC, X/Z-prefixed codes for the oldest assets
// (rest_AssetPairs_XBTUSDT.json: base "XXBT", fee_volume_currency "ZUSD"; pair key XXBTZUSD for BTC/USD).
const ALT_NAME: Readonly<Record<string, string>> = { BTC: 'XBT', DOGE: 'XDG' };
const LEGACY_CODE: Readonly<Record<string, string>> = { XBT: 'XXBT', ETH: 'XETH', LTC: 'XLTC', XDG: 'XXDG', USD: 'ZUSD', EUR: 'ZEUR', GBP: 'ZGBP', JPY: 'ZJPY', CAD: 'ZCAD' };
const FEES = [[0, 0.4], [10000, 0.35], [50000, 0.24], [100000, 0.22], [250000, 0.2], [500000, 0.18], [1000000, 0.16], [2500000, 0.14], [5000000, 0.12], [10000000, 0.1]];
const FEES_MAKER = [[0, 0.25], [10000, 0.2], [50000, 0.14], [100000, 0.12], [250000, 0.1], [500000, 0.08], [1000000, 0.06], [2500000, 0.04], [5000000, 0.02], [10000000, 0.0]];

interface PairNames {
  key: string;
  altname: string;
  wsname: string;
  base: string;
  quote: string;
}

/** REST names of a v2 symbol such as `BTC/USD`: key XXBTZUSD, altname XBTUSD, wsname XBT/USD. */
function pairNames(symbol: string): PairNames {
  const [base, quote] = symbol.split('/').map((asset) => ALT_NAME[asset!] ?? asset!) as [string, string];
  const legacyBase = LEGACY_CODE[base] ?? base;
  const legacyQuote = LEGACY_CODE[quote] ?? quote;
  const legacy = legacyBase !== base && legacyQuote !== quote;
  return { key: legacy ? legacyBase + legacyQuote : base + quote, altname: base + quote, wsname: `${base}/${quote}`, base: legacyBase, quote: legacyQuote };
}

/** An AssetPairs entry for the simulator's cent ticks and 8-decimal quantities, in the captured key order. */
function assetPair(names: PairNames): Record<string, unknown> {
  return {
    altname: names.altname, wsname: names.wsname, aclass_base: 'currency', base: names.base, aclass_quote: 'currency', quote: names.quote,
    lot: 'unit', cost_decimals: 5, pair_decimals: 2, lot_decimals: 8, lot_multiplier: 1, leverage_buy: [2, 3, 4, 5], leverage_sell: [2, 3, 4, 5],
    fees: FEES, fees_maker: FEES_MAKER, fee_volume_currency: 'ZUSD', margin_call: 80, margin_stop: 40, ordermin: '0.00005', costmin: '0.5',
    tick_size: '0.01', status: 'online', long_position_limit: 80, short_position_limit: 80,
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  sendJson(res, status, body, 'application/json; charset=utf-8');
}

/** "Tue, 11 Nov 25 00:17:04 +0000", as rest_Time.json prints rfc1123. */
function rfc1123(date: Date): string {
  return date.toUTCString().replace(/ \d{2}(\d{2}) /, ' $1 ').replace('GMT', '+0000');
}

/** The listed pair a `pair` parameter names (pair key or altname), as its index, or an error answer. */
function pairIndex(pairs: readonly PairNames[], url: URL): number | RestAnswer {
  const name = url.searchParams.get('pair');
  if (!name) return { status: 200, body: { error: ['EGeneral:Invalid arguments'] } };
  const i = pairs.findIndex((p) => p.key === name || p.altname === name);
  return i < 0 ? { status: 200, body: { error: ['EQuery:Unknown asset pair'] } } : i;
}

// docs "Get Order Book": count 1–500, default 100.
const DEPTH_DEFAULT_COUNT = 100;
const DEPTH_MAX_COUNT = 500;

/**
 * `[price, volume, timestamp]` Depth entries: prices padded to 5 decimals as in both recordings,
 * volumes with the pair's 8 lot decimals (the recordings show 3, which would round the simulated
 * lots away), and a made-up last-change time a little before now, in whole seconds.
 */
function depthEntries(levels: readonly SimLevel[], nowSeconds: number): [string, string, number][] {
  return levels.map((l) => [priceText(l.ticks, 5), sizeText(l.lots), nowSeconds - (l.lots % 60)]);
}

/**
 * The answer to one `/0/public/Depth` request for a listed pair (`key` its REST result key), from
 * `top`, its book's best levels per side.
 */
export function answerDepth(url: URL, key: string, top: (count: number) => { bids: SimLevel[]; asks: SimLevel[] }, budget: RequestBudget): RestAnswer {
  // Public calls are limited per IP; Kraken refuses with 200 {"error":["EGeneral:Too many requests"]}.
  if (budget.spend(1) !== undefined) return { status: 200, body: { error: ['EGeneral:Too many requests'] } };
  const countText = url.searchParams.get('count');
  if (countText !== null && !/^\d+$/.test(countText)) return { status: 200, body: { error: ['EGeneral:Invalid arguments'] } };
  const count = Math.min(DEPTH_MAX_COUNT, Math.max(1, countText === null ? DEPTH_DEFAULT_COUNT : Number(countText)));
  const { bids, asks } = top(count);
  const now = Math.floor(Date.now() / 1000);
  return { status: 200, body: { error: [], result: { [key]: { asks: depthEntries(asks, now), bids: depthEntries(bids, now) } } } };
}

/**
 * The REST request handler for a simulated exchange listing `symbols` (v2 spelling, e.g. BTC/USD);
 * `trades` answers /0/public/Trades for a listed pair (its v2 symbol and REST result key), `market`
 * /0/public/OHLC and maintenance, `depth` /0/public/Depth.
 */
export function krakenRest(
  symbols: readonly string[],
  trades?: (symbol: string, key: string, url: URL) => RestAnswer,
  market?: KrakenMarketRoutes,
  depth?: (symbol: string, key: string, url: URL) => RestAnswer,
): (req: IncomingMessage, res: ServerResponse, url: URL) => void {
  const pairs = symbols.map(pairNames);
  return (_req, res, url) => {
    const now = new Date();
    const maintenance = market?.maintenance() ?? false;
    switch (url.pathname) {
      case '/0/public/Time':
        return json(res, 200, { error: [], result: { unixtime: Math.floor(now.getTime() / 1000), rfc1123: rfc1123(now) } });
      case '/0/public/SystemStatus': {
        const status = answerSystemStatus(maintenance, now.getTime());
        return json(res, status.status, status.body);
      }
      case '/0/public/AssetPairs': {
        // `pair` takes a comma-separated list of pair keys or altnames.
        const wanted = url.searchParams.get('pair')?.split(',');
        const chosen = wanted ? wanted.map((name) => pairs.find((p) => p.key === name || p.altname === name)) : pairs;
        if (chosen.some((p) => p === undefined)) return json(res, 200, { error: ['EQuery:Unknown asset pair'] });
        return json(res, 200, { error: [], result: Object.fromEntries(chosen.map((p) => [p!.key, assetPair(p!)])) });
      }
      case '/0/public/Trades':
      case '/0/public/OHLC':
      case '/0/public/Depth': {
        const route = url.pathname === '/0/public/OHLC' ? market?.ohlc.bind(market) : url.pathname === '/0/public/Depth' ? depth : trades;
        if (!route) break;
        // Market data is what maintenance takes offline; SystemStatus and Time keep answering.
        if (maintenance) return json(res, unavailableAnswer.status, unavailableAnswer.body);
        // `pair` is one pair key or altname (rest_Trades_XBTUSDT_2025-11.json: pair=XBTUSDT, result key XBTUSDT).
        const i = pairIndex(pairs, url);
        if (typeof i !== 'number') return json(res, i.status, i.body);
        const answer = route(symbols[i]!, pairs[i]!.key, url);
        return json(res, answer.status, answer.body);
      }
    }
    json(res, 404, { error: ['EGeneral:Unknown method'] });
  };
}
