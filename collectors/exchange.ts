/**
 * What an exchange is to the engines: one typed object per exchange (collectors/exchanges/<name>/
 * index.ts), listed once in collectors/exchanges/index.ts. The engines take what they need from
 * it (a capability, the REST limits, the frame limit) and never import an exchange; this module
 * names none either.
 */
import type { KlineProtocol } from './klines/protocol.js';
import type { BookProtocol } from './liquidity/book-protocol.js';
import type { DepthSource } from './liquidity/depth-poller.js';
import type { RestLimits } from './rest/rest-client.js';
import type { ExchangeSimulator, SimulatorStartOptions } from './simulator/controls.js';
import type { TradeHistory } from './trades/history.js';
import type { InstrumentList } from './trades/instruments.js';
import type { TradeProtocol } from './trades/protocol.js';

export const MiB = 1024 * 1024;

/** What an exchange serves; an absent one cannot be collected from it (see `capabilityOf`). */
export interface Capabilities {
  /** Live trades over WebSocket. */
  readonly trades?: TradeProtocol;
  /**
   * Past trades over REST, by id (`fetchAfter`): the trades collector backfills gaps with it.
   * Without it a gap is recorded instead.
   */
  readonly tradeHistory?: TradeHistory;
  /** The instrument list: a configured symbol not listed fails at start (trades). */
  readonly instruments?: InstrumentList;
  /** Candles over REST, with the intervals it serves (`klines.intervals`). */
  readonly klines?: KlineProtocol;
  /** The order book over WebSocket. */
  readonly book?: BookProtocol;
  /** The order book over REST. */
  readonly depthRest?: DepthSource;
  /** The exchange's status endpoint (maintenance): the same object as `klines.health`. */
  readonly status?: KlineProtocol['health'];
}

/** One exchange: everything the engines need of it. */
export interface Exchange {
  /** As used in configs and keys, e.g. `binance`. */
  readonly name: string;
  /**
   * Unified `BASE-QUOTE` → the exchange's spelling; throws a clear Error for a malformed symbol.
   * The way back is each connection's SymbolTable (only subscribed symbols are read).
   */
  readonly symbols: { toExchange(symbol: string): string };
  /** Production URLs, used unless the config's `exchanges.<name>` overrides them. */
  readonly endpoints: { readonly wsUrl?: string; readonly restUrl?: string };
  /** Published REST limits, shared by every REST use of the exchange. */
  readonly restLimits: RestLimits;
  /**
   * The largest WebSocket frame taken (the `ws` maxPayload of its trade and book connections):
   * about 4× its largest real frame, at least 1 MiB. A bigger one is refused from its header
   * (nothing of it is buffered), counted as `oversized`, and the connection reopened.
   */
  readonly maxFrameBytes: number;
  readonly capabilities: Capabilities;
  /** Starts a local server speaking the exchange's protocol (`collector simulate -e <name>`). */
  readonly simulator?: (options: SimulatorStartOptions) => Promise<ExchangeSimulator>;
}

/** The exchanges collector kinds collect from, by name. */
export interface ExchangeDirectory {
  readonly names: readonly string[];
  /** The exchange called `name`; throws naming the known ones. */
  get(name: string): Exchange;
}

/** A directory of `exchanges`; throws when two share a name. */
export function exchangeDirectory(exchanges: readonly Exchange[]): ExchangeDirectory {
  const byName = new Map<string, Exchange>();
  for (const exchange of exchanges) {
    if (byName.has(exchange.name)) throw new Error(`exchange ${JSON.stringify(exchange.name)} is listed twice`);
    byName.set(exchange.name, exchange);
  }
  const names = [...byName.keys()];
  return {
    names,
    get(name) {
      const exchange = byName.get(name);
      if (!exchange) throw new Error(`unknown exchange ${JSON.stringify(name)}; known: ${names.join(', ')}`);
      return exchange;
    },
  };
}

/** How each capability is named in messages. */
const CAPABILITY_NAMES: Readonly<Record<keyof Capabilities, string>> = {
  trades: 'trades over WebSocket',
  tradeHistory: 'trade history over REST',
  instruments: 'instrument list',
  klines: 'klines',
  book: 'order book over WebSocket',
  depthRest: 'order book over REST',
  status: 'status endpoint',
};

/** `exchange`'s `capability`; throws `<exchange> has no <capability>` when it lacks it. */
export function capabilityOf<K extends keyof Capabilities>(exchange: Exchange, capability: K): NonNullable<Capabilities[K]> {
  const found = exchange.capabilities[capability];
  if (found === undefined) throw new Error(`${exchange.name} has no ${CAPABILITY_NAMES[capability]}`);
  return found as NonNullable<Capabilities[K]>;
}

/** What `exchange` lacks of `capabilities`, as said in messages (`trade history over REST`). */
export function missingCapabilities(exchange: Exchange, capabilities: readonly (keyof Capabilities)[]): string[] {
  return capabilities.filter((c) => exchange.capabilities[c] === undefined).map((c) => CAPABILITY_NAMES[c]);
}
