import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../common/logger.js';
import type { RestClient } from '../rest/rest-client.js';
import type { CollectorProgress } from '../types.js';
import type { KlineProtocol } from './protocol.js';

export interface ProviderHealthGateOptions {
  protocol: Pick<KlineProtocol, 'exchange' | 'health'>;
  restUrl: string;
  http: RestClient;
  logger: Logger;
  progress: CollectorProgress;
  /** How long to wait between status checks while the exchange is down (ms); default 30 s. */
  retryMs?: number;
}

/**
 * Asks an exchange's status endpoint before polling it: while the exchange reports maintenance
 * or cannot be reached, the collector waits and reports itself degraded instead of hammering it.
 */
export class ProviderHealthGate {
  private readonly retryMs: number;

  constructor(private readonly options: ProviderHealthGateOptions) {
    this.retryMs = options.retryMs ?? 30_000;
  }

  /** Resolves once the exchange says it is fine; until then marks the collector degraded and checks again every retryMs. */
  async waitUntilHealthy(signal: AbortSignal): Promise<void> {
    const { protocol, progress, logger } = this.options;
    for (;;) {
      const problem = await this.check(signal);
      if (problem === undefined) {
        if (progress.degraded !== undefined) logger.info({ was: progress.degraded }, `${protocol.exchange} is available again`);
        progress.degraded = undefined;
        return;
      }
      if (progress.degraded !== problem) logger.warn({ reason: problem, retryInMs: this.retryMs }, `${protocol.exchange} is not available; waiting`);
      progress.degraded = problem;
      await sleep(this.retryMs, undefined, { signal });
    }
  }

  /** Undefined when the exchange is fine, else why not. */
  private async check(signal: AbortSignal): Promise<string | undefined> {
    const { protocol, restUrl, http } = this.options;
    const { request, parse } = protocol.health;
    try {
      const body = await http.getJson(`${restUrl.replace(/\/+$/, '')}${request.path}`, request.params, signal, { weight: request.weight ?? 1 });
      const health = parse(body);
      return health.ok ? undefined : `${protocol.exchange} reports ${health.reason ?? 'a problem'}`;
    } catch (err) {
      signal.throwIfAborted();
      return `${protocol.exchange} unreachable: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
}
