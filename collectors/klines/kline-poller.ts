import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger, type Logger } from '../../common/logger.js';
import type { DataCollectionStorage } from '../../storage/types.js';
import { heldBy, restClientFor, RestError, type RestClient } from '../rest/rest-client.js';
import { CollectorProgress, type DataSourceCollector } from '../types.js';
import { KlineHistory } from './kline-history.js';
import { alignDown } from './open-times.js';
import type { KlineProtocol } from './protocol.js';
import { ProviderHealthGate } from './provider-health.js';

export interface KlinePollerOptions {
  protocol: KlineProtocol;
  /** Unified `BASE-QUOTE`. */
  symbol: string;
  /** `1m`, `1h`, ... */
  interval: string;
  /** REST base URL override (a simulator, a proxy); default the protocol's. */
  restUrl?: string;
  /** Fill history this far back on start (ms); without it, resume from the last verified candle. */
  historyMs?: number;
  staleAfterMs?: number;
  logger?: Logger;
  /** Poll this long after each interval boundary (ms), so the exchange has closed the candle; default 1.5 s. */
  closeDelayMs?: number;
  /** Wait between status checks while the exchange is down (ms); default 30 s. */
  healthRetryMs?: number;
  /** Failed polls in a row before the exchange's status is checked; default 3. */
  errorsBeforeHealthCheck?: number;
  /** See KlineSeriesOptions.settleMs. */
  settleMs?: number;
  /** The REST client; default the process's one for the exchange and URL. */
  http?: RestClient;
}

/** Longest pause between retries of a failed poll. */
const MAX_RETRY_WAIT_MS = 30_000;

/**
 * Collects one klines series by polling the exchange's REST API: first makes the history whole
 * (from `history` back, or from the last verified candle of an earlier run), then polls just after
 * every interval boundary, storing the closed candle and the open one (rewritten until closed) and
 * refilling whatever an outage left out.
 */
export class KlinePoller implements DataSourceCollector {
  readonly id: string;
  readonly kind = 'klines';
  readonly keys: readonly string[];
  readonly staleAfterMs?: number;
  readonly progress = new CollectorProgress();
  readonly history: KlineHistory;
  private readonly logger: Logger;
  private readonly gate: ProviderHealthGate;
  private readonly closeDelayMs: number;
  private readonly errorsBeforeHealthCheck: number;
  /** Newest open time up to which every candle is stored for good or recorded missing; undefined until known. */
  verifiedThrough: number | undefined;
  private checkpointLoaded = false;

  constructor(private readonly options: KlinePollerOptions) {
    const { protocol, symbol, interval } = options;
    this.id = `klines:${protocol.exchange}:${symbol}:${interval}`;
    this.logger = (options.logger ?? silentLogger).child({ collector: this.id });
    const restUrl = options.restUrl ?? protocol.defaultRestUrl;
    const http = heldBy(options.http ?? restClientFor(protocol.exchange, restUrl, this.logger, protocol.limits), this.progress);
    this.history = new KlineHistory({ protocol, symbol, interval, restUrl, http, logger: this.logger, progress: this.progress, settleMs: options.settleMs });
    this.keys = [this.history.key, this.history.gapsKey];
    this.staleAfterMs = options.staleAfterMs;
    this.gate = new ProviderHealthGate({ protocol, restUrl, http, logger: this.logger, progress: this.progress, retryMs: options.healthRetryMs });
    this.closeDelayMs = options.closeDelayMs ?? 1500;
    this.errorsBeforeHealthCheck = options.errorsBeforeHealthCheck ?? 3;
  }

  async run(storage: DataCollectionStorage, signal: AbortSignal): Promise<void> {
    const interval = this.history.intervalMs;
    await this.history.declare(storage);
    await this.loadCheckpoint(storage);
    await this.gate.waitUntilHealthy(signal);
    const startedAt = Date.now();
    let from = this.options.historyMs !== undefined ? startedAt - this.options.historyMs : (this.verifiedThrough ?? alignDown(startedAt, interval) - interval);
    let errors = 0;
    while (!signal.aborted) {
      try {
        const now = Date.now();
        const refetchFrom = this.verifiedThrough !== undefined ? this.verifiedThrough + interval : from;
        const result = await this.history.fill(storage, { from, to: now, refetchFrom }, signal, undefined, now);
        errors = 0;
        if (result.verifiedThrough !== undefined && (this.verifiedThrough === undefined || result.verifiedThrough > this.verifiedThrough)) {
          this.verifiedThrough = result.verifiedThrough;
          await this.saveCheckpoint(storage);
        }
        if (this.verifiedThrough !== undefined) from = Math.max(from, this.verifiedThrough + interval);
      } catch (err) {
        if (signal.aborted) return;
        // A refusal that will not change by asking again (unknown symbol, bad interval): the orchestrator reports it.
        if (err instanceof RestError && err.status !== undefined && err.status >= 400 && err.status < 500 && err.status !== 429 && err.status !== 418) throw err;
        errors += 1;
        this.logger.warn({ err: err instanceof Error ? err.message : String(err), errorsInARow: errors }, 'kline poll failed');
        if (errors >= this.errorsBeforeHealthCheck) {
          await this.gate.waitUntilHealthy(signal);
          errors = 0;
          continue;
        }
        await sleep(Math.min(MAX_RETRY_WAIT_MS, 1000 * 2 ** errors), undefined, { signal }).catch(() => undefined);
        continue;
      }
      await sleep(this.untilNextPoll(Date.now()), undefined, { signal }).catch(() => undefined);
    }
  }

  /** Ms until just after the next boundary: each interval, or each minute for longer intervals (to refresh the open candle). */
  private untilNextPoll(now: number): number {
    const every = Math.min(this.history.intervalMs, 60_000);
    return alignDown(now, every) + every + this.closeDelayMs - now;
  }

  private async loadCheckpoint(storage: DataCollectionStorage): Promise<void> {
    if (this.checkpointLoaded || !storage.collectorState) return;
    try {
      const record = await storage.collectorState.load(this.id);
      const checkpoint = record?.checkpoints.find((c) => c.key === this.history.key);
      if (checkpoint?.lastTimestamp !== undefined) {
        this.verifiedThrough = checkpoint.lastTimestamp;
        this.logger.info({ verifiedThrough: new Date(checkpoint.lastTimestamp).toISOString() }, 'resuming klines from the saved checkpoint');
      }
      this.checkpointLoaded = true;
    } catch (err) {
      this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'cannot load the saved checkpoint; rechecking the history');
    }
  }

  private async saveCheckpoint(storage: DataCollectionStorage): Promise<void> {
    if (!storage.collectorState || this.verifiedThrough === undefined) return;
    try {
      // Committed with (or after) every candle stored before it: never ahead of them.
      await storage.storeMany([], { checkpoint: { collector: this.id, checkpoints: [{ key: this.history.key, lastTimestamp: this.verifiedThrough }] } });
    } catch (err) {
      // Losing it only costs a longer recheck after a restart.
      this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'cannot save the klines checkpoint');
    }
  }
}
