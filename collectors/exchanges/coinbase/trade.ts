import { TAKER_BUY, TAKER_SELL, type Trade } from '../../trades/trade.js';
import { type Json, decimal, integer, isoTimeMs } from '../../trades/wire.js';

/**
 * A trade as Coinbase spells it in `match` frames and in REST `/products/<id>/trades` alike:
 * trade_id, price, size, maker `side` (the taker is the opposite), ISO time with microseconds.
 */
export function coinbaseTrade(entry: Json, symbol: string, receivedAt: number): Trade {
  if (entry.side !== 'buy' && entry.side !== 'sell') throw new Error(`side is neither buy nor sell: ${JSON.stringify(entry.side)}`);
  return {
    exchange: 'coinbase',
    symbol,
    id: integer(entry.trade_id, 'trade_id'),
    price: decimal(entry.price, 'price'),
    amount: decimal(entry.size, 'size'),
    side: entry.side === 'sell' ? TAKER_BUY : TAKER_SELL,
    exchangeTime: isoTimeMs(entry.time, 'time'),
    receivedAt,
  };
}
