import { isUtf8 } from 'node:buffer';
import WebSocket from 'ws';
import { maskSecrets, maskUrl } from '../../common/sanitize.js';

/** Stops a socket for good; the no-op listener keeps a late 'error' from crashing the process. */
function discard(socket: WebSocket): void {
  socket.on('error', () => {});
  socket.terminate();
}

/**
 * Opens a WebSocket. Rejects with an Error naming the URL when it fails or takes longer than
 * `timeoutMs`; resolves undefined when `signal` aborts first. The socket comes back paused:
 * SocketLoop resumes it once its listeners are on, so frames sent right after the handshake
 * (Kraken's status frame) cannot be emitted before anyone listens.
 */
export function openWebSocket(url: string, options: { timeoutMs: number; signal: AbortSignal; label: string; maxFrameBytes: number }): Promise<WebSocket | undefined> {
  const { timeoutMs, signal, label, maxFrameBytes } = options;
  return new Promise((resolve, reject) => {
    if (signal.aborted) return resolve(undefined);
    // autoPong is ws's default, stated because exchanges drop clients that do not answer pings.
    // UTF-8 is checked by SocketLoop, and only for frames it decodes: ws would check every frame
    // (the byte readers take ASCII only) and close the connection over one bad frame.
    // maxPayload: ws refuses a longer frame from its header, before buffering it (its default is 100 MiB).
    const socket = new WebSocket(url, { autoPong: true, perMessageDeflate: false, skipUTF8Validation: true, maxPayload: maxFrameBytes });
    const settle = (outcome: () => void): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.off('open', onOpen);
      socket.off('error', onError);
      outcome();
    };
    const onOpen = (): void =>
      settle(() => {
        socket.pause();
        resolve(socket);
      });
    const onError = (err: Error): void =>
      settle(() => {
        discard(socket);
        reject(new Error(`${label}: cannot connect to ${maskUrl(url)}: ${maskSecrets(err.message)}`));
      });
    const onAbort = (): void =>
      settle(() => {
        discard(socket);
        resolve(undefined);
      });
    const timer = setTimeout(
      () =>
        settle(() => {
          discard(socket);
          reject(new Error(`${label}: no connection to ${maskUrl(url)} within ${timeoutMs} ms`));
        }),
      timeoutMs,
    );
    socket.once('open', onOpen);
    socket.once('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** What a SocketLoop does with what arrives. */
export interface SocketLoopOptions {
  label: string;
  signal: AbortSignal;
  /** With no frame and no ping for this long the link is presumed dead. */
  silenceTimeoutMs: number;
  onText(text: string): void;
  /** A text frame that is not valid UTF-8: skipped, never fatal; `preview` is its start, printable. */
  onUnreadable(err: Error, preview: string): void;
  /** Takes a frame as bytes before it is decoded; false has it decoded and passed to onText. */
  onBytes?(data: Buffer): boolean;
  /** A binary frame (the exchanges send text): skipped, never fatal. */
  onBinary(size: number): void;
  /** A frame over openWebSocket's `maxFrameBytes`: ws refused it unread, and the loop ends so the connection is reopened. */
  onOversized(): void;
  /** A WebSocket-level ping arrived (ws has already answered it). */
  onPing?(): void;
}

/**
 * Runs an open socket until it ends: `done` resolves when `signal` aborts (the socket is closed
 * normally) and rejects with an Error saying why otherwise (closed by the server, socket error,
 * silence, or `fail`).
 */
export class SocketLoop {
  readonly done: Promise<void>;
  private ended = false;
  private resolveDone!: () => void;
  private rejectDone!: (err: Error) => void;
  private readonly silenceTimer: NodeJS.Timeout;
  /** Frames and pings so far; the silence check compares it with what it saw last time. */
  private arrivals = 0;

  constructor(
    private readonly socket: WebSocket,
    private readonly options: SocketLoopOptions,
  ) {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    const { label, signal, silenceTimeoutMs } = options;
    // Checked a few times per timeout rather than re-armed per frame: re-arming a timer costs
    // more than reading the frame at hundreds of thousands of frames a second.
    let seen = 0;
    let lastArrivalAt = Date.now();
    this.silenceTimer = setInterval(() => {
      const now = Date.now();
      if (this.arrivals !== seen) {
        seen = this.arrivals;
        lastArrivalAt = now;
      } else if (now - lastArrivalAt >= silenceTimeoutMs) {
        this.fail(new Error(`${label}: no frame or ping for ${silenceTimeoutMs} ms; the connection is presumed dead`));
      }
    }, Math.max(5, Math.floor(silenceTimeoutMs / 4)));
    socket.on('message', (data, isBinary) => {
      this.arrivals += 1;
      // With ws's default binaryType every message arrives as one Buffer.
      if (this.ended) return;
      const bytes = data as Buffer;
      if (isBinary) return options.onBinary(bytes.length);
      if (options.onBytes?.(bytes)) return;
      if (!isUtf8(bytes)) options.onUnreadable(new Error('text frame is not valid UTF-8'), bytes.toString('latin1', 0, 300));
      else options.onText(bytes.toString('utf8'));
    });
    socket.on('ping', () => {
      this.arrivals += 1;
      if (!this.ended) options.onPing?.();
    });
    socket.on('close', (code, reason) => {
      const why = reason.length > 0 ? `, ${reason.toString()}` : '';
      this.fail(new Error(`${label}: connection closed by the server (code ${code}${why})`));
    });
    socket.on('error', (err: Error & { code?: string }) => {
      // ws closes with 1009 after this; ending the loop first makes the reopen say why.
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' && !this.ended) {
        options.onOversized();
        return this.fail(new Error(`${label}: dropped a frame over the size limit (${err.message}); reconnecting`));
      }
      this.fail(new Error(`${label}: connection error: ${err.message}`));
    });
    signal.addEventListener('abort', this.onAbort, { once: true });
    if (signal.aborted) this.onAbort();
    else socket.resume();
  }

  /** Sends a text frame while the loop runs. */
  send(text: string): void {
    if (!this.ended && this.socket.readyState === WebSocket.OPEN) this.socket.send(text);
  }

  /** Ends the loop with `err`, dropping the connection. */
  fail(err: Error): void {
    if (!this.end()) return;
    discard(this.socket);
    this.rejectDone(err);
  }

  private readonly onAbort = (): void => {
    if (!this.end()) return;
    this.socket.on('error', () => {});
    this.socket.close(1000);
    this.resolveDone();
  };

  /** Marks the loop ended; false when it already was. */
  private end(): boolean {
    if (this.ended) return false;
    this.ended = true;
    clearInterval(this.silenceTimer);
    this.options.signal.removeEventListener('abort', this.onAbort);
    return true;
  }
}
