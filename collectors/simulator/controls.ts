/**
 * The members every exchange simulator's returned object has, whatever its protocol: where it
 * listens, what it generated and sent, and the faults and switches tests drive it with. An
 * exchange spreads these into its object and adds its own (pong counts, shutdown notices, ...).
 */
import type { KlineHoles } from './kline-source.js';
import type { PlantedValues, SimulatedTrade, TradeTally } from './market.js';
import type { SimulatorClient, SimulatorServer } from './server.js';
import type { SentRecords, TradeFeed } from './trade-feed.js';

/** What every exchange simulator is started with; each adds its own protocol's knobs. */
export interface SimulatorStartOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Unified `BASE-QUOTE` symbols the simulated exchange lists. */
  symbols: readonly string[];
  /** Trades generated per second for each symbol. */
  tradesPerSecond: number;
  /** Seeds the generated prices, quantities and sides. */
  seed?: number;
  /** Candles left out of the kline history served over REST (none by default). */
  klineHoles?: KlineHoles;
}

/** The switches of an exchange simulator's REST market data (klines, depth, status). */
export interface RestMarketControls {
  /**
   * Starts or ends a maintenance window: the exchange's status endpoint says so and its market-data
   * endpoints refuse requests the way the exchange does during maintenance.
   */
  setMaintenance(on: boolean): void;
  /** REST requests refused for going over the exchange's rate limit since the start. */
  rateLimited(): number;
  /** REST requests received since the start, all or those to one path (e.g. `/api/v3/klines`). */
  restRequests(path?: string): number;
}

/** What every exchange simulator offers, whatever its protocol. */
export interface SimulatorControls<T> {
  wsUrl: string;
  restUrl: string;
  port: number;
  /** Everything generated for a symbol, subscribed or not. */
  generated(symbol: string): TradeTally;
  /** The trades generated for a symbol, sent or not, oldest first (bounded): what REST history serves. */
  generatedTrades(symbol: string): readonly SimulatedTrade[];
  /** What was sent to at least one client for a symbol. */
  sent(symbol: string): SentRecords<T>;
  /** Open client connections. */
  connections(): number;
  /** Client connections accepted since the start, open or closed: unchanged while the same connections stay open. */
  connectionsAccepted(): number;
  /** Stops generating trades (connections stay open). */
  pause(): void;
  /** Generates trades again. */
  resume(): void;
  /** Fault: cuts every connection without a close handshake, as a network failure would. */
  dropConnections(): void;
  /** Fault: sends a frame that is not valid JSON to every client. */
  sendMalformed(text?: string | Buffer): void;
  /** Fault: sends a binary frame (the exchanges send text only) to every client. */
  sendBinary(bytes: Buffer): void;
  /** Fault: the next trades of `symbol` print these values (a price of 0, a 400-digit amount) instead of their own, live and over REST. */
  plantTradeValues(symbol: string, values: readonly PlantedValues[]): void;
  /** Fault: refuses subscriptions as the exchange refuses an unlisted symbol, for `forMs` (default: until called with 0). */
  refuseSubscriptions(forMs?: number): void;
  /** Fault: refuses subscriptions to one listed symbol (either spelling) as if unlisted, for `forMs` (default: until called with 0). */
  refuseSymbol(symbol: string, forMs?: number): void;
  /** Fault: answers every REST request 429 with Retry-After, for `forMs` (default: until called with 0). */
  throttleRest(forMs?: number): void;
  /** Stops generating, cuts every connection and stops listening. */
  close(): Promise<void>;
}

/** The common controls over a simulator's server and trade feed; `malformed` is the exchange's default broken frame. */
export function simulatorControls<C extends SimulatorClient, T>(server: SimulatorServer<C>, feed: TradeFeed<T>, malformed: string): SimulatorControls<T> {
  return {
    wsUrl: server.wsUrl,
    restUrl: server.restUrl,
    port: server.port,
    generated: (symbol) => feed.generated(symbol),
    generatedTrades: (symbol) => feed.history(symbol),
    sent: (symbol) => feed.sent(symbol),
    connections: () => server.clients.size,
    connectionsAccepted: () => server.accepted(),
    pause: () => feed.pause(),
    resume: () => feed.resume(),
    dropConnections: () => server.dropConnections(),
    sendMalformed: (text = malformed) => {
      server.sendEach(() => text);
    },
    sendBinary: (bytes) => {
      server.sendEach(() => bytes, { binary: true });
    },
    plantTradeValues: (symbol, values) => feed.plant(symbol, values),
    refuseSubscriptions: (forMs) => server.faults.refuseSubscriptions(forMs),
    refuseSymbol: (symbol, forMs) => server.faults.refuseSymbol(feed.exchangeSymbol(symbol), forMs),
    throttleRest: (forMs) => server.faults.throttleRest(forMs),
    close: async () => {
      feed.stop();
      await server.close();
    },
  };
}

/** What `collector simulate` needs of an exchange simulator: its URLs, its fault switches, close. */
export type ExchangeSimulator = Pick<
  SimulatorControls<unknown>,
  'wsUrl' | 'restUrl' | 'close' | 'dropConnections' | 'sendMalformed' | 'pause' | 'resume' | 'refuseSubscriptions' | 'throttleRest'
> &
  Pick<RestMarketControls, 'setMaintenance'> & {
    /** Fault: the next order-book update fails the client's checks; absent where no book is simulated. */
    corruptNextBookUpdate?(): void;
  };
