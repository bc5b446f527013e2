/**
 * The trade generator every exchange simulator runs: one SimulatedMarket per listed symbol, a
 * fine timer that owes `tradesPerSecond` for each, and the tallies of what was generated and of
 * what reached clients. How fills are framed and who receives them is the exchange's publisher.
 */
import { SimulatedMarket, TallyCounter, type PlantedValues, type SimulatedTrade, type TradeTally } from './market.js';

/** What was sent for one symbol: each record once, however many clients got it, and its tally. */
export interface SentRecords<T> extends TradeTally {
  trades: readonly T[];
}

/**
 * Frames one taker order's fills (1–3, same time and side) and sends them to the clients that
 * want them; returns the records that reached at least one client, which count as sent.
 */
export type Publisher<T> = (symbol: string, fills: readonly SimulatedTrade[], now: number) => readonly T[];

export interface TradeFeedOptions<T> {
  /** Unified `BASE-QUOTE` symbols, in listing order; the i-th market is seeded `seed + i`. */
  symbols: readonly string[];
  /** Trades generated per second for each symbol. */
  tradesPerSecond: number;
  seed: number;
  /** The exchange's spelling of a symbol given in either spelling; also keys `generated` and `sent`. */
  exchangeSymbol(symbol: string): string;
  /** A sent record's quantity, for the sent tally. */
  amount(record: T): string | number;
  /** How many matches a sent record stands for; 1 unless the exchange aggregates fills into one record. */
  matches?(record: T): number;
}

// Generated trades kept per symbol for REST history: hours at test rates, bounded at any rate.
const HISTORY_PER_SYMBOL = 200_000;

// Fine enough that a few hundred trades a second still arrive spread out rather than in bursts.
const TICK_MS = 10;

/** Generates trades for every listed symbol and keeps the generated and sent tallies. */
export class TradeFeed<T> {
  private readonly markets: Map<string, SimulatedMarket>;
  private readonly sentRecords: Map<string, T[]>;
  /** Every symbol's generated trades, oldest first, the oldest dropped beyond HISTORY_PER_SYMBOL. */
  private readonly historyOf: Map<string, SimulatedTrade[]>;
  private paused = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: TradeFeedOptions<T>) {
    this.markets = new Map(options.symbols.map((symbol, i) => [options.exchangeSymbol(symbol), new SimulatedMarket(options.seed + i)]));
    this.sentRecords = new Map([...this.markets.keys()].map((symbol): [string, T[]] => [symbol, []]));
    this.historyOf = new Map([...this.markets.keys()].map((symbol): [string, SimulatedTrade[]] => [symbol, []]));
  }

  /** The listed symbols in the exchange's spelling, in listing order. */
  get symbols(): string[] {
    return [...this.markets.keys()];
  }

  /** The price a symbol's market (either spelling) opened at; undefined when it is not listed. */
  openingPrice(symbol: string): number | undefined {
    return this.markets.get(this.options.exchangeSymbol(symbol))?.openingPrice;
  }

  /** The exchange's spelling of a symbol given in either spelling. */
  exchangeSymbol(symbol: string): string {
    return this.options.exchangeSymbol(symbol);
  }

  /** Whether `symbol`, spelled exactly as the exchange spells it, is listed. */
  lists(symbol: string): boolean {
    return this.markets.has(symbol);
  }

  /** Everything generated for a symbol (either spelling), subscribed or not. */
  generated(symbol: string): TradeTally {
    return this.markets.get(this.options.exchangeSymbol(symbol))?.generated.value() ?? { count: 0, amount: 0 };
  }

  /**
   * The trades generated for a symbol (either spelling), sent or not, oldest first: what the
   * exchange's REST history serves. Bounded: the oldest are forgotten first.
   */
  history(symbol: string): readonly SimulatedTrade[] {
    return this.historyOf.get(this.options.exchangeSymbol(symbol)) ?? [];
  }

  /** What reached at least one client for a symbol (either spelling). */
  sent(symbol: string): SentRecords<T> {
    const { amount, matches } = this.options;
    const trades = [...(this.sentRecords.get(this.options.exchangeSymbol(symbol)) ?? [])];
    const tally = new TallyCounter();
    trades.forEach((trade) => tally.add(amount(trade)));
    const value = tally.value();
    // Count what the exchange matched, like `generated`, even where one record stands for several matches.
    return { ...value, count: matches ? trades.reduce((n, trade) => n + matches(trade), 0) : value.count, trades };
  }

  /** The next trades of a listed symbol (either spelling) print these values instead of their own. */
  plant(symbol: string, values: readonly PlantedValues[]): void {
    const market = this.markets.get(this.options.exchangeSymbol(symbol));
    if (!market) throw new Error(`${symbol} is not listed`);
    market.plant(values);
  }

  /** Stops generating: paused time owes no trades. */
  pause(): void {
    this.paused = true;
  }

  /** Generates again, from now on. */
  resume(): void {
    this.paused = false;
  }

  /** Starts generating, handing each taker order's fills to `publish`. */
  start(publish: Publisher<T>): void {
    // The fractional remainder carries over from tick to tick, so the rate holds at any tradesPerSecond.
    let due = 0;
    let lastTick = Date.now();
    this.timer = setInterval(() => {
      const now = Date.now();
      if (!this.paused) due += ((now - lastTick) / 1000) * this.options.tradesPerSecond;
      lastTick = now;
      const owed = Math.floor(due);
      due -= owed;
      for (const [symbol, market] of this.markets) {
        for (let left = owed; left > 0; ) {
          const fills = market.nextFills(now, left);
          left -= fills.length;
          this.remember(symbol, fills);
          const delivered = publish(symbol, fills, now);
          if (delivered.length > 0) this.sentRecords.get(symbol)!.push(...delivered);
        }
      }
    }, TICK_MS);
  }

  private remember(symbol: string, fills: readonly SimulatedTrade[]): void {
    const kept = this.historyOf.get(symbol)!;
    kept.push(...fills);
    // Trimmed in chunks, so a busy feed does not shift the whole array on every trade.
    if (kept.length > HISTORY_PER_SYMBOL * 1.25) kept.splice(0, kept.length - HISTORY_PER_SYMBOL);
  }

  /** Stops the generator for good (the simulator is closing). */
  stop(): void {
    clearInterval(this.timer);
  }
}
