import { checkRecord, copyRecord } from './collector-state.js';
import type { CollectorStateRecord, CollectorStateStore } from './types.js';

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

  async list(): Promise<CollectorStateRecord[]> {
    this.ensureOpen('collectorState.list');
    return [...this.records.keys()].sort().map((id) => copyRecord(this.records.get(id)!));
  }
}
