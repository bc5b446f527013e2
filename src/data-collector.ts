import { setTimeout as sleep } from 'node:timers/promises';
import type { DataSourceCollector, DropCounts } from '../collectors/types.js';
import { updateCollectorState } from '../storage/collector-state.js';
import type { DataCollectionStorage, StorageStats } from '../storage/types.js';
import { backoffDelay, DEFAULT_RESTART_POLICY, type RestartPolicy } from './backoff.js';
import { silentLogger, type Logger } from '../common/logger.js';
import { sanitizeError } from '../common/sanitize.js';
import { VERSION } from './version.js';
import type { ClusterStatus } from './cluster/status.js';
import { ProcessFiguresSampler, type ProcessFigures } from './process-figures.js';

/**
 * `standby`: configured, but run by another daemon of the cluster (or not yet assigned); see
 * src/cluster/. The other states are this daemon's own runs.
 */
export type CollectorState = 'running' | 'backing-off' | 'failed' | 'stopped' | 'standby';

/** One collector as `/status` shows it. */
export interface CollectorStatus {
  id: string;
  kind: string;
  keys: string[];
  state: CollectorState;
  restarts: number;
  /** Why it last stopped: sanitized (first line, no stack, secrets masked). */
  lastError: string | null;
  lastErrorAt: string | null;
  nextRestartAt: string | null;
  /**
   * Since when it has been failing (ISO): set when a run ends in error, cleared once a run
   * stores data again; null while it delivers. `/health` is degraded once this passes its grace.
   */
  failingSince: string | null;
  /** Wall-clock time data last arrived (heartbeats do not count). */
  lastDataAt: string | null;
  /** Exchange time of the newest data stored. */
  lastDataTime: string | null;
  itemsStored: number;
  /** Trades fetched over REST to fill gaps since start. */
  tradesBackfilled: number;
  /** Gaps that could not be filled (stored as gap records) since start. */
  gaps: number;
  /** Order books found inconsistent (checksum, sequence) and resynchronized since start. */
  resyncs: number;
  /** Chain reorganizations repaired since start (DEX pools); 0 for other collectors. */
  reorgs: number;
  /** Why the collector runs without collecting (exchange maintenance, unreachable), or null. */
  degraded: string | null;
  /**
   * What it dropped since start, by reason: frames it could not read (`unparsed`), over the size
   * limit (`oversized`) or binary (`binary`); records with impossible values (`invalid`) and trade
   * ids already stored (`duplicate`).
   */
  dropped: DropCounts;
  /** Series it cannot collect now (symbol not listed, refused at subscribe), each retried slowly; its other series go on. */
  failedSeries: FailedSeriesStatus[];
  /** Trades dropped because their id lay far outside the symbol's sequence and nothing confirmed it. */
  tradeIdOutliers: number;
  /** Items stored per second over the last ~10 s. */
  itemsPerSecond: number;
  staleAfterMs: number | null;
  /** WebSocket connections it has open and HTTP requests it has in flight, now. */
  connections: number;
  /** Records it received and holds, not yet handed to storage (a writer's queue, trades held behind a backfill), now. */
  bufferedFrames: number;
  /**
   * Stopped by an operator (`collector stop`, POST /collectors/<id>/stop): `state` is `stopped`,
   * it stays stopped across reloads until started, and health does not count it.
   */
  stoppedByOperator: boolean;
}

/** One series a collector cannot collect now. */
export interface FailedSeriesStatus {
  key: string;
  symbol: string;
  state: 'failed';
  /** The exchange's reason: sanitized like `lastError`. */
  reason: string;
  since: string;
  nextRetryAt: string;
}

/** The whole service as `/status` shows it. */
export interface ServiceStatus {
  service: 'quoting-collector';
  version: string;
  state: 'starting' | 'running' | 'stopping' | 'stopped';
  startedAt: string;
  uptimeSeconds: number;
  /** The backend's counters, plus samples written per second over the last ~10 s. */
  storage: StorageStatus;
  collectors: CollectorStatus[];
  /** The process's CPU, memory, event-loop lag, descriptors and sockets. */
  process: ProcessFigures;
  /** With `cluster` configured: members, units and their owners, takeovers (src/cluster/). */
  cluster?: ClusterStatus;
  /** The daemon's config file and its reloads (absent for a DataCollector used as a library). */
  config?: ConfigStatus;
}

/** The config a daemon runs and how its reloads (`SIGHUP`, `collector reload`) went. */
export interface ConfigStatus {
  file: string;
  /** When the running config was loaded: at start, or by the last reload applied (ISO). */
  loadedAt: string;
  reloads: { applied: number; refused: number };
  /** The last reload: what it changed, or why it was refused (the refusal's message, as `collector validate` prints it). */
  lastReload: { at: string; result: 'applied' | 'refused'; message: string } | null;
}

/**
 * The storage as `/status` shows it: the backend's counters (`buffered` is the backlog), its last
 * write error (sanitized) and since when writes have been failing (ISO; null while they succeed).
 */
export type StorageStatus = Omit<StorageStats, 'lastError' | 'failingSince'> & {
  lastError: string | null;
  failingSince: string | null;
  writtenPerSecond: number;
};

export interface DataCollectorOptions {
  restart?: Partial<RestartPolicy>;
  /** How often the silence watchdog and the rate meter look (ms). */
  watchdogIntervalMs?: number;
  /** How long to wait for an aborted collector to return before abandoning it (ms). */
  abandonAfterMs?: number;
  /**
   * With a storage that keeps collector state: how often a running collector's record is saved
   * even when nothing changed (ms), so its `updatedAt` tells readers the daemon is alive.
   */
  stateSaveIntervalMs?: number;
  logger?: Logger;
  /**
   * Collectors start only when told (`startCollector`), each with its own storage view: a cluster
   * coordinator runs the units this daemon holds the lease of. Until then they are `standby`.
   */
  managed?: boolean;
}

const RATE_WINDOW_MS = 10_000;
const STATE_SAVE_INTERVAL_MS = 5_000;

interface Supervised {
  collector: DataSourceCollector;
  state: CollectorState;
  restarts: number;
  /** Consecutive failures since the last clean run: the backoff step. */
  attempt: number;
  lastError?: string;
  lastErrorAt?: number;
  nextRestartAt?: number;
  runStartedAt: number;
  run?: AbortController;
  /** When its current streak of failed runs began; cleared once a run stores data. */
  failingSince?: number;
  /** Set by the watchdog when it restarts a silent collector. */
  staleReason?: string;
  /** (time, itemsStored) snapshots for items/s. */
  rate: Array<[number, number]>;
  /** When its state record was last saved (wall-clock ms). */
  stateSavedAt: number;
  /** Where its runs write: the daemon's storage, or a fenced view of it (cluster). */
  storage: DataCollectionStorage;
  /** Aborted to stop this collector alone (cluster: the unit moves elsewhere). */
  active?: AbortController;
  /** Its supervision loop while it is started. */
  loop?: Promise<void>;
  /** Stopped by an operator: not started again (reload, start) until an operator starts it. */
  stoppedByOperator: boolean;
  /** An operator asked for a new run: resolved once the current run (or backoff) has ended and the next begins. */
  restartRequested?: () => void;
  /** Aborted to cut a backoff short (an operator's restart). */
  wake?: AbortController;
}

/**
 * The orchestrator: runs every collector in parallel, restarts one that fails or returns
 * (capped exponential backoff with jitter), restarts one that went silent, and shuts
 * everything down cleanly: abort, flush, close.
 */
export class DataCollector {
  private readonly supervised: Supervised[];
  private policy: RestartPolicy;
  private readonly logger: Logger;
  private readonly main = new AbortController();
  private readonly watchdogIntervalMs: number;
  private readonly abandonAfterMs: number;
  private readonly stateSaveIntervalMs: number;
  /** Collectors start only when told (see DataCollectorOptions.managed). */
  private readonly managed: boolean;
  /** State saves in flight; shutdown waits for them before closing the storage. */
  private readonly stateSaves = new Set<Promise<void>>();
  private stateSaveFailing = false;
  private watchdog?: NodeJS.Timeout;
  private startedAt = Date.now();
  private state: ServiceStatus['state'] = 'starting';
  /** (time, samples written) snapshots of the storage, for its write rate. */
  private readonly storageRate: Array<[number, number]> = [];
  private stopped?: Promise<void>;
  /** Sampled from start to shutdown: the daemon's own resource use. */
  private readonly processFigures = new ProcessFiguresSampler();

  constructor(
    collectors: readonly DataSourceCollector[],
    private readonly storage: DataCollectionStorage,
    options: DataCollectorOptions = {},
  ) {
    const ids = new Set<string>();
    for (const c of collectors) {
      if (ids.has(c.id)) throw new Error(`two collectors have the id ${c.id}`);
      ids.add(c.id);
    }
    this.managed = options.managed ?? false;
    this.supervised = collectors.map((collector) => this.entry(collector, false));
    this.policy = { ...DEFAULT_RESTART_POLICY, ...options.restart };
    this.logger = options.logger ?? silentLogger;
    this.watchdogIntervalMs = options.watchdogIntervalMs ?? 1_000;
    this.abandonAfterMs = options.abandonAfterMs ?? 5_000;
    this.stateSaveIntervalMs = options.stateSaveIntervalMs ?? STATE_SAVE_INTERVAL_MS;
  }

  private entry(collector: DataSourceCollector, stoppedByOperator: boolean): Supervised {
    return {
      collector,
      storage: this.storage,
      state: this.managed && !stoppedByOperator ? 'standby' : 'stopped',
      restarts: 0,
      attempt: 0,
      runStartedAt: 0,
      rate: [],
      stateSavedAt: 0,
      stoppedByOperator,
    };
  }

  /** The restart policy for backoffs from now on (a reloaded config). */
  setRestartPolicy(restart: Partial<RestartPolicy>): void {
    this.policy = { ...DEFAULT_RESTART_POLICY, ...restart };
  }

  /** The collectors it supervises, started or not. */
  get collectors(): DataSourceCollector[] {
    return this.supervised.map((s) => s.collector);
  }

  /** Starts every collector and the watchdog. */
  start(): void {
    if (this.state !== 'starting') throw new Error(`DataCollector.start() called twice`);
    this.startedAt = Date.now();
    this.state = 'running';
    this.processFigures.start();
    if (!this.managed) for (const s of this.supervised) if (!s.stoppedByOperator) this.launch(s, this.storage);
    this.watchdog = setInterval(() => this.tick(), this.watchdogIntervalMs);
    this.watchdog.unref();
    if (!this.managed) this.logger.info({ collectors: this.supervised.map((s) => s.collector.id) }, 'collectors started');
  }

  /** Starts collector `id` writing into `storage` (default: the daemon's); no-op when it runs. */
  startCollector(id: string, storage: DataCollectionStorage = this.storage): void {
    if (this.state !== 'running') throw new Error(`cannot start ${id}: the service is ${this.state}`);
    const s = this.supervisedById(id);
    if (s.loop) return;
    this.launch(s, storage);
    this.logger.info({ collector: id }, 'collector started');
  }

  /**
   * Stops collector `id` alone: aborts its run and waits for it to end (what it received is
   * written first, as at shutdown). It is `standby` afterwards when managed, else `stopped`.
   */
  async stopCollector(id: string): Promise<void> {
    const s = this.supervisedById(id);
    if (!s.loop) return;
    s.active?.abort(new Error('stopped'));
    await s.loop;
    s.loop = undefined;
    s.active = undefined;
    s.storage = this.storage;
    if (this.managed && s.state === 'stopped') s.state = 'standby';
  }

  /**
   * Adds a collector (a reloaded config's new one) and starts it unless the service is not
   * running yet, it is managed (a cluster starts it) or `stoppedByOperator`.
   */
  addCollector(collector: DataSourceCollector, options: { stoppedByOperator?: boolean } = {}): void {
    if (this.supervised.some((s) => s.collector.id === collector.id)) throw new Error(`two collectors have the id ${collector.id}`);
    const s = this.entry(collector, options.stoppedByOperator ?? false);
    this.supervised.push(s);
    if (this.state === 'running' && !this.managed && !s.stoppedByOperator) {
      this.launch(s, this.storage);
      this.logger.info({ collector: collector.id }, 'collector started');
    }
  }

  /** Stops collector `id` as at shutdown (what it received is durable, checkpoints and final state saved) and forgets it. */
  async removeCollector(id: string): Promise<void> {
    const s = this.supervisedById(id);
    await this.stopCollector(id);
    this.supervised.splice(this.supervised.indexOf(s), 1);
    await this.persistAfterStop(id);
    this.logger.info({ collector: id }, 'collector removed');
  }

  /**
   * Puts `next` in the place of the collector with its id (a reloaded config changed what or
   * how it collects): the old one stops as at shutdown, then the new one starts, unless an
   * operator stopped the old one (the new one stays stopped) or a cluster starts it.
   */
  async replaceCollector(next: DataSourceCollector): Promise<void> {
    const s = this.supervisedById(next.id);
    await this.stopCollector(next.id);
    // Durable first: the new one reads the checkpoints the old one left.
    await this.persistAfterStop(next.id);
    const fresh = this.entry(next, s.stoppedByOperator);
    this.supervised[this.supervised.indexOf(s)] = fresh;
    if (this.state === 'running' && !this.managed && !fresh.stoppedByOperator) this.launch(fresh, this.storage);
    this.logger.info({ collector: next.id, started: fresh.loop !== undefined }, 'collector replaced');
  }

  /**
   * Stops collector `id` for an operator: like shutdown for this one collector (its data and
   * checkpoints are made durable), `stopped` with `stoppedByOperator` until `startByOperator`.
   */
  async stopByOperator(id: string): Promise<void> {
    const s = this.supervisedById(id);
    s.stoppedByOperator = true;
    if (s.loop) await this.stopCollector(id);
    if (s.state !== 'stopped') {
      // It had given up (`failed`): its loop had already ended.
      s.state = 'stopped';
      this.saveState(s);
    }
    await this.persistAfterStop(id);
    this.logger.info({ collector: id }, 'collector stopped by operator');
  }

  /** Starts collector `id` for an operator: one stopped by an operator, or one that gave up (`failed`); no-op when it runs. */
  startByOperator(id: string): void {
    if (this.state !== 'running') throw new Error(`cannot start ${id}: the service is ${this.state}`);
    const s = this.supervisedById(id);
    s.stoppedByOperator = false;
    if (s.loop && s.state !== 'failed') return;
    this.relaunch(s);
    this.logger.info({ collector: id }, 'collector started by operator');
  }

  /**
   * Ends collector `id`'s current run (or backoff) and starts a new run at once; neither counts
   * as a failure (no restart counted, no backoff). A stopped or failed collector is started.
   * Resolves once the new run has begun.
   */
  async restartCollector(id: string): Promise<void> {
    if (this.state !== 'running') throw new Error(`cannot restart ${id}: the service is ${this.state}`);
    const s = this.supervisedById(id);
    if (!s.loop || s.state === 'failed') {
      if (this.managed && !s.loop) throw new Error(`${id} is not run by this daemon (standby): the cluster runs it elsewhere`);
      s.stoppedByOperator = false;
      this.relaunch(s);
    } else {
      await new Promise<void>((resolve) => {
        s.restartRequested = resolve;
        s.wake?.abort();
        s.run?.abort(new Error('restarted by operator'));
      });
    }
    this.logger.info({ collector: id }, 'collector restarted by operator');
  }

  /** Waits for the collector state saves in flight, then flushes the storage: what was stored is durable. */
  async persist(): Promise<void> {
    await Promise.all(this.stateSaves);
    await this.storage.flush();
  }

  /** `persist()` after a collector stopped: a storage failing now keeps the data in its backlog, retried; said in the log. */
  private async persistAfterStop(id: string): Promise<void> {
    try {
      await this.persist();
    } catch (err) {
      this.logger.warn({ collector: id, err: sanitizeError(err) }, 'collector stopped; flushing the storage failed, its data waits in the backlog');
    }
  }

  private relaunch(s: Supervised): void {
    // A managed collector that gave up keeps the storage view (fence) its unit was started with.
    this.launch(s, this.managed ? s.storage : this.storage);
  }

  private supervisedById(id: string): Supervised {
    const s = this.supervised.find((x) => x.collector.id === id);
    if (!s) throw new Error(`no collector ${JSON.stringify(id)}`);
    return s;
  }

  private launch(s: Supervised, storage: DataCollectionStorage): void {
    // Managed: another daemon may have run it since this one did.
    if (this.managed) s.collector.forgetProgress?.();
    s.storage = storage;
    s.wake = undefined;
    s.active = new AbortController();
    s.attempt = 0;
    s.loop = this.supervise(s, s.active.signal);
  }

  /**
   * Aborts every collector, waits for them (at most `timeoutMs` in all), saves their final
   * state records, then flushes and closes the storage. Resolves true when everything
   * finished in time.
   */
  stop(timeoutMs = 10_000): Promise<boolean> {
    this.stopped ??= this.shutdown();
    return Promise.race([
      this.stopped.then(() => true),
      sleep(timeoutMs, false, { ref: false }),
    ]);
  }

  private async shutdown(): Promise<void> {
    this.state = 'stopping';
    clearInterval(this.watchdog);
    this.processFigures.stop();
    this.main.abort(new Error('shutting down'));
    await Promise.all(this.supervised.map((s) => s.loop));
    try {
      // Each loop saved its collector's final state as it ended; those saves need the storage open.
      await this.persist();
    } finally {
      await this.storage.close();
      this.state = 'stopped';
      this.logger.info('collectors stopped, storage flushed and closed');
    }
  }

  /** Service uptime and the state of every collector. */
  status(): ServiceStatus {
    const now = Date.now();
    const { lastError, failingSince, ...storageStats } = this.storage.stats();
    return {
      service: 'quoting-collector',
      version: VERSION,
      state: this.state,
      startedAt: new Date(this.startedAt).toISOString(),
      uptimeSeconds: Math.round((now - this.startedAt) / 1000),
      storage: {
        ...storageStats,
        lastError: lastError ? sanitizeError(lastError) : null,
        failingSince: iso(failingSince ?? undefined),
        writtenPerSecond: itemsPerSecond(this.storageRate, now, storageStats.written),
      },
      collectors: this.supervised.map((s) => this.collectorStatus(s, now)),
      process: this.processFigures.current(now),
    };
  }

  private collectorStatus(s: Supervised, now: number): CollectorStatus {
    const p = s.collector.progress;
    return {
      id: s.collector.id,
      kind: s.collector.kind,
      keys: [...s.collector.keys],
      state: s.state,
      restarts: s.restarts,
      lastError: s.lastError ?? null,
      lastErrorAt: iso(s.lastErrorAt),
      nextRestartAt: s.state === 'backing-off' ? iso(s.nextRestartAt) : null,
      failingSince: deliversAgain(s) ? null : iso(s.failingSince),
      lastDataAt: iso(p.lastDataAt),
      lastDataTime: iso(p.lastDataTime),
      itemsStored: p.itemsStored,
      tradesBackfilled: p.tradesBackfilled,
      gaps: p.gaps,
      resyncs: p.resyncs,
      reorgs: p.reorgs,
      degraded: p.degraded ?? null,
      dropped: { ...p.dropped },
      failedSeries: p.failures.list().map((f) => ({
        key: f.key,
        symbol: f.symbol,
        state: 'failed',
        reason: sanitizeError(f.reason),
        since: new Date(f.since).toISOString(),
        nextRetryAt: new Date(f.nextRetryAt).toISOString(),
      })),
      tradeIdOutliers: p.tradeIdOutliers,
      itemsPerSecond: itemsPerSecond(s.rate, now, p.itemsStored),
      staleAfterMs: s.collector.staleAfterMs ?? null,
      connections: p.connections,
      bufferedFrames: p.bufferedFrames,
      stoppedByOperator: s.stoppedByOperator,
    };
  }

  private async supervise(s: Supervised, active: AbortSignal): Promise<void> {
    const { collector } = s;
    const log = this.logger.child({ collector: collector.id });
    const stopping = AbortSignal.any([this.main.signal, active]);
    while (!stopping.aborted) {
      const run = new AbortController();
      s.run = run;
      s.staleReason = undefined;
      s.state = 'running';
      s.runStartedAt = Date.now();
      this.saveState(s);
      const signal = AbortSignal.any([stopping, run.signal]);
      let reason: string;
      try {
        await this.settle(Promise.resolve().then(() => collector.run(s.storage, signal)), signal);
        reason = 'returned on its own';
      } catch (err) {
        reason = sanitizeError(err);
      }
      if (stopping.aborted) break;
      if (this.restartAsked(s)) continue;
      reason = s.staleReason ?? reason;
      const now = Date.now();
      if (now - s.runStartedAt >= this.policy.resetAfterMs) s.attempt = 0;
      s.lastError = reason;
      s.lastErrorAt = now;
      if (deliversAgain(s)) s.failingSince = undefined; // the run that just ended had stored data
      s.failingSince ??= now;
      if (this.policy.maxRestarts !== undefined && s.restarts >= this.policy.maxRestarts) {
        s.state = 'failed';
        this.saveState(s);
        log.error({ reason, restarts: s.restarts }, 'collector failed: restart limit reached');
        return;
      }
      const delay = backoffDelay(this.policy, s.attempt++);
      s.restarts += 1;
      s.state = 'backing-off';
      s.nextRestartAt = now + delay;
      this.saveState(s);
      log.warn({ reason, restartInMs: delay, restarts: s.restarts }, 'collector stopped; restarting after backoff');
      s.wake = new AbortController();
      try {
        await sleep(delay, undefined, { signal: AbortSignal.any([stopping, s.wake.signal]) });
      } catch {
        if (!stopping.aborted && this.restartAsked(s)) continue;
        break; // shutting down, or stopped alone
      }
    }
    s.restartRequested?.(); // nothing left to restart: shutting down, or stopped alone
    s.restartRequested = undefined;
    s.state = 'stopped';
    // A unit moving to another daemon: its new owner saves the record from now on.
    if (!(this.managed && active.aborted && !this.main.signal.aborted)) this.saveState(s);
  }

  /** An operator's restart ended the run or backoff: the next run starts at once, with nothing counted as a failure. */
  private restartAsked(s: Supervised): boolean {
    const resolve = s.restartRequested;
    if (!resolve) return false;
    s.restartRequested = undefined;
    s.attempt = 0;
    resolve();
    return true;
  }

  /**
   * Saves a collector's state, restarts and last error to the storage's collector state (if it
   * keeps one), in the background: a failure is logged once, never fatal. `restarts` is this
   * process's count, as in `/status`; a restarted daemon starts again from 0.
   */
  private saveState(s: Supervised): void {
    const store = this.storage.collectorState;
    if (!store) return;
    s.stateSavedAt = Date.now();
    const saving = updateCollectorState(store, s.collector.id, { state: s.state, restarts: s.restarts, lastError: s.lastError ?? null }).then(
      () => {
        if (this.stateSaveFailing) this.logger.info('saving collector state works again');
        this.stateSaveFailing = false;
      },
      (err: unknown) => {
        if (!this.stateSaveFailing) this.logger.warn({ collector: s.collector.id, err: sanitizeError(err) }, 'cannot save collector state; retrying');
        this.stateSaveFailing = true;
      },
    );
    this.stateSaves.add(saving);
    void saving.finally(() => this.stateSaves.delete(saving));
  }

  /** Waits for a run; once it is aborted, waits at most `abandonAfterMs` more. */
  private settle(run: Promise<void>, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => {
        timer = setTimeout(
          () => reject(new Error(`did not stop within ${this.abandonAfterMs} ms of being aborted; abandoned`)),
          this.abandonAfterMs,
        );
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      run.then(resolve, reject).finally(() => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
      });
    });
  }

  /** The silence watchdog and the rate meter. */
  private tick(): void {
    const now = Date.now();
    if (this.state === 'running') pushRate(this.storageRate, now, this.storage.stats().written);
    for (const s of this.supervised) {
      const p = s.collector.progress;
      pushRate(s.rate, now, p.itemsStored);
      if (deliversAgain(s)) s.failingSince = undefined;
      if (s.state === 'standby') continue;
      if (now - s.stateSavedAt >= this.stateSaveIntervalMs) this.saveState(s);
      const staleAfter = s.collector.staleAfterMs;
      if (s.state !== 'running' || !staleAfter || s.staleReason) continue;
      const lastActivity = Math.max(p.lastDataAt ?? 0, s.runStartedAt);
      if (now - lastActivity > staleAfter) {
        s.staleReason = `no data for ${Math.round((now - lastActivity) / 1000)} s (staleAfter ${staleAfter} ms)`;
        this.logger.warn({ collector: s.collector.id, staleAfterMs: staleAfter }, 'collector silent; restarting it');
        s.run?.abort(new Error(s.staleReason));
      }
    }
  }
}

/** A collector that failed has been running again and stored data since its restart. */
function deliversAgain(s: Supervised): boolean {
  return s.failingSince !== undefined && s.state === 'running' && (s.collector.progress.lastDataAt ?? 0) >= s.runStartedAt;
}

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

/** Adds a (time, count) snapshot and forgets those older than the rate window. */
function pushRate(rate: Array<[number, number]>, now: number, count: number): void {
  rate.push([now, count]);
  while (rate.length > 1 && now - rate[0]![0] > RATE_WINDOW_MS) rate.shift();
}

function itemsPerSecond(rate: Array<[number, number]>, now: number, items: number): number {
  const first = rate[0];
  if (!first || now - first[0] < 500) return 0;
  return Math.round(((items - first[1]) / (now - first[0])) * 1000 * 10) / 10;
}
