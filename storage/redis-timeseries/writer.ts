/**
 * The one writer every caller's samples go through. Samples wait in a bounded buffer, are
 * grouped per series and written as `TS.MADD` batches, several series in flight at once.
 *
 * - One batch per series in flight at a time: batches of a series are applied in the order
 *   they were accepted, so `last`/`first` merge as the caller sent them.
 * - Each batch is a MULTI of TS.MADD and a marker (`tsack:{series}:<writer>` = batch id). When
 *   the connection drops with a batch in flight, the marker tells on retry whether it was
 *   applied, so a `sum` field is never added twice.
 * - While Redis is unreachable the batch goes back to the buffer; `storeMany` waits once the
 *   buffer is full (backpressure) and nothing is dropped.
 * - A checkpoint (`storeMany(..., { checkpoint })`) rides on its series' last queued sample and
 *   is set in the MULTI of the batch that carries that sample, in the series' checkpoint hash:
 *   it is applied exactly when its samples are. With no sample queued it goes alone, after the
 *   batches in flight.
 * - TS.MADD answers per sample: refusals are counted and logged with their key; samples older
 *   than the retention are dropped as the contract allows and counted apart.
 * - Samples written through a fenced view carry its fence; a batch holds one fence (cut where it
 *   changes) and is written by one Lua script that checks it instead of the MULTI (fence.ts). A
 *   batch refused as stale is dropped with its checkpoints, counted and logged, never retried.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../common/logger.js';
import type { SeriesSchema } from '../catalog.js';
import { StorageError } from '../errors.js';
import type { CollectorCheckpoint, MergePolicy, WriteFence } from '../types.js';
import { fromFields } from '../validation.js';
import { encodeSeriesCheckpoint } from './collector-state.js';
import { describeError, isTransient, type CredentialMask, type RedisConnection } from './connect.js';
import { StaleFenceError, writeFenced } from './fence.js';
import { ackKey, checkpointKey, checkpointSeriesKey, COLLECTOR_STATE_IDS, fenceKey, fieldKey, formatDouble } from './layout.js';
import type { SeriesSchemas } from './schema.js';

/** How long a batch marker outlives its batch; only retries within this window need it. */
const ACK_TTL_SECONDS = 86_400;
/** At most this many asynchronous refusals are kept for `rejections()`. */
const RECENT_REJECTIONS = 100;
/** A series' refusals are logged at most this often (the counters count all of them). */
const LOG_EVERY_MS = 10_000;

/** A sample TimeSeries refused after `storeMany` had accepted it. */
export interface AsyncRejection {
  key: string;
  timestamp: number;
  /** The field whose key refused it, when only some fields did. */
  field?: string;
  reason: string;
}

/** Tuning of the writer. */
export interface WriterOptions {
  client: RedisConnection;
  mask: CredentialMask;
  schemas: SeriesSchemas;
  /** The current schema of a series this process writes (from the catalog). */
  schemaOf: (key: string) => SeriesSchema;
  logger: Logger;
  /** Buffered samples are written at least this often (ms). */
  flushIntervalMs: number;
  /** Buffered samples (waiting or in flight) at which `waitForSpace` blocks callers. */
  maxBuffered: number;
  /** Samples per TS.MADD; a buffer this full is written without waiting for the interval. */
  batchSize: number;
  /** Batches (one series each) in flight at once. */
  maxInFlight: number;
  /** `flush()` gives up after this long without progress (ms); the buffer is kept. */
  flushTimeoutMs: number;
  /** PUBLISH each batch on the channel named after its series key, in the batch's MULTI. */
  publish: boolean;
}

/** Counters of the writer. */
export interface WriterStats {
  buffered: number;
  written: number;
  rejected: number;
  droppedByRetention: number;
  errors: number;
  /** Samples dropped because their fence was stale (another owner fenced the series since). */
  staleWritesRefused: number;
  connected: boolean;
  /** Why writes fail while Redis is unreachable (masked), and since when (ms); null once a batch is written. */
  lastError: string | null;
  failingSince: number | null;
}

export interface QueuedSample {
  seq: number;
  ts: number;
  fields: Record<string, number>;
  /** Set once it was re-sent after a per-sample refusal; a second refusal is final. */
  retried: boolean;
  /** Checkpoints (collector → checkpoint) to set with this sample's batch. */
  checkpoints?: Map<string, CollectorCheckpoint>;
  /** Carries checkpoints only (no sample of the series was queued when they came). */
  onlyCheckpoints?: true;
  /** The fence of the view that wrote it; undefined for the storage's own writes. */
  fence: WriteFence | undefined;
}

interface Batch {
  id: number;
  samples: QueuedSample[];
  /** Every sample's fence (a batch never mixes two). */
  fence: WriteFence | undefined;
  /** The connection dropped while it was in flight: Redis may have applied it. */
  maybeApplied: boolean;
}

/** A series' share of the buffer. Sample order is accept order (ascending seq). */
interface SeriesQueue {
  waiting: QueuedSample[];
  /** A batch that failed because Redis was away; it is re-sent first, unchanged. */
  retry?: Batch;
  sending?: Batch;
}

type Outcome =
  | { kind: 'written'; written: number; dropped: number; resend: QueuedSample[]; rejected: AsyncRejection[]; rejectedSamples: number }
  | { kind: 'refused'; reason: string }
  | { kind: 'stale'; reason: string }
  | { kind: 'unavailable'; error: unknown; maybeApplied: boolean };

interface FlushWaiter {
  /** Settled once every sample up to this seq (of `key`, or of all series) is settled. */
  target: number;
  key?: string;
  /** When it started waiting: progress is measured from here or the last batch written. */
  since: number;
  resolve: () => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * The Pub/Sub message for a written batch: `{"key":"trades:binance:BTC-USDT","samples":[[t, value], ...]}`,
 * values shaped as `fetch` returns them (a number for a scalar series, else a record). Values are
 * the samples as written: for a `sum` field each adds to what is stored at that millisecond.
 */
export function liveMessage(key: string, samples: ReadonlyArray<{ ts: number; fields: Record<string, number> }>): string {
  return JSON.stringify({ key, samples: samples.map((s) => [s.ts, fromFields(s.fields)]) });
}

/**
 * Policies whose same-millisecond samples are merged before TS.MADD. For these the result
 * does not depend on grouping, so one merged value gives bit for bit what TimeSeries computes
 * from the samples one by one, whatever the key already holds at that millisecond: `last`
 * and `first` keep one of them, and `min`/`max` (with TimeSeries' tie rule, see mergeLike)
 * pick the same one. `sum` is not merged: with a value c already stored, TimeSeries computes
 * (c + a) + b, a merged sample c + (a + b), which can differ in the last bit (0.1, 0.2, 0.3),
 * and whether c exists (an earlier batch, another writer) is not known here.
 */
const MERGED_POLICIES: ReadonlySet<MergePolicy> = new Set<MergePolicy>(['last', 'first', 'min', 'max']);

/** `incoming` merged into `held` as TimeSeries' DUPLICATE_POLICY does (generic_chunk.c: handleDuplicateSample). */
function mergeLike(policy: MergePolicy, held: number, incoming: number): number {
  switch (policy) {
    case 'first': return held;
    // On a tie TimeSeries keeps the newer value (it matters for 0 and -0).
    case 'min': return held < incoming ? held : incoming;
    case 'max': return held > incoming ? held : incoming;
    default: return incoming;
  }
}

/**
 * The TS.MADD for a batch, and for each (sample, field) in batch order the index of its
 * answer. A run of adjacent samples at one millisecond sends one value per field whose policy
 * is in MERGED_POLICIES (at its first sample's place; only adjacent ones, so every key still
 * receives its timestamps in accept order and retention refuses exactly what it would have);
 * TimeSeries' upsert into a compressed chunk costs many appends.
 */
export function buildMadd(
  key: string,
  samples: ReadonlyArray<{ ts: number; fields: Record<string, number> }>,
  policies: Readonly<Record<string, MergePolicy>>,
): { madd: string[]; answerOf: number[]; fieldKeys: string[] } {
  const madd: string[] = ['TS.MADD'];
  const answerOf: number[] = [];
  let answers = 0;
  // Each field's key once per batch, not once per sample and field.
  const keys = new Map<string, string>();
  const keyOf = (field: string): string => {
    let k = keys.get(field);
    if (k === undefined) keys.set(field, (k = fieldKey(key, field)));
    return k;
  };
  for (let i = 0; i < samples.length; ) {
    const first = samples[i]!;
    const ts = String(first.ts);
    let end = i + 1;
    while (end < samples.length && samples[end]!.ts === first.ts) end++;
    if (end === i + 1) {
      for (const field in first.fields) {
        madd.push(keyOf(field), ts, formatDouble(first.fields[field]!));
        answerOf.push(answers++);
      }
    } else {
      // Merged fields of this run: their value so far and where it goes in `madd`.
      const merged = new Map<string, { policy: MergePolicy; value: number; at: number; answer: number }>();
      for (let j = i; j < end; j++) {
        const fields = samples[j]!.fields;
        for (const field in fields) {
          const value = fields[field]!;
          const held = merged.get(field);
          if (held) {
            held.value = mergeLike(held.policy, held.value, value);
            answerOf.push(held.answer);
            continue;
          }
          const policy = Object.hasOwn(policies, field) ? policies[field]! : 'sum';
          if (MERGED_POLICIES.has(policy)) merged.set(field, { policy, value, at: madd.length + 2, answer: answers });
          madd.push(keyOf(field), ts, formatDouble(value));
          answerOf.push(answers++);
        }
      }
      for (const m of merged.values()) madd[m.at] = formatDouble(m.value);
    }
    i = end;
  }
  return { madd, answerOf, fieldKeys: [...keys.values()] };
}

/** Whether two writes carry the same fence (both none, or the same unit and token). */
export function sameFence(a: WriteFence | undefined, b: WriteFence | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.unit === b.unit && a.token === b.token);
}

/**
 * How many of a series' waiting samples the next batch takes: `batchSize`, unless that would
 * split the samples a checkpoint vouches for from it (a batch applied without its checkpoint
 * leaves the stored checkpoint behind the data). Then the batch ends at the last checkpoint
 * before the cut, or, with none there, at the first one after it (a bigger batch). It never
 * takes samples of two fences: it ends where the fence changes (a checkpoint rides with samples
 * of its own fence, see enqueueCheckpoint, so that cut separates none from theirs).
 */
export function batchCut(waiting: readonly QueuedSample[], batchSize: number): number {
  const fence = waiting[0]?.fence;
  const scan = Math.min(waiting.length, batchSize);
  for (let i = 1; i < scan; i++) if (!sameFence(waiting[i]!.fence, fence)) return i;
  if (waiting.length <= batchSize) return waiting.length;
  let after = -1;
  for (let i = batchSize; i < waiting.length; i++) {
    if (!sameFence(waiting[i]!.fence, fence)) break;
    if (waiting[i]!.checkpoints) {
      after = i;
      break;
    }
  }
  if (after < 0) return batchSize;
  for (let i = batchSize - 1; i >= 0; i--) if (waiting[i]!.checkpoints) return i + 1;
  return after + 1;
}

/** Batches, writes and retries samples; see the module comment. */
export class SampleWriter {
  /** Distinguishes this writer's batch markers from another process's. */
  readonly writerId = randomBytes(6).toString('hex');
  private readonly series = new Map<string, SeriesQueue>();
  private waitingCount = 0;
  private inFlightSamples = 0;
  private inFlightBatches = 0;
  private nextSeq = 1;
  private nextBatchId = 1;
  private draining = false;
  private timer: NodeJS.Timeout | undefined;
  private recoveryTimer: NodeJS.Timeout | undefined;
  private recoveryDelay = 50;
  private downSince: number | undefined;
  private lastError = '';
  /** First failed batch of the current outage; cleared by the next batch Redis takes. */
  private failingSince: number | undefined;
  private lastProgressAt = Date.now();
  private stopped = false;
  private flushWaiters: FlushWaiter[] = [];
  private spaceWaiters: Array<() => void> = [];
  private readonly recent: AsyncRejection[] = [];
  private readonly lastLogged = new Map<string, { at: number; suppressed: number }>();
  /** Collector and series pairs whose checkpoint is findable (see registerCheckpoints). */
  private readonly registeredCheckpoints = new Set<string>();
  private written = 0;
  private rejected = 0;
  private droppedByRetention = 0;
  private errors = 0;
  private staleWritesRefused = 0;

  constructor(private readonly options: WriterOptions) {}

  /**
   * Adds an already validated sample (its fields copied by the caller) to the buffer. The caller
   * calls `queued()` after the last sample and checkpoint of its call: nothing is sent before, so
   * a call's checkpoints are in place before its samples can be cut into batches.
   */
  enqueue(key: string, ts: number, fields: Record<string, number>, fence?: WriteFence): void {
    let queue = this.series.get(key);
    if (!queue) this.series.set(key, (queue = { waiting: [] }));
    queue.waiting.push({ seq: this.nextSeq++, ts, fields, retried: false, fence });
    this.waitingCount += 1;
  }

  /** A call's samples and checkpoints are queued: writes at once when a batch is full, else soon. */
  queued(): void {
    if (this.waitingCount >= this.options.batchSize) this.startDraining();
    else this.schedule();
  }

  /**
   * Sets `checkpoint` of `collector` for `key` in the same MULTI as the last sample of `key`
   * queued so far, or on its own after the batches before it when none is queued. A fenced
   * checkpoint rides only on a sample of its own fence (the last one is from its own call when
   * it has samples of `key`); else it goes alone, with its fence.
   */
  enqueueCheckpoint(key: string, collector: string, checkpoint: CollectorCheckpoint, fence?: WriteFence): void {
    let queue = this.series.get(key);
    if (!queue) this.series.set(key, (queue = { waiting: [] }));
    let carrier = queue.waiting[queue.waiting.length - 1];
    if (!carrier || !sameFence(carrier.fence, fence)) {
      queue.waiting.push((carrier = { seq: this.nextSeq++, ts: -1, fields: {}, retried: false, onlyCheckpoints: true, fence }));
      this.waitingCount += 1;
    }
    (carrier.checkpoints ??= new Map()).set(collector, checkpoint);
  }

  /** Resolves once the buffer has room (backpressure: callers wait, nothing is dropped). */
  async waitForSpace(): Promise<void> {
    while (!this.stopped && this.buffered() >= this.options.maxBuffered) {
      this.startDraining();
      await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
    }
  }

  /**
   * Resolves once every sample accepted so far (of `key`, or of every series) is written or
   * refused. Rejects with a StorageError when Redis makes no progress for `flushTimeoutMs`;
   * the samples stay buffered and are written when it returns.
   */
  flush(key?: string): Promise<void> {
    const target = this.nextSeq - 1;
    if (this.settledThrough(target, key)) return Promise.resolve();
    this.startDraining();
    return new Promise<void>((resolve, reject) => {
      const waiter: FlushWaiter = { target, key, since: Date.now(), resolve, reject, timer: setTimeout(() => this.expire(waiter), this.options.flushTimeoutMs) };
      this.flushWaiters.push(waiter);
    });
  }

  /** Samples waiting or in flight. */
  buffered(): number {
    return this.waitingCount + this.inFlightSamples;
  }

  stats(): WriterStats {
    return {
      buffered: this.buffered(),
      written: this.written,
      rejected: this.rejected,
      droppedByRetention: this.droppedByRetention,
      errors: this.errors,
      staleWritesRefused: this.staleWritesRefused,
      connected: this.downSince === undefined,
      lastError: this.failingSince === undefined ? null : this.lastError,
      failingSince: this.failingSince ?? null,
    };
  }

  /** The latest samples TimeSeries refused after they were accepted (newest last). */
  rejections(): AsyncRejection[] {
    return [...this.recent];
  }

  /** Stops writing (after a successful flush, at close); releases every waiter. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.recoveryTimer);
    for (const w of this.flushWaiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new StorageError('redis-timeseries storage closed before the samples were written'));
    }
    for (const release of this.spaceWaiters.splice(0)) release();
  }

  private schedule(): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.startDraining();
    }, this.options.flushIntervalMs);
  }

  /** Writes everything waiting, as fast as the in-flight bound allows. */
  private startDraining(): void {
    this.draining = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pump();
  }

  private pump(): void {
    if (this.stopped || this.downSince !== undefined) return;
    if (!this.draining) {
      if (this.waitingCount > 0) this.schedule();
      return;
    }
    const free = this.options.maxInFlight - this.inFlightBatches;
    // No slot: the next settle pumps again.
    if (free <= 0) return;
    const ready: Array<[string, SeriesQueue]> = [];
    for (const entry of this.series) {
      const q = entry[1];
      if (q.sending || (!q.retry && q.waiting.length === 0)) continue;
      ready.push(entry);
      if (ready.length === free) break;
    }
    // Collected first: moving entries while iterating the map would visit them again.
    for (const [key, queue] of ready) {
      // Round robin: a busy series goes to the back, so every series gets its turn.
      this.series.delete(key);
      this.series.set(key, queue);
      this.send(key, queue);
    }
    if (this.waitingCount === 0) this.draining = false;
  }

  private send(key: string, queue: SeriesQueue): void {
    let batch = queue.retry;
    queue.retry = undefined;
    if (!batch) {
      const samples = queue.waiting.splice(0, batchCut(queue.waiting, this.options.batchSize));
      batch = { id: this.nextBatchId++, samples, fence: samples[0]!.fence, maybeApplied: false };
    }
    queue.sending = batch;
    this.waitingCount -= batch.samples.length;
    this.inFlightSamples += batch.samples.length;
    this.inFlightBatches += 1;
    void this.write(key, batch).then((outcome) => this.settle(key, queue, batch, outcome));
  }

  /** Writes one batch; never rejects (every failure is an outcome). */
  private async write(key: string, batch: Batch): Promise<Outcome> {
    const { client, schemas } = this.options;
    let schema: SeriesSchema;
    // The batch's checkpoints, the latest of each collector.
    const checkpoints = new Map<string, CollectorCheckpoint>();
    for (const sample of batch.samples) if (sample.checkpoints) for (const [collector, c] of sample.checkpoints) checkpoints.set(collector, c);
    const samples = checkpoints.size > 0 ? batch.samples.filter((sample) => !sample.onlyCheckpoints) : batch.samples;
    try {
      if (samples.length > 0) {
        schema = this.options.schemaOf(key);
        if (!schemas.isCurrent(schema)) await schemas.ensure(schema);
      } else schema = { key, fields: {}, retentionMs: 0, labels: {}, declared: false };
      await this.registerCheckpoints(key, checkpoints.keys());
      if (batch.maybeApplied) {
        const applied = Number(await client.send(ackKey(key, this.writerId), ['GET', ackKey(key, this.writerId)]));
        if (applied >= batch.id) return { kind: 'written', written: samples.length, dropped: 0, resend: [], rejected: [], rejectedSamples: 0 };
      }
    } catch (error) {
      if (isTransient(error)) return { kind: 'unavailable', error, maybeApplied: batch.maybeApplied };
      return { kind: 'refused', reason: describeError(error, this.options.mask) };
    }
    const { madd, answerOf, fieldKeys } = buildMadd(key, samples, schema.fields);
    let reply: unknown;
    try {
      reply = batch.fence
        ? await this.applyFenced(key, batch, batch.fence, samples, checkpoints, madd, fieldKeys, (madd.length - 1) / 3)
        : await this.applyMulti(key, batch, samples, checkpoints, madd);
      if (samples.length === 0) return { kind: 'written', written: 0, dropped: 0, resend: [], rejected: [], rejectedSamples: 0 };
    } catch (error) {
      if (error instanceof StaleFenceError) return { kind: 'stale', reason: error.message };
      if (isTransient(error)) return { kind: 'unavailable', error, maybeApplied: true };
      return { kind: 'refused', reason: `TS.MADD for ${key} refused: ${describeError(error, this.options.mask)}` };
    }
    return this.readReply(key, samples, reply, answerOf);
  }

  /** Applies an unfenced batch as one MULTI; resolves to TS.MADD's reply. */
  private async applyMulti(key: string, batch: Batch, samples: readonly QueuedSample[], checkpoints: ReadonlyMap<string, CollectorCheckpoint>, madd: string[]): Promise<unknown> {
    // One slot: the field keys, the marker and the checkpoint hash share the series' hash tag,
    // and PUBLISH has no key (a cluster forwards it to subscribers on every node).
    const multi = this.options.client.multi(ackKey(key, this.writerId));
    if (samples.length > 0) multi.add(madd);
    multi.add(['SET', ackKey(key, this.writerId), String(batch.id), 'EX', String(ACK_TTL_SECONDS)]);
    for (const [collector, c] of checkpoints) multi.add(['HSET', checkpointKey(key), collector, encodeSeriesCheckpoint(c)]);
    // In the same MULTI: subscribers hear of a batch exactly when it is applied, once.
    if (this.options.publish && samples.length > 0) multi.add(['PUBLISH', key, liveMessage(key, samples)]);
    return (await multi.exec())[0];
  }

  /**
   * Applies a fenced batch as one script that checks the fence first (fence.ts): the same
   * commands as applyMulti, or none. Rejects with a StaleFenceError when the fence is stale.
   */
  private applyFenced(
    key: string,
    batch: Batch,
    fence: WriteFence,
    samples: readonly QueuedSample[],
    checkpoints: ReadonlyMap<string, CollectorCheckpoint>,
    madd: string[],
    fieldKeys: readonly string[],
    answers: number,
  ): Promise<unknown> {
    return writeFenced(this.options.client, {
      series: key,
      fence,
      fenceKey: fenceKey(key),
      ackKey: ackKey(key, this.writerId),
      batchId: batch.id,
      ackTtlSeconds: ACK_TTL_SECONDS,
      checkpointKey: checkpointKey(key),
      checkpoints: [...checkpoints].map(([collector, c]) => [collector, encodeSeriesCheckpoint(c)]),
      fieldKeys,
      madd: samples.length > 0 ? madd : [],
      answers,
      publish: this.options.publish && samples.length > 0 ? liveMessage(key, samples) : undefined,
    });
  }

  /**
   * Makes the collector's checkpoint of `key` findable (the collector's set of series keys, and
   * the collector ids), before the first MULTI that sets it; once per process.
   */
  private async registerCheckpoints(key: string, collectors: Iterable<string>): Promise<void> {
    for (const collector of collectors) {
      const id = `${collector}\u0000${key}`;
      if (this.registeredCheckpoints.has(id)) continue;
      const seriesSet = checkpointSeriesKey(collector);
      await this.options.client.send(seriesSet, ['SADD', seriesSet, key]);
      await this.options.client.send(COLLECTOR_STATE_IDS, ['SADD', COLLECTOR_STATE_IDS, collector]);
      this.registeredCheckpoints.add(id);
    }
  }

  /**
   * Sorts TS.MADD's answers into written, dropped by retention, to re-send, refused, per
   * sample as accepted: `answerOf` maps each (sample, field) to its answer, which a sample
   * merged into its neighbours shares with them (see buildMadd).
   */
  private readReply(key: string, samples: readonly QueuedSample[], reply: unknown, answerOf: readonly number[]): Outcome {
    const elements = Array.isArray(reply) ? reply : [];
    const outcome = { kind: 'written' as const, written: 0, dropped: 0, resend: [] as QueuedSample[], rejected: [] as AsyncRejection[], rejectedSamples: 0 };
    let i = 0;
    for (const sample of samples) {
      let pastRetention = false;
      const failed: Array<[string, string]> = [];
      for (const field in sample.fields) {
        const answer = elements[answerOf[i++]!];
        if (!(answer instanceof Error)) continue;
        if (/older than retention/i.test(answer.message)) pastRetention = true;
        else failed.push([field, describeError(answer, this.options.mask)]);
      }
      if (failed.length === 0) {
        if (pastRetention) outcome.dropped += 1;
        else outcome.written += 1;
      } else if (!sample.retried) {
        // The key may have vanished (FLUSHALL, a restart without persistence): re-create
        // and re-send only the fields that failed, once.
        const fields = Object.fromEntries(failed.map(([f]) => [f, sample.fields[f]!]));
        outcome.resend.push({ seq: sample.seq, ts: sample.ts, fields, retried: true, fence: sample.fence });
      } else {
        outcome.rejectedSamples += 1;
        for (const [field, reason] of failed) {
          outcome.rejected.push({ key, field, timestamp: sample.ts, reason: `${fieldKey(key, field)} refused the sample at ${sample.ts}: ${reason}` });
        }
      }
    }
    return outcome;
  }

  private settle(key: string, queue: SeriesQueue, batch: Batch, outcome: Outcome): void {
    queue.sending = undefined;
    this.inFlightSamples -= batch.samples.length;
    this.inFlightBatches -= 1;
    if (outcome.kind === 'unavailable') {
      queue.retry = { ...batch, maybeApplied: batch.maybeApplied || outcome.maybeApplied };
      this.waitingCount += batch.samples.length;
      this.errors += 1;
      this.failingSince ??= Date.now();
      this.goDown(outcome.error);
    } else {
      this.failingSince = undefined;
      this.lastProgressAt = Date.now();
      this.recoveryDelay = 50;
      if (outcome.kind === 'refused') {
        this.reject(batch.samples.map((s) => ({ key, timestamp: s.ts, reason: outcome.reason })), batch.samples.length);
      } else if (outcome.kind === 'stale') {
        this.refuseStale(key, batch, outcome.reason);
      } else {
        this.written += outcome.written;
        this.droppedByRetention += outcome.dropped;
        if (outcome.rejectedSamples) this.reject(outcome.rejected, outcome.rejectedSamples);
        if (outcome.resend.length) {
          this.options.schemas.forget(key, Object.keys(this.options.schemaOf(key).fields));
          queue.waiting.unshift(...outcome.resend);
          this.waitingCount += outcome.resend.length;
          this.draining = true;
        }
      }
    }
    if (!queue.sending && !queue.retry && queue.waiting.length === 0) this.series.delete(key);
    this.checkFlushWaiters();
    this.releaseSpace();
    this.pump();
  }

  /** Counts refused samples, keeps the latest for `rejections()`, and logs them (rate-limited per series). */
  private reject(rejections: AsyncRejection[], samples: number): void {
    this.rejected += samples;
    this.recent.push(...rejections);
    if (this.recent.length > RECENT_REJECTIONS) this.recent.splice(0, this.recent.length - RECENT_REJECTIONS);
    const first = rejections[0]!;
    const suppressed = this.suppressedLog(first.key, samples);
    if (suppressed === undefined) return;
    this.options.logger.warn(
      { key: first.key, field: first.field, timestamp: first.timestamp, samples, suppressedSinceLastLog: suppressed, reason: first.reason },
      `Redis TimeSeries refused ${samples} sample(s) of ${first.key}; counted in stats().rejected`,
    );
  }

  /**
   * Drops a batch whose fence is stale: another owner has fenced the series since, so neither
   * its samples nor its checkpoints may land (the script applied nothing); counted and logged.
   */
  private refuseStale(key: string, batch: Batch, reason: string): void {
    let samples = 0;
    for (const s of batch.samples) if (!s.onlyCheckpoints) samples += 1;
    this.staleWritesRefused += samples;
    const suppressed = this.suppressedLog(`stale\u0000${key}`, samples);
    if (suppressed === undefined) return;
    this.options.logger.warn(
      { key, unit: batch.fence?.unit, token: batch.fence?.token, samples, suppressedSinceLastLog: suppressed, reason },
      `refused a stale write of ${samples} sample(s) of ${key} (another owner has fenced it since); counted in stats().staleWritesRefused`,
    );
  }

  /**
   * Rate limit of a warning about `id`: undefined when one was logged within LOG_EVERY_MS (the
   * `samples` are added to what the next one reports), else the samples suppressed since the last.
   */
  private suppressedLog(id: string, samples: number): number | undefined {
    const log = this.lastLogged.get(id);
    const now = Date.now();
    if (log && now - log.at < LOG_EVERY_MS) {
      log.suppressed += samples;
      return undefined;
    }
    this.lastLogged.set(id, { at: now, suppressed: 0 });
    return log?.suppressed ?? 0;
  }

  /** Redis is away: stop sending, keep everything buffered, and watch for its return. */
  private goDown(error: unknown): void {
    this.lastError = describeError(error, this.options.mask);
    if (this.downSince !== undefined) return;
    this.downSince = Date.now();
    this.options.logger.warn(
      { url: this.options.mask.maskedUrl, buffered: this.buffered(), err: this.lastError },
      'Redis unreachable; samples stay buffered and are written when it returns',
    );
    this.watchForRecovery();
  }

  private watchForRecovery(): void {
    if (this.stopped) return;
    this.recoveryTimer = setTimeout(() => {
      // node-redis reconnects on its own; resume once it is ready. A "try again" refusal
      // (LOADING, OOM) leaves the client ready: the backoff keeps retries apart.
      if (!this.options.client.isReady) return this.watchForRecovery();
      const downFor = Date.now() - this.downSince!;
      this.downSince = undefined;
      this.options.logger.info({ url: this.options.mask.maskedUrl, buffered: this.buffered(), downForMs: downFor }, 'Redis is back; writing buffered samples');
      this.recoveryDelay = Math.min(this.recoveryDelay * 2, 2000);
      this.startDraining();
    }, this.recoveryDelay);
  }

  /** The oldest seq of `key` (or of any series) not yet written or refused; Infinity when none. */
  private oldestPending(key?: string): number {
    const oldest = (q: SeriesQueue) => Math.min(q.sending?.samples[0]?.seq ?? Infinity, q.retry?.samples[0]?.seq ?? Infinity, q.waiting[0]?.seq ?? Infinity);
    if (key !== undefined) {
      const q = this.series.get(key);
      return q ? oldest(q) : Infinity;
    }
    let min = Infinity;
    for (const q of this.series.values()) min = Math.min(min, oldest(q));
    return min;
  }

  private settledThrough(target: number, key?: string): boolean {
    return this.oldestPending(key) > target;
  }

  private checkFlushWaiters(): void {
    if (this.flushWaiters.length === 0) return;
    const globalOldest = this.oldestPending();
    this.flushWaiters = this.flushWaiters.filter((w) => {
      const oldest = w.key === undefined ? globalOldest : this.oldestPending(w.key);
      if (oldest <= w.target) return true;
      clearTimeout(w.timer);
      w.resolve();
      return false;
    });
  }

  /** A flush waiter's time is up: fail it unless batches were written within the timeout. */
  private expire(waiter: FlushWaiter): void {
    const { flushTimeoutMs } = this.options;
    const idleFor = Date.now() - Math.max(this.lastProgressAt, waiter.since);
    if (idleFor < flushTimeoutMs) {
      waiter.timer = setTimeout(() => this.expire(waiter), flushTimeoutMs - idleFor);
      return;
    }
    this.flushWaiters = this.flushWaiters.filter((w) => w !== waiter);
    const why = this.downSince !== undefined ? `it has been unreachable for ${Date.now() - this.downSince} ms (${this.lastError})` : `it has not answered for ${idleFor} ms`;
    waiter.reject(
      new StorageError(
        `cannot flush${waiter.key ? ` ${waiter.key}` : ''} to Redis at ${this.options.mask.maskedUrl}: ${why}; ` +
          `${this.buffered()} sample(s) stay buffered and are written when it returns`,
        waiter.key,
      ),
    );
  }

  private releaseSpace(): void {
    if (this.buffered() >= this.options.maxBuffered || this.spaceWaiters.length === 0) return;
    for (const release of this.spaceWaiters.splice(0)) release();
  }
}
