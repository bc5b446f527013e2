/**
 * Kraken's `GET /0/public/Trades` as the simulator serves it, from the trades the simulator
 * generated, sent or not (shape of rest_Trades_XBTUSDT_2025-11.json: oldest first, entries
 * [price, volume, time, side, ordertype, misc, trade_id], `last` the ns cursor for `since`).
 */
import type { SimulatedTrade } from '../../../simulator/market.js';
import type { RequestBudget } from '../../../simulator/request-budget.js';
import type { RestAnswer } from '../../../simulator/server.js';

export type KrakenRestTrade = [price: string, volume: string, time: number, side: 'b' | 's', ordertype: 'l' | 'm', misc: string, tradeId: number];

const MAX_COUNT = 1000;

/** The trade's time in ns, with the same microseconds its WebSocket frame carries (index.ts). */
export function tradeNs(trade: SimulatedTrade): bigint {
  return (BigInt(trade.time) * 1000n + BigInt((trade.id * 337) % 1000)) * 1000n;
}

/** Prices with the pair's 2 decimals as on the WebSocket, but as REST strings with 5 (fixture: "105433.60000"); volume 8. */
function restTrade(trade: SimulatedTrade): KrakenRestTrade {
  const ns = tradeNs(trade);
  const price = Number(trade.price).toFixed(2) + '000';
  return [price, trade.amount, Number(ns / 1000n) / 1e6, trade.takerSide > 0 ? 'b' : 's', trade.id % 4 === 0 ? 'l' : 'm', '', trade.id];
}

/**
 * The answer to one Trades request for a listed pair (`key` its REST result key). `since` is a
 * time: in ns as `last` prints it, or in seconds (a value under 1e12); trades strictly after it.
 */
export function answerTrades(url: URL, key: string, trades: readonly SimulatedTrade[], budget: RequestBudget): RestAnswer {
  // docs spot-ratelimits: public calls are limited per IP; over it {"error":["EGeneral:Too many requests"]}
  // (HTTP 429 assumed here, so polite clients back off).
  if (budget.spend(1) !== undefined) return { status: 429, body: { error: ['EGeneral:Too many requests'] } };
  const countText = url.searchParams.get('count');
  const count = countText === null ? MAX_COUNT : Number(countText);
  if (!Number.isInteger(count) || count < 1 || count > MAX_COUNT) return { status: 200, body: { error: ['EGeneral:Invalid arguments'] } };
  const sinceText = url.searchParams.get('since');
  let page: readonly SimulatedTrade[];
  let last: bigint;
  if (sinceText === null || sinceText === '') {
    page = trades.slice(-count);
    last = page.length > 0 ? tradeNs(page.at(-1)!) : 0n;
  } else {
    if (!/^\d+(\.\d+)?$/.test(sinceText)) return { status: 200, body: { error: ['EGeneral:Invalid arguments:since'] } };
    const since = Number(sinceText) < 1e12 ? BigInt(Math.round(Number(sinceText) * 1e9)) : BigInt(sinceText.split('.')[0]!);
    // Trades are in time order, but the made-up microseconds of one millisecond's trades are not:
    // a `since` that is a trade's own `last` resumes right after that trade, as on Kraken.
    const sinceMs = Number(since / 1_000_000n);
    let lo = 0;
    let hi = trades.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (trades[mid]!.time >= sinceMs) hi = mid;
      else lo = mid + 1;
    }
    let exact = -1;
    for (let i = lo; i < trades.length && trades[i]!.time === sinceMs; i++) if (tradeNs(trades[i]!) === since) exact = i;
    if (exact >= 0) lo = exact + 1;
    else while (lo < trades.length && tradeNs(trades[lo]!) <= since) lo += 1;
    page = trades.slice(lo, lo + count);
    last = page.length > 0 ? tradeNs(page.at(-1)!) : since;
  }
  return { status: 200, body: { error: [], result: { [key]: page.map(restTrade), last: last.toString() } } };
}
