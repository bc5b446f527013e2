import WebSocket from 'ws';
import type { Logger } from '../../common/logger.js';
import { maskUrl, sanitizeError } from '../../common/sanitize.js';

/** Reconnect delays after the socket drops or is refused: 0.5 s doubling to 30 s. */
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 30_000;

/**
 * A chain's new blocks as they are announced (`eth_subscribe` `newHeads` over `wsUrl`): only a
 * wake-up for the pool collector, which reads the blocks and their logs over HTTP as when polling
 * (one path for following, backfill and reorgs). When the socket drops or is refused, it reconnects
 * with a growing delay, and `wait` falls back to the poll interval meanwhile.
 */
export class NewHeads {
  /** Subscribed now: heads arrive over the socket. */
  subscribed = false;
  /** Times a subscription was made (the first connection, then each reconnection). */
  subscriptions = 0;
  private socket: WebSocket | undefined;
  private wake: (() => void) | undefined;
  /** A head (or a change of the socket's state) came while nobody waited: the next wait returns at once. */
  private pending = false;
  private failures = 0;
  private retry: NodeJS.Timeout | undefined;
  /** Stops counting the current socket as a connection (idempotent). */
  private release: (() => void) | undefined;

  constructor(
    private readonly url: string,
    private readonly logger: Logger,
    private readonly signal: AbortSignal,
    /** Counts the socket as one of the collector's connections while it is open (CollectorProgress.openConnection). */
    private readonly openConnection: () => () => void,
  ) {
    signal.addEventListener('abort', () => this.close(), { once: true });
    this.connect();
  }

  /** Resolves when a new head arrives, or after `ms` (the poll interval). */
  wait(ms: number): Promise<void> {
    if (this.pending || this.signal.aborted) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.signal.removeEventListener('abort', done);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.signal.addEventListener('abort', done, { once: true });
      this.wake = done;
    });
  }

  close(): void {
    clearTimeout(this.retry);
    this.socket?.terminate();
    this.socket = undefined;
    this.release?.(); // now: the socket's close event comes later
    this.subscribed = false;
  }

  private notify(): void {
    if (this.wake) this.wake();
    else this.pending = true;
  }

  private connect(): void {
    if (this.signal.aborted) return;
    const socket = (this.socket = new WebSocket(this.url, { handshakeTimeout: 10_000 }));
    const closed = (this.release = this.openConnection());
    socket.on('open', () => socket.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] })));
    socket.on('message', (data: WebSocket.RawData) => {
      let message: { id?: number; result?: unknown; error?: { message?: string }; method?: string };
      try {
        message = JSON.parse(data.toString()) as typeof message;
      } catch {
        return;
      }
      if (message.id === 1) {
        if (message.error || typeof message.result !== 'string') {
          this.logger.warn({ wsUrl: maskUrl(this.url), error: message.error?.message }, 'eth_subscribe newHeads refused: following the chain by polling');
          socket.close();
          return;
        }
        this.subscribed = true;
        this.subscriptions += 1;
        this.failures = 0;
        this.logger.info({ wsUrl: maskUrl(this.url) }, 'following new heads over WebSocket');
        this.notify(); // blocks may have come while there was no socket
      } else if (message.method === 'eth_subscription') {
        this.notify();
      }
    });
    socket.on('error', (err) => this.logger.debug({ wsUrl: maskUrl(this.url), err: sanitizeError(err) }, 'new heads socket error'));
    socket.on('close', () => {
      closed();
      if (this.subscribed) this.logger.warn({ wsUrl: maskUrl(this.url) }, 'new heads socket closed: polling until it is back');
      this.subscribed = false;
      if (this.socket !== socket || this.signal.aborted) return;
      this.notify(); // poll once now: heads may have been missed
      const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** this.failures++);
      this.retry = setTimeout(() => this.connect(), delay);
    });
  }
}
