import type { Logger } from '../../src/logger.js';
import type { DataCollectionStorage, Point } from '../../storage/types.js';
import type { CollectorProgress } from '../types.js';
import { TAKER_BUY, tradesKey, type Trade } from './trade.js';

// Bounds one storeMany call, so a backlog after a slow write goes out in several calls.
const MAX_POINTS_PER_CALL = 1000;

interface TradeFields {
  price: number;
  amount: number;
  count: number;
  buy_amount: number;
  notional: number;
  [field: string]: number;
}

/** Called after a batch was stored: `key`'s trades up to `lastTradeId`, the newest at `lastTimestamp`. */
export type StoredTradesListener = (key: string, lastTimestamp: number, lastTradeId: string | number) => void;

/**
 * Turns trades into per-millisecond samples and writes them with storeMany. Trades arriving
 * while a write is in flight (or in the same event-loop turn) are merged into one batch, so a
 * busy stream makes few large calls and a quiet one writes each frame without delay.
 */
export class TradeWriter {
  /** key → millisecond → fields, waiting to be written. */
  private pending = new Map<string, Map<number, TradeFields>>();
  /** key → id of the last trade queued for it: the newest the exchange sent. */
  private pendingLastIds = new Map<string, string | number>();
  private writing: Promise<void> | undefined;
  private failure: Error | undefined;

  constructor(
    private readonly storage: DataCollectionStorage,
    private readonly progress: CollectorProgress,
    private readonly logger: Logger,
    /** Called once when a write throws; the stream then ends with that error. */
    private readonly onFailure: (err: Error) => void,
    /** Told what each written batch stored, for checkpoints. */
    private readonly onStored?: StoredTradesListener,
  ) {}

  /** Queues trades (already deduplicated) for the next write. */
  add(trades: readonly Trade[]): void {
    if (trades.length === 0 || this.failure) return;
    for (const trade of trades) this.merge(trade);
    this.writing ??= this.writeSoon();
  }

  /** Writes everything queued; throws the write error, if any. */
  async drain(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.pending.size > 0 && !this.failure) await this.writeAll();
    if (this.failure) throw this.failure;
  }

  /** Same millisecond, same symbol: price is the latest, amounts and counts add up. */
  private merge(trade: Trade): void {
    const key = tradesKey(trade.exchange, trade.symbol);
    let byTime = this.pending.get(key);
    if (!byTime) this.pending.set(key, (byTime = new Map()));
    this.pendingLastIds.set(key, trade.id);
    const buy = trade.side === TAKER_BUY ? trade.amount : 0;
    const fields = byTime.get(trade.exchangeTime);
    if (!fields) {
      byTime.set(trade.exchangeTime, {
        price: trade.price,
        amount: trade.amount,
        count: trade.count ?? 1,
        buy_amount: buy,
        notional: trade.price * trade.amount,
      });
    } else {
      fields.price = trade.price;
      fields.amount += trade.amount;
      fields.count += trade.count ?? 1;
      fields.buy_amount += buy;
      fields.notional += trade.price * trade.amount;
    }
  }

  private async writeSoon(): Promise<void> {
    // Let the rest of this turn's frames (ws emits a whole TCP chunk at once) join the batch.
    await new Promise<void>((resolve) => setImmediate(resolve));
    try {
      while (this.pending.size > 0) await this.writeAll();
    } catch (err) {
      this.failure = err instanceof Error ? err : new Error(String(err));
      this.onFailure(this.failure);
    } finally {
      this.writing = undefined;
    }
  }

  private async writeAll(): Promise<void> {
    const batch = this.pending;
    const lastIds = this.pendingLastIds;
    this.pending = new Map();
    this.pendingLastIds = new Map();
    const points: Point[] = [];
    const newestOf = new Map<string, number>();
    for (const [key, byTime] of batch) {
      let newest = -Infinity;
      for (const [timestamp, value] of byTime) {
        points.push({ key, value, timestamp });
        if (timestamp > newest) newest = timestamp;
      }
      newestOf.set(key, newest);
    }
    for (let start = 0; start < points.length; start += MAX_POINTS_PER_CALL) {
      const chunk = points.slice(start, start + MAX_POINTS_PER_CALL);
      const newest = chunk.reduce((max, p) => Math.max(max, p.timestamp), 0);
      const result = await this.storage.storeMany(chunk);
      if (result.rejected.length > 0) {
        // The storage counts them too; log a few so the cause is visible.
        this.logger.error({ rejected: result.rejected.length, first: result.rejected.slice(0, 3) }, 'storage rejected trade samples');
      }
      if (result.accepted > 0) this.progress.recordStored(result.accepted, newest);
    }
    // Only once the whole batch is stored: a checkpoint must never claim trades not written.
    // (Refused points count as done: sending them again would be refused again.)
    if (this.onStored) for (const [key, newest] of newestOf) this.onStored(key, newest, lastIds.get(key)!);
  }
}
