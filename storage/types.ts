/**
 * The DataCollectionStorage contract (../shared/STORAGE-CONTRACT.md): what every backend
 * (memory, SQLite, Redis TimeSeries, a user's own) implements and the shared suite checks.
 */

import type { z } from 'zod';
import type { Logger } from '../common/logger.js';

/** A sample value: one finite number, or a flat record of finite numbers. */
export type SampleValue = number | Readonly<Record<string, number>>;

/** One sample of one series. */
export interface Point {
  key: string;
  value: SampleValue;
  /** Integer milliseconds since the Unix epoch. */
  timestamp: number;
}

/** How a write at an occupied (key, millisecond) combines with what is there, per field. */
export type MergePolicy = 'last' | 'first' | 'min' | 'max' | 'sum';
export const MERGE_POLICIES: readonly MergePolicy[] = ['last', 'first', 'min', 'max', 'sum'];

/**
 * The field a scalar series stores its number in. A series whose only field is `value`
 * is scalar: `fetch` returns plain numbers for it.
 */
export const SCALAR_FIELD = 'value';

/** Declares a series before use: its fields and their merge policies, retention, labels. */
export interface SeriesDeclaration {
  key: string;
  /** Field name → merge policy. A scalar series declares `{ value: policy }`. */
  fields: Readonly<Record<string, MergePolicy>>;
  /** Samples older than the newest sample minus this many ms may be dropped; 0 keeps all. */
  retentionMs?: number;
  /** e.g. `{ kind: 'trades', exchange: 'binance', symbol: 'BTC-USDT' }`. */
  labels?: Readonly<Record<string, string>>;
}

export type Aggregation = 'first' | 'last' | 'min' | 'max' | 'sum' | 'avg' | 'count';
export const AGGREGATIONS: readonly Aggregation[] = ['first', 'last', 'min', 'max', 'sum', 'avg', 'count'];

/** A bucketed read: buckets start at multiples of `bucketMs` since the epoch. */
export interface FetchOptions {
  bucketMs?: number;
  aggregation?: Aggregation;
}

/** One fetched sample: `[timestamp, value]`. */
export type Sample = [timestamp: number, value: SampleValue];

/** A point `storeMany` refused, by its index in the call. */
export interface RejectedPoint {
  index: number;
  key: string;
  reason: string;
}

/** What `storeMany` did: how many points it accepted and which it refused. */
export interface StoreManyResult {
  accepted: number;
  rejected: RejectedPoint[];
}

/** A series as listed by `keys()`. */
export interface SeriesInfo {
  key: string;
  fields: Record<string, MergePolicy>;
  retentionMs: number;
  labels: Record<string, string>;
  count: number;
  first: number | null;
  last: number | null;
}

/** Counters a backend exposes for status pages. */
export interface StorageStats {
  backend: string;
  /** Samples accepted and not yet durable. */
  buffered: number;
  /** Samples written durably since open. */
  written: number;
  /** Samples the backend refused since open. */
  rejected: number;
  /** Write errors (backend unreachable, ...) since open. */
  errors: number;
  /** The latest write error while writes are failing (disk full, read-only, unreachable); null once a write succeeds. */
  lastError?: string | null;
  /** Wall-clock ms of the first failed write of the current failure; null once a write succeeds. */
  failingSince?: number | null;
  /** Samples refused because their writer's fencing token was stale (another daemon owns the unit now). */
  staleWritesRefused?: number;
}

/** Where one series' collection has reached: what a restarted collector resumes from. */
export interface CollectorCheckpoint {
  /** The series key, e.g. `trades:binance:BTC-USDT` (one collector writes several). */
  key: string;
  /** Exchange time (ms) of the newest sample stored for the key. */
  lastTimestamp?: number;
  /** The last trade id stored, as text (ids can exceed 2^53); absent where the data has no ids. */
  lastTradeId?: string;
}

/**
 * Checkpoints that commit together with samples (`storeMany(points, { checkpoint })`): the
 * collector they belong to and, per series key, where it has reached.
 */
export interface CheckpointUpdate {
  /** The collector's id, e.g. `trades:binance`. */
  collector: string;
  checkpoints: readonly CollectorCheckpoint[];
}

/** Options of one `storeMany` call. */
export interface StoreManyOptions {
  /**
   * Resume points committed atomically with the samples they vouch for: each checkpoint of key K
   * becomes durable in the same transaction (SQLite transaction, Redis MULTI/EXEC) as the last
   * sample of K accepted up to and including this call, never before it and never without it,
   * so after any crash the stored checkpoint matches the stored data exactly.
   */
  checkpoint?: CheckpointUpdate;
}

/** A collector's health as the orchestrator saves it: a record without its checkpoints. */
export type CollectorHealth = Omit<CollectorStateRecord, 'checkpoints'>;

/** One collector's health and resume points, as the daemon last saved them. */
export interface CollectorStateRecord {
  /** The collector's id, e.g. `trades:binance`. */
  collector: string;
  /** `running`, `backing-off`, `failed`, `stopped` (the orchestrator's states), or `unknown`. */
  state: string;
  /** Restarts during the daemon process that saved the record (what `/status` shows). */
  restarts: number;
  /** Why it last stopped (sanitized), or null. */
  lastError: string | null;
  /** Wall-clock ms of the save; a running daemon saves at least every few seconds. */
  updatedAt: number;
  checkpoints: CollectorCheckpoint[];
}

/** Where a collector's resume point and health survive a daemon restart. */
export interface CollectorStateStore {
  /** The record saved for `collector`, or undefined when there is none. */
  load(collector: string): Promise<CollectorStateRecord | undefined>;
  /**
   * Replaces the record of `record.collector`. Samples of its checkpoints' keys accepted before
   * the call are made durable first, so a checkpoint never gets ahead of the data it vouches for.
   */
  save(record: CollectorStateRecord): Promise<void>;
  /**
   * Replaces only the health part of a record, keeping its checkpoints as stored: checkpoints
   * committed with their samples meanwhile are never put back by a health save. Optional for a
   * store of your own (load, change and save is used instead).
   */
  saveHealth?(health: CollectorHealth): Promise<void>;
  /** Every record, ordered by collector id. */
  list(): Promise<CollectorStateRecord[]>;
}

/** The owner of a unit of work (HA): its id (the collector id) and its lease's fencing token, which only grows. */
export interface WriteFence {
  readonly unit: string;
  readonly token: number;
}

export interface DataCollectionStorage {
  /**
   * Collectors' checkpoints and health, kept beside the data so a restarted daemon resumes
   * and other processes can read them. Optional: a backend without it simply does not resume.
   */
  readonly collectorState?: CollectorStateStore;
  /** Declares (or re-declares identically) a series; a conflicting re-declaration throws. */
  declare(series: SeriesDeclaration): Promise<void>;
  /** Stores one sample; throws a StorageError naming the key when it is refused. */
  store(key: string, value: SampleValue, timestamp: number): Promise<void>;
  /**
   * Stores many samples; refused points are reported by index, the good ones are stored. With
   * `options.checkpoint`, the checkpoints commit atomically with the samples (see StoreManyOptions);
   * a backend without `collectorState` ignores them.
   */
  storeMany(points: readonly Point[], options?: StoreManyOptions): Promise<StoreManyResult>;
  /** Samples of `key` with `start ≤ t ≤ end`, ascending; `[]` for an unknown key. */
  fetch(key: string, start: number, end: number, options?: FetchOptions): Promise<Sample[]>;
  /** The series stored, with their first/last timestamps and counts. */
  keys(): Promise<SeriesInfo[]>;
  /** Resolves once every accepted sample is durable and visible to other processes. */
  flush(): Promise<void>;
  /** Flushes, then releases connections and files; later calls fail with StorageClosedError. */
  close(): Promise<void>;
  /** Counters for status pages. */
  stats(): StorageStats;
  /**
   * Shared backends only (optional). Raises the fence of each of `keys` for `fence.unit` to `fence.token`
   * (never lowers it), then returns a view of this storage whose writes — samples and the checkpoints that
   * ride with them, of any key, not only `keys` — carry `fence`: a write to a series whose fence for that unit is
   * above the view's token (another owner has fenced it since) is refused, atomically with the write, never applied,
   * counted in stats().staleWritesRefused and logged (rate limited). A write whose token is above the series' fence
   * raises it in the same atomic step. The view shares everything else with this storage (reads, flush, stats,
   * collectorState reads); its close() does not close the storage.
   */
  fenced?(fence: WriteFence, keys: readonly string[]): Promise<DataCollectionStorage>;
}

/** A storage backend kind: validates its config block and opens it. */
export interface StorageKind<Config = unknown> {
  readonly name: string;
  /** Daemons on other machines can write and read it (what several daemons of a cluster need). */
  readonly shared?: boolean;
  readonly config: z.ZodType<Config>;
  open(config: Config, context: { logger: Logger; readOnly?: boolean; configDir: string }): Promise<DataCollectionStorage>;
}
