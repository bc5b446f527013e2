import { TAKER_BUY, TAKER_SELL, type Trade } from '../../trades/trade.js';
import { decimal, isObject } from '../../trades/wire.js';

// "1619093543708.2642" (ws_trades_2021-04-22.jsonl), "1710327648162.035000" (REST, 2024): ms with a fraction.
const MILLIS_WITH_FRACTION = /^(\d{1,15})(\.\d+)?$/;
const DIGITS = /^\d{1,18}$/;

/** Gate's trade id: a JSON number on the WebSocket (816995772), a digit string over REST ("7835390042"). */
function tradeId(value: unknown): string {
  const text = typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? String(value) : value;
  if (typeof text !== 'string' || !DIGITS.test(text)) throw new Error(`id is not a trade id: ${JSON.stringify(value)}`);
  return text;
}

/**
 * One Gate spot trade (the `result` of a `spot.trades` update, or an entry of `GET /spot/trades`) as a
 * normalized Trade. Both carry id, create_time_ms, side, amount and price (ws_trades_2021-04-22.jsonl,
 * rest_trades_BTC_USDT_limit1_2024-03-13_ccxt.json); the 2025 docs add `id_market` and `range` on the
 * WebSocket (no recording has them), which are not needed and ignored.
 */
export function parseGateioTrade(entry: unknown, symbol: string, receivedAt: number): Trade {
  if (!isObject(entry)) throw new Error('trade is not an object');
  const time = typeof entry.create_time_ms === 'string' ? MILLIS_WITH_FRACTION.exec(entry.create_time_ms) : null;
  if (!time) throw new Error(`create_time_ms is not a millisecond timestamp string: ${JSON.stringify(entry.create_time_ms)}`);
  if (entry.side !== 'buy' && entry.side !== 'sell') throw new Error(`side is neither buy nor sell: ${JSON.stringify(entry.side)}`);
  return {
    exchange: 'gateio',
    symbol,
    // Kept as a digit string; dedup compares digit strings by value.
    id: tradeId(entry.id),
    price: decimal(entry.price, 'price'),
    amount: decimal(entry.amount, 'amount'),
    // docs spot.trades: "side — taker side".
    side: entry.side === 'buy' ? TAKER_BUY : TAKER_SELL,
    // Sub-millisecond digits are dropped, as everywhere.
    exchangeTime: Number(time[1]),
    receivedAt,
  };
}
