import axios from 'axios';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../src/logger.js';

/** GETs JSON from an exchange's REST API. */
export interface RestClient {
  /** The parsed body of a 2xx answer to GET `url` with `params`; throws a RestError otherwise. */
  getJson(url: string, params: Readonly<Record<string, string | number>>, signal: AbortSignal): Promise<unknown>;
}

/** A request the exchange refused or that failed for good. */
export class RestError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'RestError';
  }
}

export interface PoliteRestClientOptions {
  /** e.g. `binance`: names the client in logs. */
  label: string;
  logger: Logger;
  /** Per request; default 10 s. */
  timeoutMs?: number;
  /** Tries per request for network errors, timeouts, 5xx and rate limits; default 5. */
  maxAttempts?: number;
  /** First wait after a failure, doubled each time; default 500 ms. */
  backoffMs?: number;
  /** Longest wait a Retry-After may impose before the request is given up; default 5 min. */
  maxRetryAfterMs?: number;
}

/** Retry-After as seconds or an HTTP date (RFC 9110 §10.2.3), in ms; undefined when absent or unreadable. */
export function retryAfterMs(header: unknown, now = Date.now()): number | undefined {
  if (typeof header !== 'string' || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * One exchange's REST client: requests go out one at a time (a backfill never bursts),
 * each with a timeout; 429 and 418 wait what Retry-After says (Binance rest-api.md "LIMITS":
 * a client that keeps sending after a 429 is banned with 418), network errors and 5xx back off.
 */
export class PoliteRestClient implements RestClient {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly backoffMs: number;
  private readonly maxRetryAfterMs: number;

  constructor(private readonly options: PoliteRestClientOptions) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.maxAttempts = options.maxAttempts ?? 5;
    this.backoffMs = options.backoffMs ?? 500;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 300_000;
  }

  getJson(url: string, params: Readonly<Record<string, string | number>>, signal: AbortSignal): Promise<unknown> {
    const turn = this.queue.then(() => this.attempt(url, params, signal));
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private async attempt(url: string, params: Readonly<Record<string, string | number>>, signal: AbortSignal): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      signal.throwIfAborted();
      let wait: number;
      let reason: string;
      try {
        const res = await axios.get<unknown>(url, { params, timeout: this.timeoutMs, signal, validateStatus: () => true, responseType: 'json' });
        if (res.status >= 200 && res.status < 300) return res.data;
        const body = JSON.stringify(res.data).slice(0, 200);
        reason = `HTTP ${res.status} ${body}`;
        if (res.status === 429 || res.status === 418) {
          wait = retryAfterMs(res.headers['retry-after']) ?? this.backoffMs * 2 ** (attempt - 1);
          if (wait > this.maxRetryAfterMs) throw new RestError(`${this.options.label}: GET ${url}: ${reason}; Retry-After ${wait} ms is too long`, res.status);
        } else if (res.status >= 500) {
          wait = this.backoffMs * 2 ** (attempt - 1);
        } else {
          throw new RestError(`${this.options.label}: GET ${url}: ${reason}`, res.status);
        }
      } catch (err) {
        if (err instanceof RestError || signal.aborted) throw err;
        reason = err instanceof Error ? err.message : String(err);
        wait = this.backoffMs * 2 ** (attempt - 1);
      }
      if (attempt >= this.maxAttempts) throw new RestError(`${this.options.label}: GET ${url}: ${reason} (gave up after ${attempt} tries)`);
      this.options.logger.warn({ url, reason, retryInMs: wait, attempt }, 'REST request failed; retrying');
      await sleep(wait, undefined, { signal });
    }
  }
}

const clients = new Map<string, PoliteRestClient>();

/** The process's one REST client for `exchange`, so every collector of it shares the one-at-a-time queue. */
export function restClientFor(exchange: string, logger: Logger): PoliteRestClient {
  let client = clients.get(exchange);
  if (!client) clients.set(exchange, (client = new PoliteRestClient({ label: exchange, logger })));
  return client;
}
