import { checkRecord, copyRecord, overlayCheckpoints } from './collector-state.js';
import type { CheckpointUpdate, CollectorHealth, CollectorStateRecord, CollectorStateStore } from './types.js';

/** Collector state in this process's memory: survives collector restarts, not the process. */
export class MemoryCollectorStateStore implements CollectorStateStore {
  private readonly records = new Map<string, CollectorStateRecord>();

  /** `ensureOpen` throws once the owning storage is closed (the contract's "no calls after close"). */
  constructor(private readonly ensureOpen: (call: string) => void = () => undefined) {}

  async load(collector: string): Promise<CollectorStateRecord | undefined> {
    this.ensureOpen('collectorState.load');
    const record = this.records.get(collector);
    return record && copyRecord(record);
  }

  async save(record: CollectorStateRecord): Promise<void> {
    this.ensureOpen('collectorState.save');
    checkRecord(record);
    this.records.set(record.collector, copyRecord(record));
  }

  async saveHealth(health: CollectorHealth): Promise<void> {
    this.ensureOpen('collectorState.saveHealth');
    checkRecord({ ...health, checkpoints: [] });
    this.records.set(health.collector, { ...health, checkpoints: this.records.get(health.collector)?.checkpoints ?? [] });
  }

  async list(): Promise<CollectorStateRecord[]> {
    this.ensureOpen('collectorState.list');
    return [...this.records.keys()].sort().map((id) => copyRecord(this.records.get(id)!));
  }

  /** Puts a `storeMany` checkpoint over the stored ones (the samples are stored in the same call). */
  commit(update: CheckpointUpdate): void {
    const record = this.records.get(update.collector) ?? { collector: update.collector, state: 'unknown', restarts: 0, lastError: null, updatedAt: Date.now(), checkpoints: [] };
    this.records.set(update.collector, { ...record, checkpoints: overlayCheckpoints(record.checkpoints, update.checkpoints) });
  }
}
