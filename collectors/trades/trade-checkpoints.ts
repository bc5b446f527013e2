import type { Logger } from '../../src/logger.js';
import { updateCollectorState } from '../../storage/collector-state.js';
import type { CollectorCheckpoint, CollectorStateStore } from '../../storage/types.js';

/** How often at most a stream's checkpoints are saved while it runs. */
export const CHECKPOINT_SAVE_INTERVAL_MS = 1000;

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * A trade stream's resume points: per series key, the last trade id and exchange time stored.
 * Kept in memory as batches are written and saved to the storage's collector state at most
 * once per interval and at the end of every run, in the background: never a storage round
 * trip per trade, and never a reason for the stream to fail.
 */
export class TradeCheckpoints {
  private readonly latest = new Map<string, CollectorCheckpoint>();
  private readonly unsaved = new Set<string>();
  /** The store of the current run; undefined between runs. */
  private store: CollectorStateStore | undefined;
  private restored = false;
  private saving: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastSaveAt = 0;
  private failing = false;

  constructor(
    private readonly collector: string,
    private readonly logger: Logger,
    private readonly saveIntervalMs = CHECKPOINT_SAVE_INTERVAL_MS,
  ) {}

  /**
   * Starts a run: the first time (per process) loads the stored checkpoints and hands those of
   * `keys` to `seed`. A failed load is logged and tried again next run; collecting goes on.
   */
  async begin(store: CollectorStateStore | undefined, keys: readonly string[], seed: (checkpoint: CollectorCheckpoint) => void): Promise<void> {
    this.store = store;
    if (!store || this.restored) return;
    try {
      const record = await store.load(this.collector);
      for (const checkpoint of record?.checkpoints ?? []) if (keys.includes(checkpoint.key)) seed(checkpoint);
      this.restored = true;
      if (record) this.logger.info({ checkpoints: record.checkpoints.length }, 'resuming from saved checkpoints');
    } catch (err) {
      this.logger.warn({ err: message(err) }, 'cannot load saved checkpoints; a trade the exchange sends again could be counted twice');
    }
  }

  /** Notes that `key`'s trades up to `lastTradeId`, the newest at `lastTimestamp`, are stored; saves soon. */
  advance(key: string, lastTimestamp: number, lastTradeId: string | number): void {
    const previous = this.latest.get(key)?.lastTimestamp;
    this.latest.set(key, {
      key,
      lastTimestamp: previous !== undefined && previous > lastTimestamp ? previous : lastTimestamp,
      lastTradeId: String(lastTradeId),
    });
    this.unsaved.add(key);
    this.saveSoon();
  }

  /** Ends a run: waits for a save in flight, then saves what is left. Never throws. */
  async end(): Promise<void> {
    const store = this.store;
    this.store = undefined; // nothing is scheduled after the run
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.saving;
    await this.save(store);
  }

  /** The checkpoints noted in this process (for tests and status). */
  current(): CollectorCheckpoint[] {
    return [...this.latest.values()].map((c) => ({ ...c }));
  }

  /** Schedules a save: right away if the last was long enough ago, else when it will be. */
  private saveSoon(): void {
    if (!this.store || this.timer || this.saving || this.unsaved.size === 0) return;
    const wait = Math.max(0, this.lastSaveAt + this.saveIntervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.save();
    }, wait);
    this.timer.unref();
  }

  private save(store = this.store): Promise<void> {
    if (!store || this.unsaved.size === 0) return Promise.resolve();
    const checkpoints = [...this.unsaved].map((key) => ({ ...this.latest.get(key)! }));
    this.unsaved.clear();
    this.lastSaveAt = Date.now();
    const saving = updateCollectorState(store, this.collector, { checkpoints })
      .then(
        () => {
          if (this.failing) this.logger.info('saving checkpoints works again');
          this.failing = false;
        },
        (err: unknown) => {
          // Kept for the next save (which carries the newest of each key anyway).
          for (const c of checkpoints) this.unsaved.add(c.key);
          if (!this.failing) this.logger.warn({ err: message(err) }, 'cannot save checkpoints; retrying');
          this.failing = true;
        },
      )
      .finally(() => {
        this.saving = undefined;
        this.saveSoon(); // what was noted while this save ran
      });
    this.saving = saving;
    return saving;
  }
}
