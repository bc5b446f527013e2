import type { SymbolTable } from './symbol-table.js';

/**
 * How one exchange's WebSocket connections work, whatever channel they carry: where to connect,
 * how many symbols one connection takes, how fast the client may send, how the link is kept
 * alive. One per exchange (collectors/exchanges/<exchange>/connection.ts), shared by its channels
 * (`ChannelProtocol.connection`): its trades and its order book.
 */
export interface ConnectionRules {
  /** Exchange name as used in configs and keys, e.g. `binance`. */
  readonly exchange: string;
  /** Production WebSocket base URL, used unless the config overrides it. */
  readonly defaultWsUrl: string;
  /** Most symbols one connection may carry; more are split over several collectors. */
  readonly maxSymbolsPerConnection: number;
  /** Least spacing between frames the client sends (subscribe requests, app-level pings, resyncs). */
  readonly minSendIntervalMs: number;
  readonly keepalive: KeepaliveRules;
  /**
   * The exchange closes a connection this old (ms), or rather a little before it does. The trade
   * stream then opens a replacement, switches to it and closes the old one, so no trade is lost;
   * a book simply reconnects when it is closed (a new snapshot loses nothing).
   */
  readonly maxConnectionAgeMs?: number;
  /** Unified `BASE-QUOTE` → the exchange's symbol; throws a clear Error for a malformed symbol. */
  toExchangeSymbol(symbol: string): string;
  /** The URL to connect to for these symbols (a channel may have its own: `ChannelProtocol.url`). */
  url(wsUrl: string, symbols: SymbolTable): string;
}

/** How the link is kept alive and when it is presumed dead. */
export interface KeepaliveRules {
  /**
   * The server pings with WebSocket ping frames this often; `ws` answers them itself
   * (autoPong) and each one counts as a heartbeat.
   */
  serverPingIntervalMs?: number;
  /** An application-level ping the client must send (OKX `ping`, Bybit `{"op":"ping"}`). */
  clientPing?: { intervalMs: number; text: string };
  /** With no frame and no ping for this long, the connection is dead even if TCP says otherwise. */
  silenceTimeoutMs: number;
}

/** One subscribe frame and the acknowledgements that confirm it. */
export interface SubscribeRequest {
  text: string;
  /** Each ack key the exchange will answer with, and the symbols it covers. */
  acks: ReadonlyArray<{ key: string; symbols: readonly string[] }>;
}

/** What `onMessage` gets besides the text. */
export interface FrameContext {
  symbols: SymbolTable;
  /** Wall clock when the frame arrived, ms. */
  receivedAt: number;
}

/**
 * The part of a frame about the connection rather than the channel's data. A frame of no
 * interest (another channel, a status) is `{}`.
 */
export interface ChannelFrame {
  /** Key of an acknowledged subscribe request (see SubscribeRequest.acks). */
  ack?: string;
  /** The exchange refused something; `ack` names the request when the exchange says which. */
  error?: { ack?: string; reason: string };
  /** An application-level heartbeat or pong: proves the link, not the data. */
  heartbeat?: boolean;
  /** Text to send back at once (an answer to an application-level ping). */
  reply?: string;
  /** The server announced it is going away; reconnecting now beats waiting for the close. */
  closing?: string;
}

/**
 * The hooks of one channel of an exchange (its trades, its order book) over the exchange's
 * connections: what to send and how to read each frame. The channel engine (channel.ts) runs a
 * connection with them; what a frame carries beyond `ChannelFrame` is the channel's own.
 */
export interface ChannelProtocol<F extends ChannelFrame> {
  readonly connection: ConnectionRules;
  /** Where this channel takes fewer symbols per connection than `connection` allows (Gate.io's book: one pair a request). */
  readonly maxSymbolsPerConnection?: number;
  /** Where this channel connects elsewhere than `connection.url` (Binance's book: `/stream`, whose frames name their stream). */
  url?(wsUrl: string, symbols: SymbolTable): string;
  /**
   * The frames that subscribe to the symbols on this channel, split to respect the exchange's limits.
   * `firstRequest` numbers the first of them (default 1), where the exchange echoes a request id:
   * a connection subscribing again (a batch without a refused symbol, a retry) never reuses one.
   */
  subscribeMessages(symbols: SymbolTable, firstRequest?: number): SubscribeRequest[];
  /** Reads one text frame; throws when it cannot be parsed (the engine counts it and goes on). */
  onMessage(text: string, context: FrameContext): F;
  /**
   * Reads a frame from its UTF-8 bytes, where that spares decoding the exchange's common frame
   * (Binance's trades); undefined hands the frame to `onMessage` as text. Must not throw.
   */
  onBytes?(data: Buffer, context: FrameContext): F | undefined;
}

/** Most symbols one connection of `protocol` takes: the channel's own limit, else the exchange's. */
export function symbolsPerConnection(protocol: ChannelProtocol<ChannelFrame>): number {
  return protocol.maxSymbolsPerConnection ?? protocol.connection.maxSymbolsPerConnection;
}

/** The URL a connection of `protocol` opens for `symbols`: the channel's own, else the exchange's. */
export function channelUrl(protocol: ChannelProtocol<ChannelFrame>, wsUrl: string, symbols: SymbolTable): string {
  return protocol.url ? protocol.url(wsUrl, symbols) : protocol.connection.url(wsUrl, symbols);
}
