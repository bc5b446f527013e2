import type { TradeHistory } from './history.js';
import type { InstrumentList } from './instruments.js';
import type { Trade } from './trade.js';

/**
 * The hooks one exchange provides so the generic trade stream can collect its trades: where to
 * connect, what to send, how to read each frame, and the limits to respect. One file per
 * exchange (collectors/exchanges/<exchange>/trades.ts) implements it, named as `capabilities.trades`
 * in the exchange's index.ts.
 */
export interface TradeProtocol {
  /** Exchange name as used in configs and keys, e.g. `binance`. */
  readonly exchange: string;
  /** Production WebSocket base URL, used unless the config overrides it. */
  readonly defaultWsUrl: string;
  /** Most symbols one connection may carry; more are split over several collectors. */
  readonly maxStreamsPerConnection: number;
  /** Least spacing between frames the client sends (subscribe requests, app-level pings). */
  readonly minSendIntervalMs: number;
  /** True when trade ids strictly increase per symbol, so an id ≤ the last seen is a duplicate. */
  readonly idsIncrease: boolean;
  readonly keepalive: KeepaliveRules;
  /**
   * The exchange closes a connection this old (ms), or rather a little before it does: the
   * stream then opens a replacement, switches to it and closes the old one, so no trade is lost.
   */
  readonly maxConnectionAgeMs?: number;
  /** Past trades by id over REST, where the exchange serves them: gaps are then backfilled. */
  readonly history?: TradeHistory;
  /** The exchange's instrument list over REST: a configured symbol it does not list fails at start. */
  readonly instruments?: InstrumentList;
  /** Unified `BASE-QUOTE` → the exchange's symbol; throws a clear Error for a malformed symbol. */
  toExchangeSymbol(symbol: string): string;
  /** The URL to connect to for these symbols. */
  url(wsUrl: string, symbols: SymbolTable): string;
  /**
   * The frames that subscribe to the symbols' trades, split to respect the exchange's limits.
   * `firstRequest` numbers the first of them (default 1), where the exchange echoes a request id:
   * a connection subscribing again (a batch without a refused symbol, a retry) never reuses one.
   */
  subscribeMessages(symbols: SymbolTable, firstRequest?: number): SubscribeRequest[];
  /** Reads one text frame; throws when it cannot be parsed (the stream counts it and goes on). */
  onMessage(text: string, context: FrameContext): ParsedFrame;
  /**
   * Reads a frame from its UTF-8 bytes, where that spares decoding the exchange's common frame;
   * undefined hands the frame to `onMessage` as text. Must not throw.
   */
  onBytes?(data: Buffer, context: FrameContext): ParsedFrame | undefined;
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

/** What one frame meant. A frame of no interest (another stream, a status) is `{}`. */
export interface ParsedFrame {
  trades?: Trade[];
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
 * The symbols of one connection in both spellings. Exchange symbols are mapped back by
 * looking them up here (no exchangeInfo download): a symbol we did not subscribe is unknown.
 */
export class SymbolTable {
  private readonly unifiedByExchange = new Map<string, string>();
  private readonly exchangeByUnified = new Map<string, string>();

  constructor(readonly unified: readonly string[], toExchangeSymbol: (symbol: string) => string) {
    for (const symbol of unified) {
      const exchangeSymbol = toExchangeSymbol(symbol);
      this.unifiedByExchange.set(exchangeSymbol, symbol);
      this.exchangeByUnified.set(symbol, exchangeSymbol);
    }
  }

  /** The exchange's spelling of a subscribed unified symbol. */
  toExchange(symbol: string): string {
    const exchangeSymbol = this.exchangeByUnified.get(symbol);
    if (exchangeSymbol === undefined) throw new Error(`${symbol} is not subscribed on this connection`);
    return exchangeSymbol;
  }

  /** The unified symbol of an exchange symbol, or undefined when it is not subscribed here. */
  fromExchange(exchangeSymbol: string): string | undefined {
    return this.unifiedByExchange.get(exchangeSymbol);
  }
}
