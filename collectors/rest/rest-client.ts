import axios from 'axios';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../common/logger.js';
import { maskSecrets, maskUrl } from '../../common/sanitize.js';
import { TokenBucket, type RateLimitRules } from './token-bucket.js';

/** Per-request settings. */
export interface RequestOptions {
  /** What the request costs against the exchange's limit (Binance request weight); default 1. */
  weight?: number;
  /** Tries for this request, overriding the client's maxAttempts (1: a check not worth waiting for). */
  attempts?: number;
  /** The collector the request is made for: each attempt counts among its connections while on the wire. */
  heldBy?: ConnectionHolder;
}

/** What counts a collector's open connections (its CollectorProgress). */
export interface ConnectionHolder {
  /** Counts one connection until the returned function is called. */
  openConnection(): () => void;
}

/** GETs JSON from an exchange's REST API. */
export interface RestClient {
  /** The parsed body of a 2xx answer to GET `url` with `params`; throws a RestError otherwise. */
  getJson(url: string, params: Readonly<Record<string, string | number>>, signal: AbortSignal, options?: RequestOptions): Promise<unknown>;
}

/**
 * One exchange's published REST limits and how it signals them
 * (collectors/exchanges/<exchange>/rest-limits.ts).
 */
export interface RestLimits {
  /** The token bucket every request of the exchange goes through, sized below the published limit. */
  bucket: RateLimitRules;
  /** Reads the weight left in the exchange's own window from a response's headers (Binance X-MBX-USED-WEIGHT-1M). */
  remainingFromHeaders?(headers: Readonly<Record<string, unknown>>): number | undefined;
  /**
   * A 2xx body that is really a rate-limit refusal (OKX code 50011, Kraken "EAPI:Rate limit exceeded"):
   * the wait in ms before trying again, else undefined.
   */
  throttledBody?(body: unknown): number | undefined;
  /**
   * A non-2xx answer besides 429/418 that is really a rate-limit refusal (Bybit's 403 "access too
   * frequent"): the wait in ms before trying again, else undefined (the request fails as usual).
   */
  throttledStatus?(status: number, body: unknown): number | undefined;
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
  /** The exchange's limits; without them requests are only serialized. */
  limits?: RestLimits;
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
 * One exchange's REST client: requests go out one at a time (a backfill never bursts), each
 * spending its weight from the exchange's token bucket first and with a timeout; 429 and 418 wait
 * what Retry-After says (Binance rest-api.md "LIMITS": a client that keeps sending after a 429 is
 * banned with 418), network errors and 5xx back off.
 */
export class PoliteRestClient implements RestClient {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly backoffMs: number;
  private readonly maxRetryAfterMs: number;
  /** The exchange's token bucket; undefined when no limits were given. */
  readonly bucket: TokenBucket | undefined;
  /** Requests sent (each attempt counts). */
  requests = 0;

  constructor(private readonly options: PoliteRestClientOptions) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.maxAttempts = options.maxAttempts ?? 5;
    this.backoffMs = options.backoffMs ?? 500;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 300_000;
    this.bucket = options.limits ? new TokenBucket(options.limits.bucket) : undefined;
  }

  getJson(url: string, params: Readonly<Record<string, string | number>>, signal: AbortSignal, options: RequestOptions = {}): Promise<unknown> {
    const turn = this.queue.then(() => this.attempt(url, params, signal, options.weight ?? 1, options.attempts ?? this.maxAttempts, options.heldBy));
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private async attempt(
    url: string,
    params: Readonly<Record<string, string | number>>,
    signal: AbortSignal,
    weight: number,
    maxAttempts: number,
    heldBy: ConnectionHolder | undefined,
  ): Promise<unknown> {
    const limits = this.options.limits;
    const shown = maskUrl(url); // for messages: the URL may carry credentials
    for (let attempt = 1; ; attempt++) {
      signal.throwIfAborted();
      let wait: number;
      let reason: string;
      try {
        await this.bucket?.take(weight, signal);
        this.requests += 1;
        const closed = heldBy?.openConnection();
        const res = await axios
          .get<unknown>(url, { params, timeout: this.timeoutMs, signal, validateStatus: () => true, responseType: 'json' })
          .finally(closed);
        const remaining = limits?.remainingFromHeaders?.(res.headers as Record<string, unknown>);
        if (remaining !== undefined) this.bucket?.reportRemaining(remaining);
        const throttled = res.status >= 200 && res.status < 300 ? limits?.throttledBody?.(res.data) : limits?.throttledStatus?.(res.status, res.data);
        if (res.status >= 200 && res.status < 300 && throttled === undefined) return res.data;
        const body = JSON.stringify(res.data).slice(0, 200);
        reason = `HTTP ${res.status} ${body}`;
        if (throttled !== undefined || res.status === 429 || res.status === 418) {
          wait = throttled ?? retryAfterMs(res.headers['retry-after']) ?? this.backoffMs * 2 ** (attempt - 1);
          this.bucket?.pause(wait);
          // Given up, but the paused bucket still holds every later request of the exchange until then.
          if (wait > this.maxRetryAfterMs) throw new RestError(`${this.options.label}: GET ${shown}: ${reason}; rate-limited for ${wait} ms, longer than a request waits`, res.status);
        } else if (res.status >= 500) {
          wait = this.backoffMs * 2 ** (attempt - 1);
        } else {
          throw new RestError(`${this.options.label}: GET ${shown}: ${reason}`, res.status);
        }
      } catch (err) {
        if (err instanceof RestError || signal.aborted) throw err;
        reason = maskSecrets(err instanceof Error ? err.message : String(err)); // axios may quote the URL
        wait = this.backoffMs * 2 ** (attempt - 1);
      }
      if (attempt >= maxAttempts) throw new RestError(`${this.options.label}: GET ${shown}: ${reason} (gave up after ${attempt} tries)`);
      this.options.logger.warn({ url: shown, reason, retryInMs: wait, attempt }, 'REST request failed; retrying');
      await sleep(wait, undefined, { signal });
    }
  }
}

/** `client` with every request made for `holder`: counted among its connections while on the wire (see RequestOptions.heldBy). */
export function heldBy(client: RestClient, holder: ConnectionHolder): RestClient {
  return { getJson: (url, params, signal, options) => client.getJson(url, params, signal, { ...options, heldBy: holder }) };
}

const clients = new Map<string, PoliteRestClient>();

/**
 * The process's one REST client for an exchange's REST base URL, so every collector of it shares
 * the one-at-a-time queue and the token bucket (limits are per host and IP, not per collector).
 */
export function restClientFor(exchange: string, restUrl: string, logger: Logger, limits?: RestLimits): PoliteRestClient {
  const id = `${exchange} ${restUrl}`;
  let client = clients.get(id);
  if (!client) clients.set(id, (client = new PoliteRestClient({ label: exchange, logger, limits })));
  return client;
}
