import type WebSocket from 'ws';
import type { CollectorProgress } from '../types.js';
import type { ChannelFrame, ChannelProtocol, FrameContext } from './channel-protocol.js';
import type { DroppedFrames } from './dropped-frames.js';
import { RequestSender } from './request-sender.js';
import { SocketLoop } from './socket.js';
import { SubscriptionAcks } from './subscription-acks.js';
import type { SymbolSubscriptions } from './symbol-subscriptions.js';

/** What one connection of a channel is run with (see Channel.connect). */
export interface ChannelConnectionOptions<F extends ChannelFrame> {
  /** The collector's id: labels the connection's errors. */
  label: string;
  protocol: ChannelProtocol<F>;
  /** The channel's name in subscription errors: `trades`, `book`. */
  channel: string;
  /** Aborting it closes the connection normally. */
  signal: AbortSignal;
  progress: CollectorProgress;
  dropped: DroppedFrames;
  /** The collector's symbols: which to subscribe, which failed. */
  subscriptions: SymbolSubscriptions;
  /** How long after the last subscribe request every ack must have arrived. */
  ackTimeoutMs: number;
  /** Each frame, once its connection part (ack, heartbeat, reply, error, closing) is handled: the channel's data is the collector's. */
  onFrame(frame: F): void;
}

/**
 * One WebSocket connection of a channel, as every channel runs it: subscribes the symbols not
 * failed (spaced by the exchange's send interval, acks checked in time), keeps the link alive
 * (client pings, server pings and heartbeats counted), reads each frame with the channel's hooks
 * (an unreadable one counted and skipped) and handles its connection part: an ack confirms its
 * symbols, a reply is sent back, a refusal fails its symbols alone (or the connection, when it names
 * none it can tell), a closing notice ends the connection. `done` settles as SocketLoop's does.
 */
export class ChannelConnection<F extends ChannelFrame> {
  readonly loop: SocketLoop;
  readonly acks: SubscriptionAcks;
  /** Sends the connection's requests (subscriptions, retries, resyncs) spaced by the exchange's limit. */
  readonly sender: RequestSender;
  private readonly label: string;
  private readonly protocol: ChannelProtocol<F>;
  private readonly progress: CollectorProgress;
  private readonly dropped: DroppedFrames;
  private readonly subscriptions: SymbolSubscriptions;
  private readonly onFrame: (frame: F) => void;
  /** The one context every frame is read with (protocols read it synchronously; see frameContext). */
  private readonly context: FrameContext;
  /** Set while `context.receivedAt` holds this TCP read's arrival time. */
  private clockRead = false;
  private readonly forgetClock = (): void => {
    this.clockRead = false;
  };

  constructor(socket: WebSocket, options: ChannelConnectionOptions<F>) {
    const { label, protocol, progress, dropped, subscriptions } = options;
    const { exchange, keepalive, minSendIntervalMs } = protocol.connection;
    this.label = label;
    this.protocol = protocol;
    this.progress = progress;
    this.dropped = dropped;
    this.subscriptions = subscriptions;
    this.onFrame = options.onFrame;
    this.context = { symbols: subscriptions.table, receivedAt: 0 };
    this.acks = new SubscriptionAcks(exchange, options.channel);
    this.loop = new SocketLoop(socket, {
      label,
      signal: options.signal,
      silenceTimeoutMs: keepalive.silenceTimeoutMs,
      onText: (text) => this.onText(text),
      ...dropped,
      onBytes: protocol.onBytes ? (data) => this.onBytes(data) : undefined,
      onPing: () => progress.recordHeartbeat(),
    });
    this.sender = new RequestSender(this.loop, this.acks, minSendIntervalMs, options.ackTimeoutMs);
    subscriptions.subscribe(this.sender, subscriptions.table.unified);
    const { clientPing } = keepalive;
    const pinger = clientPing ? setInterval(() => this.loop.send(clientPing.text), clientPing.intervalMs) : undefined;
    const stop = (): void => {
      this.sender.stop();
      clearInterval(pinger);
    };
    this.loop.done.then(stop, stop);
  }

  /** Resolves when the connection was closed normally (its signal aborted); rejects saying why it ended otherwise. */
  get done(): Promise<void> {
    return this.loop.done;
  }

  /** Ends the connection with `err`. */
  fail(err: Error): void {
    this.loop.fail(err);
  }

  /**
   * Subscribes again the failed symbols due for a retry, less those the exchange does not list
   * (`unlisted`: they fail anew, as do subscribed ones it delisted meanwhile); ends the
   * connection, naming each reason, when no symbol is left.
   */
  retryFailedSymbols(unlisted: ReadonlyMap<string, string> = new Map()): void {
    const retry = this.subscriptions.retries(unlisted);
    if (this.subscriptions.noneLeft) return this.loop.fail(this.progress.failures.everyFailed());
    this.subscriptions.subscribe(this.sender, retry);
  }

  private onText(text: string): void {
    let frame: F;
    try {
      frame = this.protocol.onMessage(text, this.frameContext());
    } catch (err) {
      this.dropped.unparsed(text, err);
      return;
    }
    this.handle(frame);
  }

  /** A frame the protocol reads from its bytes (no string decoded); false: it goes to onText. */
  private onBytes(data: Buffer): boolean {
    let frame: F | undefined;
    try {
      frame = this.protocol.onBytes!(data, this.frameContext());
    } catch {
      // onBytes must not throw; if it does, the text path reads (or counts) the frame.
      return false;
    }
    if (frame === undefined) return false;
    this.handle(frame);
    return true;
  }

  /** The frame's connection part, then the frame to the collector. */
  private handle(frame: F): void {
    const { loop, acks } = this;
    if (frame.ack !== undefined) {
      const acknowledged = acks.acknowledge(frame.ack);
      if (acknowledged) {
        this.progress.recordHeartbeat();
        this.subscriptions.acknowledged(acknowledged);
      }
    }
    if (frame.heartbeat) this.progress.recordHeartbeat();
    if (frame.reply !== undefined) loop.send(frame.reply);
    if (frame.error) {
      // Only the refused symbols fail; a refusal naming none, or every symbol failed, ends the connection.
      const fatal = this.subscriptions.onRefusal(frame.error, acks, this.sender);
      if (fatal) loop.fail(fatal);
    }
    if (frame.closing) loop.fail(new Error(`${this.label}: ${frame.closing}`));
    this.onFrame(frame);
  }

  /**
   * The context of the frame being read: one object. `ws` emits the frames of one TCP read back
   * to back, so one clock reading serves them all; the microtask that runs once they are emitted
   * makes the next read take a new one.
   */
  private frameContext(): FrameContext {
    const { context } = this;
    if (!this.clockRead) {
      // Frames are read against the symbols subscribed now (a failed one is not).
      context.symbols = this.subscriptions.table;
      context.receivedAt = Date.now();
      this.clockRead = true;
      queueMicrotask(this.forgetClock);
    }
    return context;
  }
}
