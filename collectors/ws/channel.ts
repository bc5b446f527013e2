import type WebSocket from 'ws';
import { silentLogger, type Logger } from '../../common/logger.js';
import { maskUrl } from '../../common/sanitize.js';
import type { CollectorProgress } from '../types.js';
import { ChannelConnection } from './channel-connection.js';
import { channelUrl, symbolsPerConnection, type ChannelFrame, type ChannelProtocol } from './channel-protocol.js';
import { droppedFrames, type DroppedFrames } from './dropped-frames.js';
import { openWebSocket } from './socket.js';
import { SYMBOL_RETRY_MS, SymbolSubscriptions } from './symbol-subscriptions.js';
import { SymbolTable } from './symbol-table.js';

/**
 * The largest WebSocket frame taken from an exchange when none is given (a collector built
 * directly, without its Exchange): generous, still far below `ws`'s 100 MiB default.
 */
export const UNMEASURED_MAX_FRAME_BYTES = 16 * 1024 * 1024;

// How often failed symbols are looked at for a retry (each is retried at its own time).
const RETRY_CHECK_MS = 30_000;

/** What a collector over one channel takes: the trade stream's and the book stream's options share these. */
export interface ChannelCollectorOptions<P> {
  /** e.g. `trades:binance`, `liquidity:binance#2`. */
  id: string;
  protocol: P;
  /** Unified `BASE-QUOTE` symbols, at most the channel's symbols per connection. */
  symbols: readonly string[];
  /** Overrides `protocol.connection.defaultWsUrl` (testnet, proxy, simulator). */
  wsUrl?: string;
  staleAfterMs?: number;
  logger?: Logger;
  connectTimeoutMs?: number;
  /** How long after the last subscribe request every ack must have arrived. */
  ackTimeoutMs?: number;
  /** How often a symbol that cannot be collected (not listed, refused) is tried again (ms); default 5 minutes. */
  symbolRetryMs?: number;
  /** The largest frame taken (Exchange.maxFrameBytes); default UNMEASURED_MAX_FRAME_BYTES. */
  maxFrameBytes?: number;
}

/**
 * One collector's channel: what outlives its connections. Its symbols in both spellings, which of
 * them are subscribed or failed (with their retries), the URL, and the dropped-frame counting;
 * `open` and `connect` make each connection, run by ChannelConnection.
 */
export class Channel<F extends ChannelFrame> {
  readonly id: string;
  readonly symbols: SymbolTable;
  /** The collector's logger, naming the collector. */
  readonly logger: Logger;
  /** Outlives a run: a symbol that failed stays out until its retry is due. */
  readonly subscriptions: SymbolSubscriptions;
  /** How often a failed symbol is tried again (ms). */
  readonly symbolRetryMs: number;
  private readonly name: string;
  private readonly protocol: ChannelProtocol<F>;
  private readonly url: string;
  private readonly connectTimeoutMs: number;
  private readonly ackTimeoutMs: number;
  private readonly maxFrameBytes: number;
  private readonly dropped: DroppedFrames;

  /**
   * `name` names the channel in subscription errors (`trades`, `book`); `keyOf` is the series key
   * under which a failed symbol is shown.
   */
  constructor(
    options: ChannelCollectorOptions<ChannelProtocol<F>>,
    name: string,
    private readonly progress: CollectorProgress,
    keyOf: (symbol: string) => string,
  ) {
    const { id, protocol, symbols } = options;
    const { connection } = protocol;
    const max = symbolsPerConnection(protocol);
    if (symbols.length === 0) throw new Error(`${id}: no symbols to collect`);
    if (symbols.length > max) throw new Error(`${id}: ${symbols.length} symbols exceed the ${max} one ${connection.exchange} ${name} connection takes`);
    this.id = id;
    this.name = name;
    this.protocol = protocol;
    this.symbols = new SymbolTable(symbols, (symbol) => connection.toExchangeSymbol(symbol));
    this.url = channelUrl(protocol, options.wsUrl ?? connection.defaultWsUrl, this.symbols);
    this.logger = (options.logger ?? silentLogger).child({ collector: id });
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
    this.maxFrameBytes = options.maxFrameBytes ?? UNMEASURED_MAX_FRAME_BYTES;
    this.dropped = droppedFrames(progress, this.logger, connection.exchange, this.maxFrameBytes);
    this.symbolRetryMs = options.symbolRetryMs ?? SYMBOL_RETRY_MS;
    const requestsFor = (table: SymbolTable, firstRequest: number) => protocol.subscribeMessages(table, firstRequest);
    this.subscriptions = new SymbolSubscriptions(this.symbols, progress.failures, keyOf, this.symbolRetryMs, this.logger, requestsFor);
  }

  /** How often failed symbols are looked at for a retry (each is retried at its own time). */
  get retryCheckMs(): number {
    return Math.min(this.symbolRetryMs, RETRY_CHECK_MS);
  }

  /**
   * Opens a connection, counted among the collector's connections until it has closed: undefined
   * when `signal` aborts first; rejects with an Error naming the URL when it cannot.
   */
  async open(signal: AbortSignal): Promise<WebSocket | undefined> {
    const socket = await openWebSocket(this.url, { timeoutMs: this.connectTimeoutMs, signal, label: this.id, maxFrameBytes: this.maxFrameBytes });
    if (!socket) return undefined;
    // Counted until the TCP connection is gone, whoever ends it (a normal close, a failure, a rotation).
    socket.once('close', this.progress.openConnection());
    this.logger.info({ url: maskUrl(this.url), symbols: this.symbols.unified.length }, 'connected');
    return socket;
  }

  /** Runs an open socket as a connection of this channel until `signal` aborts or it fails; `onFrame` gets each frame's data. */
  connect(socket: WebSocket, signal: AbortSignal, onFrame: (frame: F) => void): ChannelConnection<F> {
    const { id: label, protocol, name: channel, progress, dropped, subscriptions, ackTimeoutMs } = this;
    return new ChannelConnection(socket, { label, protocol, channel, signal, progress, dropped, subscriptions, ackTimeoutMs, onFrame });
  }
}
