import { silentLogger, type Logger } from '../../common/logger.js';
import type { Trade } from './trade.js';

/** Receives one new trade of the exchange and symbol it subscribed to. */
export type TradeListener = (trade: Trade) => void;

// Sampled, so a listener failing on every trade does not flood the log.
const LISTENER_ERROR_LOG_EVERY = 1000;

/**
 * Where the trade streams of a process hand on their new trades (after dedup, live and
 * backfilled alike, in the order they are stored), for collectors that derive data from them
 * (candles). One per `loadDataSourceCollectors` call. Publishing costs nothing while nobody
 * listens, and nothing per trade beyond two map look-ups while others do.
 */
export class TradeTap {
  /** exchange → symbol → listeners. */
  private readonly listeners = new Map<string, Map<string, Set<TradeListener>>>();
  private subscriptions = 0;
  private listenerErrors = 0;

  constructor(private readonly logger: Logger = silentLogger) {}

  /** Calls `listener` with every new trade of `exchange`'s `symbol`; returns the unsubscribe function. */
  subscribe(exchange: string, symbol: string, listener: TradeListener): () => void {
    let ofExchange = this.listeners.get(exchange);
    if (!ofExchange) this.listeners.set(exchange, (ofExchange = new Map()));
    let ofSymbol = ofExchange.get(symbol);
    if (!ofSymbol) ofExchange.set(symbol, (ofSymbol = new Set()));
    // A Set would take the same function twice as once: wrap it, so each subscription is its own.
    const entry: TradeListener = (trade) => listener(trade);
    ofSymbol.add(entry);
    this.subscriptions += 1;
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      ofSymbol.delete(entry);
      this.subscriptions -= 1;
    };
  }

  /** Whether anyone listens at all. */
  get hasListeners(): boolean {
    return this.subscriptions > 0;
  }

  /** Hands new trades, oldest first, to the listeners of their exchange and symbol. */
  publish(trades: readonly Trade[]): void {
    if (this.subscriptions === 0) return;
    for (const trade of trades) {
      const listeners = this.listeners.get(trade.exchange)?.get(trade.symbol);
      if (listeners === undefined || listeners.size === 0) continue;
      for (const listener of listeners) {
        // A failing listener must not break the trade stream that publishes.
        try {
          listener(trade);
        } catch (err) {
          this.countListenerError(trade, err);
        }
      }
    }
  }

  private countListenerError(trade: Trade, err: unknown): void {
    this.listenerErrors += 1;
    if (this.listenerErrors === 1 || this.listenerErrors % LISTENER_ERROR_LOG_EVERY === 0) {
      const reason = err instanceof Error ? err.message : String(err);
      this.logger.error({ exchange: trade.exchange, symbol: trade.symbol, listenerErrors: this.listenerErrors, err: reason }, 'a trade listener failed');
    }
  }
}
