/**
 * Collector state records, whatever the backend: checking and encoding them, and the one
 * place a change is merged into a stored record. Two writers change one collector's record
 * (the orchestrator its health, the collector its checkpoints), so updates of one collector
 * run one after another and each keeps what the other wrote.
 */
import { StorageError } from './errors.js';
import { checkKey } from './validation.js';
import type { CheckpointUpdate, CollectorCheckpoint, CollectorHealth, CollectorStateRecord, CollectorStateStore } from './types.js';

/** What one writer changes in a record; anything left out is kept as stored. */
export interface CollectorStateChange {
  state?: string;
  restarts?: number;
  lastError?: string | null;
  /** Replace the checkpoints of the same keys; other keys' checkpoints are kept. */
  checkpoints?: readonly CollectorCheckpoint[];
}

/** Throws a StorageError naming the collector unless `record` is well formed. */
export function checkRecord(record: CollectorStateRecord): void {
  const id = typeof record?.collector === 'string' ? record.collector : '';
  const bad = (what: string) => new StorageError(`bad collector state record ${JSON.stringify(id)}: ${what}`);
  if (id === '') throw bad('collector must be a non-empty string');
  if (typeof record.state !== 'string' || record.state === '') throw bad('state must be a non-empty string');
  if (!Number.isSafeInteger(record.restarts) || record.restarts < 0) throw bad('restarts must be a non-negative integer');
  if (record.lastError !== null && typeof record.lastError !== 'string') throw bad('lastError must be a string or null');
  if (!Number.isFinite(record.updatedAt)) throw bad('updatedAt must be a finite number of ms');
  if (!Array.isArray(record.checkpoints)) throw bad('checkpoints must be an array');
  for (const c of record.checkpoints) {
    if (typeof c?.key !== 'string' || c.key === '') throw bad('every checkpoint needs a key');
    if (c.lastTimestamp !== undefined && !Number.isFinite(c.lastTimestamp)) throw bad(`${c.key}: lastTimestamp must be a finite number`);
    if (c.lastTradeId !== undefined && typeof c.lastTradeId !== 'string') throw bad(`${c.key}: lastTradeId must be a string`);
  }
}

/** Throws a StorageError naming the collector unless `update` (a `storeMany` checkpoint) is well formed. */
export function checkCheckpointUpdate(update: CheckpointUpdate): void {
  const record = { collector: update?.collector, state: 'unknown', restarts: 0, lastError: null, updatedAt: 0, checkpoints: update?.checkpoints };
  checkRecord(record as CollectorStateRecord);
  // A checkpoint lives beside its series (Redis: in the series' hash slot): its key is a series key.
  for (const c of update.checkpoints) checkKey(c.key);
}

/** `stored` with `newer` put over it, key by key, ordered by key (the record's order). */
export function overlayCheckpoints(stored: readonly CollectorCheckpoint[], newer: Iterable<CollectorCheckpoint>): CollectorCheckpoint[] {
  const byKey = new Map(stored.map((c) => [c.key, cleanCheckpoint(c)]));
  for (const c of newer) byKey.set(c.key, cleanCheckpoint(c));
  return [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** A record's health part. */
export function healthOf(record: CollectorStateRecord): CollectorHealth {
  const { collector, state, restarts, lastError, updatedAt } = record;
  return { collector, state, restarts, lastError, updatedAt };
}

/** A checkpoint with only the fields it has (no `undefined` members), so records compare and serialize cleanly. */
function cleanCheckpoint(c: CollectorCheckpoint): CollectorCheckpoint {
  const out: CollectorCheckpoint = { key: c.key };
  if (c.lastTimestamp !== undefined) out.lastTimestamp = c.lastTimestamp;
  if (c.lastTradeId !== undefined) out.lastTradeId = c.lastTradeId;
  return out;
}

/** Checkpoints as the JSON text the SQLite and Redis backends store. */
export function encodeCheckpoints(checkpoints: readonly CollectorCheckpoint[]): string {
  return JSON.stringify(checkpoints.map(cleanCheckpoint));
}

/** Stored checkpoint text back as checkpoints; throws a StorageError saying where it is corrupt. */
export function decodeCheckpoints(text: string | null | undefined, where: string): CollectorCheckpoint[] {
  if (text === null || text === undefined || text === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new StorageError(`corrupt collector state ${where}: checkpoints are not JSON`);
  }
  if (!Array.isArray(parsed)) throw new StorageError(`corrupt collector state ${where}: checkpoints are not a list`);
  return parsed.map((c: Partial<CollectorCheckpoint>) => {
    if (typeof c?.key !== 'string') throw new StorageError(`corrupt collector state ${where}: a checkpoint has no key`);
    return cleanCheckpoint({
      key: c.key,
      lastTimestamp: typeof c.lastTimestamp === 'number' ? c.lastTimestamp : undefined,
      lastTradeId: typeof c.lastTradeId === 'string' ? c.lastTradeId : undefined,
    });
  });
}

/** A deep copy, so a caller's later edits never reach a stored record (and back). */
export function copyRecord(record: CollectorStateRecord): CollectorStateRecord {
  return { ...record, checkpoints: record.checkpoints.map(cleanCheckpoint) };
}

/** `previous` (or a blank record) with `change` applied and stamped `now`. */
export function applyChange(
  previous: CollectorStateRecord | undefined,
  collector: string,
  change: CollectorStateChange,
  now: number,
): CollectorStateRecord {
  return {
    collector,
    state: change.state ?? previous?.state ?? 'unknown',
    restarts: change.restarts ?? previous?.restarts ?? 0,
    lastError: change.lastError !== undefined ? change.lastError : (previous?.lastError ?? null),
    updatedAt: now,
    checkpoints: overlayCheckpoints(previous?.checkpoints ?? [], change.checkpoints ?? []),
  };
}

// Per store, per collector: the update last queued. Entries go once their update settles.
const queues = new WeakMap<CollectorStateStore, Map<string, Promise<unknown>>>();

/**
 * Loads, changes and saves one collector's record. Updates of the same store and collector
 * run one after another (in this process; one daemon writes a collector's record).
 */
export function updateCollectorState(store: CollectorStateStore, collector: string, change: CollectorStateChange): Promise<CollectorStateRecord> {
  let pending = queues.get(store);
  if (!pending) queues.set(store, (pending = new Map()));
  const queue = pending;
  const update = (queue.get(collector) ?? Promise.resolve())
    .catch(() => undefined) // the previous update's failure is its caller's to handle
    .then(async () => {
      const record = applyChange(await store.load(collector), collector, change, Date.now());
      // A health change leaves the checkpoints alone where the store can: the ones just loaded
      // may be older than what a storeMany commits meanwhile.
      if (change.checkpoints === undefined && store.saveHealth) await store.saveHealth(healthOf(record));
      else await store.save(record);
      return record;
    });
  queue.set(collector, update);
  update.then(
    () => undefined,
    () => undefined,
  ).finally(() => {
    if (queue.get(collector) === update) queue.delete(collector);
  });
  return update;
}
