import type { HistoryPageRequest, TradeHistory } from '../../trades/history.js';
import { TAKER_BUY, TAKER_SELL, type Trade } from '../../trades/trade.js';
import { decimal, integer, isObject } from '../../trades/wire.js';

// Kraken spot REST "Get Recent Trades" (GET /0/public/Trades; rest_Trades_XBTUSDT_2025-11.json):
// `pair`, `since` ("Return trade data since given timestamp"), `count` (max 1000); the answer is
// {"error":[],"result":{"<pair key>":[[price, volume, time, side, ordertype, misc, trade_id], ...],
// "last":"<ns>"}}, OLDEST first, and `last` is the cursor to pass as `since` for what follows
// (the fixture: 1000 entries, consecutive trade_ids 10218208 … 10219207, `last` =
// 1762820035982277754 = the last entry's time 1762820035.9822779 s in ns).
// `since` is a time, not an id (the docs name no id form), so the page after an id needs that
// trade's time: remembered from the pages this hook fetched, else searched for by stepping back
// from now (1 s, 2 s, 4 s, …) until a page starts at or before the wanted id.
const PAGE_SIZE = 1000;
// Beyond this the missed range is given up (a gap is recorded) rather than searched for.
const MAX_SEARCH_NS = 7 * 24 * 3600 * 1e9;

// REST spells some assets the old way (rest_AssetPairs_XBTUSDT.json: altname "XBTUSDT", wsname
// "XBT/USDT"; the v2 WebSocket says BTC/USDT), and `pair` takes the altname.
const REST_ASSET: Readonly<Record<string, string>> = { BTC: 'XBT', DOGE: 'XDG' };

/** The REST altname of a WebSocket v2 symbol: `BTC/USDT` → `XBTUSDT`. */
export function krakenRestPair(v2Symbol: string): string {
  return v2Symbol
    .split('/')
    .map((asset) => REST_ASSET[asset] ?? asset)
    .join('');
}

/** One parsed entry and its time in ns (the `since` unit), to continue from it. */
interface Entry {
  trade: Trade;
  ns: number;
}

/**
 * One Trades entry as a normalized Trade. The 4th element is "b"/"s", "buy/sell" in the docs and the
 * taker's side (as the v2 trade channel's `side`); time is float seconds with sub-µs digits.
 */
function parseEntry(entry: unknown, symbol: string, receivedAt: number): Entry {
  if (!Array.isArray(entry) || entry.length < 7) throw new Error(`Trades entry is not a 7-element array: ${JSON.stringify(entry)}`);
  const [price, volume, time, side, , , id] = entry as unknown[];
  if (typeof time !== 'number' || !Number.isFinite(time) || time <= 0) throw new Error(`time is not a number of seconds: ${JSON.stringify(time)}`);
  if (side !== 'b' && side !== 's') throw new Error(`side is neither b nor s: ${JSON.stringify(side)}`);
  // In whole µs first: 1762795433.9717445 * 1000 alone can land a hair under the millisecond.
  const micros = Math.round(time * 1e6);
  return {
    trade: {
      exchange: 'kraken',
      symbol,
      id: integer(id, 'trade_id'),
      price: decimal(price, 'price'),
      amount: decimal(volume, 'volume'),
      side: side === 'b' ? TAKER_BUY : TAKER_SELL,
      exchangeTime: Math.floor(micros / 1000),
      receivedAt,
    },
    ns: micros * 1000,
  };
}

/** Per symbol: the ns time of trade ids seen in the last pages, to continue without a search. */
const timesOf = new Map<string, Map<number, number>>();

/** Kraken's past trades by id: `Trades` from a time at or before the id, ascending. */
export const krakenTradeHistory: TradeHistory = {
  defaultRestUrl: 'https://api.kraken.com',
  idsSequential: true,
  pageSize: PAGE_SIZE,

  async fetchAfter({ symbol, exchangeSymbol, afterId, restUrl, http, signal }: HistoryPageRequest): Promise<Trade[]> {
    const url = `${restUrl.replace(/\/+$/, '')}/0/public/Trades`;
    const pair = krakenRestPair(exchangeSymbol);
    const page = async (since: string): Promise<{ entries: Entry[]; last: string | undefined }> => {
      const body = await http.getJson(url, { pair, since, count: PAGE_SIZE }, signal);
      if (!isObject(body)) throw new Error(`Trades answered with no object: ${JSON.stringify(body).slice(0, 200)}`);
      if (Array.isArray(body.error) && body.error.length > 0) throw new Error(`Trades refused: ${body.error.join(', ')}`);
      const result = isObject(body.result) ? body.result : {};
      // The result is keyed by the pair's REST key (XBTUSDT, or XXBTZUSD for the oldest pairs) beside `last`.
      const key = Object.keys(result).find((k) => k !== 'last');
      const list = key === undefined ? [] : result[key];
      if (!Array.isArray(list)) throw new Error(`Trades result ${String(key)} is not an array`);
      const receivedAt = Date.now();
      // `last` is passed back as sent: as a number, a ns time past 2^53 would lose its last digits.
      const last = typeof result.last === 'string' || typeof result.last === 'number' ? String(result.last) : undefined;
      return { entries: list.map((entry) => parseEntry(entry, symbol, receivedAt)), last };
    };
    /** A ns time as `since`, without exponent notation. */
    const nsText = (ns: number): string => BigInt(Math.max(0, Math.round(ns))).toString();

    let current: { entries: Entry[]; last: string | undefined };
    const known = timesOf.get(symbol)?.get(afterId);
    if (known !== undefined) {
      // A µs under the trade's own time (the float loses sub-µs digits); older trades are dropped below.
      current = await page(nsText(known - 1000));
    } else {
      const now = Date.now() * 1e6;
      for (let step = 1e9; ; step *= 2) {
        if (step > MAX_SEARCH_NS) throw new Error(`kraken: no trade at or before id ${afterId + 1} within ${MAX_SEARCH_NS / 1e9} s`);
        current = await page(nsText(now - step));
        const first = current.entries[0];
        if (first && Number(first.trade.id) <= afterId + 1) break;
      }
    }
    const fresh: Entry[] = [];
    for (;;) {
      const newest = Number(fresh.at(-1)?.trade.id ?? afterId);
      const added = current.entries.filter((e) => Number(e.trade.id) > newest);
      fresh.push(...added);
      // Full page whose trades were all older than wanted: go on from its `last` cursor.
      if (fresh.length >= PAGE_SIZE || current.entries.length < PAGE_SIZE || current.last === undefined) break;
      if (added.length === 0 && current.entries.length > 0 && Number(current.entries.at(-1)!.trade.id) <= newest && fresh.length > 0) break;
      current = await page(current.last);
    }
    const kept = fresh.slice(0, PAGE_SIZE);
    timesOf.set(symbol, new Map(kept.map((e) => [Number(e.trade.id), e.ns])));
    return kept.map((e) => e.trade);
  },
};
