import type { Logger } from '../../common/logger.js';
import type { CollectorProgress } from '../types.js';
import { levelProblem, withoutRefused } from '../validation.js';
import type { LevelText } from './order-book.js';

/**
 * A book message (WebSocket update or REST answer) without its impossible levels (price not
 * positive, size negative, not finite): each is counted as `invalid` in `progress` and logged
 * (sampled) with the exchange, symbol and reason. The message itself when every level passes.
 */
export function validLevels<Book extends { symbol?: string; bids: readonly LevelText[]; asks: readonly LevelText[] }>(
  book: Book,
  exchange: string,
  progress: CollectorProgress,
  logger: Logger,
  symbol = book.symbol,
): Book {
  const refuse = (level: LevelText, reason: string): void => {
    if (progress.drop('invalid')) logger.warn({ invalidRecords: progress.dropped.invalid, exchange, symbol, level, reason }, 'refused a book level with impossible values');
  };
  const bids = withoutRefused(book.bids, levelProblem, refuse);
  const asks = withoutRefused(book.asks, levelProblem, refuse);
  return bids === book.bids && asks === book.asks ? book : { ...book, bids, asks };
}

/**
 * `[["price","size", ...], ...]` of a book frame or REST answer, as the exchanges that send both as
 * strings do; what follows the size (order counts) is left out. Throws naming `field` and the entry.
 */
export function textLevels(value: unknown, field: string): LevelText[] {
  if (!Array.isArray(value)) throw new Error(`${field} is not an array`);
  return value.map((level, i) => {
    if (!Array.isArray(level) || typeof level[0] !== 'string' || typeof level[1] !== 'string') throw new Error(`${field}[${i}] is not a [price, size] pair of strings`);
    return [level[0], level[1]] as const;
  });
}
