import type { Logger } from '../../common/logger.js';
import type { CollectorCheckpoint, CollectorStateStore } from '../../storage/types.js';

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * A trade stream's resume points: per series key, the last trade id and exchange time stored.
 * They are not saved on their own: each batch of samples carries its keys' checkpoints into
 * `storeMany`, which commits them in the same transaction as the samples (see `next`), so a
 * stored checkpoint is never ahead of nor behind the stored trades, whenever the process dies.
 */
export class TradeCheckpoints {
  private readonly latest = new Map<string, CollectorCheckpoint>();
  private restored = false;

  constructor(
    readonly collector: string,
    private readonly logger: Logger,
  ) {}

  /**
   * Starts a run: the first time (per process) loads the stored checkpoints and hands those of
   * `keys` to `seed`. A failed load is logged and tried again next run; collecting goes on.
   */
  async begin(store: CollectorStateStore | undefined, keys: readonly string[], seed: (checkpoint: CollectorCheckpoint) => void): Promise<void> {
    if (!store || this.restored) return;
    try {
      const record = await store.load(this.collector);
      for (const checkpoint of record?.checkpoints ?? []) {
        if (!keys.includes(checkpoint.key)) continue;
        seed(checkpoint);
        const known = this.latest.get(checkpoint.key)?.lastTimestamp;
        if (known === undefined || (checkpoint.lastTimestamp ?? -Infinity) >= known) this.latest.set(checkpoint.key, { ...checkpoint });
      }
      this.restored = true;
      if (record) this.logger.info({ checkpoints: record.checkpoints.length }, 'resuming from saved checkpoints');
    } catch (err) {
      this.logger.warn({ err: message(err) }, 'cannot load saved checkpoints; a trade the exchange sends again could be counted twice');
    }
  }

  /**
   * The checkpoint of `key` once a batch whose trades end at `lastTradeId`, the newest at
   * `lastTimestamp`, is stored: what to commit with that batch. The time never moves back.
   */
  next(key: string, lastTimestamp: number, lastTradeId: string | number): CollectorCheckpoint {
    const previous = this.latest.get(key)?.lastTimestamp;
    return { key, lastTimestamp: previous !== undefined && previous > lastTimestamp ? previous : lastTimestamp, lastTradeId: String(lastTradeId) };
  }

  /** Notes checkpoints committed with their batch. */
  stored(checkpoints: readonly CollectorCheckpoint[]): void {
    for (const c of checkpoints) this.latest.set(c.key, c);
  }

  /** The next run loads the stored checkpoints again (another process may have moved them on). */
  forget(): void {
    this.restored = false;
  }

  /** The checkpoints stored by this process (or loaded at start), for tests and status. */
  current(): CollectorCheckpoint[] {
    return [...this.latest.values()].map((c) => ({ ...c }));
  }
}
