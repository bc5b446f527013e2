import type { Logger } from '../../common/logger.js';
import type { CollectorCheckpoint, DataCollectionStorage, Point } from '../../storage/types.js';
import type { CollectorProgress } from '../types.js';
import type { TradeCheckpoints } from './trade-checkpoints.js';
import { TAKER_BUY, tradesKey, type Trade } from './trade.js';

interface TradeFields {
  price: number;
  amount: number;
  count: number;
  buy_amount: number;
  notional: number;
  [field: string]: number;
}

/** One symbol's samples waiting to be written; kept for the writer's life, emptied by each write. */
interface SeriesQueue {
  exchange: string;
  symbol: string;
  key: string;
  /** Per-millisecond samples, in the order their millisecond first arrived. */
  points: Point[];
  /** Newest timestamp among `points`. */
  newest: number;
  /** Id of the last trade queued: the newest the exchange sent. */
  lastId: string | number;
}

/**
 * Turns trades into per-millisecond samples and writes them with storeMany. Trades arriving
 * while a write is in flight (or in the same event-loop turn) are merged into one batch, so a
 * busy stream makes few large calls and a quiet one writes each frame without delay.
 */
export class TradeWriter {
  /** exchange → symbol → its queue: the series key is built once per symbol, not per trade. */
  private readonly queues = new Map<string, Map<string, SeriesQueue>>();
  /** Queues holding samples not yet written, in the order they got their first. */
  private queued: SeriesQueue[] = [];
  /** The queue used last: a stream's trades run on one symbol for long stretches. */
  private lastQueue: SeriesQueue | undefined;
  private writing: Promise<void> | undefined;
  private failure: Error | undefined;

  constructor(
    private readonly storage: DataCollectionStorage,
    private readonly progress: CollectorProgress,
    private readonly logger: Logger,
    /** Called once when a write throws; the stream then ends with that error. */
    private readonly onFailure: (err: Error) => void,
    /** Where the stream's checkpoints stand: each batch commits its keys' next ones with its samples. */
    private readonly checkpoints?: TradeCheckpoints,
  ) {}

  /** Queues trades (already deduplicated) for the next write. */
  add(trades: readonly Trade[]): void {
    if (trades.length === 0 || this.failure) return;
    for (let i = 0; i < trades.length; i++) this.merge(trades[i]!);
    this.writing ??= this.writeSoon();
  }

  /** Samples queued and not yet handed to storage. */
  get queuedSamples(): number {
    let count = 0;
    for (const queue of this.queued) count += queue.points.length;
    return count;
  }

  /** Writes everything queued; throws the write error, if any. */
  async drain(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.queued.length > 0 && !this.failure) await this.writeAll();
    if (this.failure) throw this.failure;
  }

  private queueOf(trade: Trade): SeriesQueue {
    const last = this.lastQueue;
    if (last !== undefined && last.symbol === trade.symbol && last.exchange === trade.exchange) return last;
    let ofExchange = this.queues.get(trade.exchange);
    if (!ofExchange) this.queues.set(trade.exchange, (ofExchange = new Map()));
    let queue = ofExchange.get(trade.symbol);
    if (!queue) {
      const { exchange, symbol } = trade;
      ofExchange.set(symbol, (queue = { exchange, symbol, key: tradesKey(exchange, symbol), points: [], newest: -Infinity, lastId: trade.id }));
    }
    return (this.lastQueue = queue);
  }

  /** Same millisecond, same symbol: price is the latest, amounts and counts add up. */
  private merge(trade: Trade): void {
    const queue = this.queueOf(trade);
    const { points } = queue;
    if (points.length === 0) this.queued.push(queue);
    queue.lastId = trade.id;
    const time = trade.exchangeTime;
    // Trades come in time order almost always: the sample to merge into is then the last one.
    let sample: Point | undefined;
    if (time <= queue.newest) {
      for (let i = points.length - 1; i >= 0; i--) {
        if (points[i]!.timestamp === time) {
          sample = points[i];
          break;
        }
      }
    }
    const count = trade.count ?? 1;
    const buy = trade.side === TAKER_BUY ? trade.amount : 0;
    if (!sample) {
      const value: TradeFields = { price: trade.price, amount: trade.amount, count, buy_amount: buy, notional: trade.price * trade.amount };
      points.push({ key: queue.key, value, timestamp: time });
      if (time > queue.newest) queue.newest = time;
      return;
    }
    const fields = sample.value as TradeFields;
    fields.price = trade.price;
    fields.amount += trade.amount;
    fields.count += count;
    fields.buy_amount += buy;
    fields.notional += trade.price * trade.amount;
  }

  private async writeSoon(): Promise<void> {
    // Let the rest of this chunk's frames (ws emits a whole TCP read at once, synchronously)
    // join the batch, but no more: waiting for the next event-loop turn would let libuv read up
    // to 32 chunks first, and the thousands of samples held meanwhile would outlive young GCs.
    await Promise.resolve();
    try {
      while (this.queued.length > 0) await this.writeAll();
    } catch (err) {
      this.failure = err instanceof Error ? err : new Error(String(err));
      this.onFailure(this.failure);
    } finally {
      this.writing = undefined;
    }
  }

  private async writeAll(): Promise<void> {
    const queued = this.queued;
    this.queued = [];
    const written: Array<{ key: string; newest: number; lastId: string | number }> = [];
    // One symbol (the usual case): its array goes out as it is.
    const points = queued.length === 1 ? queued[0]!.points : [];
    for (const queue of queued) {
      if (queued.length > 1) for (const p of queue.points) points.push(p);
      written.push({ key: queue.key, newest: queue.newest, lastId: queue.lastId });
      queue.points = [];
      queue.newest = -Infinity;
    }
    // One call: its checkpoints vouch for every sample of their keys in it (and before it).
    // (Refused points count as done: sending them again would be refused again.)
    const checkpoints: CollectorCheckpoint[] | undefined = this.checkpoints && written.map(({ key, newest, lastId }) => this.checkpoints!.next(key, newest, lastId));
    let newest = 0;
    for (const p of points) if (p.timestamp > newest) newest = p.timestamp;
    const result = await this.storage.storeMany(points, checkpoints ? { checkpoint: { collector: this.checkpoints!.collector, checkpoints } } : undefined);
    if (result.rejected.length > 0) {
      // The storage counts them too; log a few so the cause is visible.
      this.logger.error({ rejected: result.rejected.length, first: result.rejected.slice(0, 3) }, 'storage rejected trade samples');
    }
    if (result.accepted > 0) this.progress.recordStored(result.accepted, newest);
    if (checkpoints) this.checkpoints!.stored(checkpoints);
  }
}
