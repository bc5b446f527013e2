/**
 * The exchange-neutral market behind every exchange simulator: sequential trade ids, a
 * random-walk price and taker orders of 1–3 fills. Each exchange's simulator only frames
 * these trades in its own wire format.
 */

/** One generated trade, with decimals as the exchange would print them. */
export interface SimulatedTrade {
  /** Sequential per symbol. */
  id: number;
  /** Price with 8 decimals, e.g. "65000.12000000". */
  price: string;
  /** Quantity with 8 decimals, in whole lots. */
  amount: string;
  /** Trade time, ms. */
  time: number;
  /** 1 when the taker bought, -1 when the taker sold. */
  takerSide: 1 | -1;
}

// BTCUSDT-like filters: prices in cents, quantities in 0.00001 lots; wire values carry 8 decimals.
const TICK = 0.01;
const LOT = 0.00001;
const LOTS_PER_UNIT = 100_000;

/** mulberry32: a small seeded PRNG, so a simulated session (trades, book) is reproducible. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Count and exact total quantity of a set of simulated trades. */
export interface TradeTally {
  count: number;
  /** Sum of quantities, computed in whole lots, so it is the correctly rounded decimal sum. */
  amount: number;
}

/** Keeps a TradeTally in whole lots. */
export class TallyCounter {
  private count = 0;
  private lots = 0;

  /** Adds one trade's quantity (a decimal string or number). */
  add(amount: string | number): void {
    this.count += 1;
    this.lots += Math.round(Number(amount) * LOTS_PER_UNIT);
  }

  value(): TradeTally {
    return { count: this.count, amount: this.lots / LOTS_PER_UNIT };
  }
}

/** Wire values that replace a generated trade's: a price or quantity no real market prints (tests). */
export type PlantedValues = Partial<Pick<SimulatedTrade, 'price' | 'amount'>>;

/** One symbol's simulated market. */
export class SimulatedMarket {
  readonly generated = new TallyCounter();
  private readonly random: () => number;
  /** Values the next trades take instead of their own, one entry per trade. */
  private readonly planted: PlantedValues[] = [];
  private nextId: number;
  private priceTicks: number;
  /** The price the market opened at (before its first trade). */
  readonly openingPrice: number;

  constructor(seed: number) {
    this.random = seededRandom(seed);
    this.nextId = 1_000_000_000 + Math.floor(this.random() * 1_000_000);
    this.priceTicks = 1_000_000 + Math.floor(this.random() * 9_000_000);
    this.openingPrice = this.priceTicks * TICK;
  }

  /** The next trades (ids and times as usual) print these values instead of their own; the walk goes on unchanged. */
  plant(values: readonly PlantedValues[]): void {
    this.planted.push(...values);
  }

  /** The fills of the next taker order (at most `max`): one trade time, one side, consecutive ids. */
  nextFills(now: number, max: number): SimulatedTrade[] {
    const fills = Math.min(max, 1 + Math.floor(this.random() * 3));
    const takerSide = this.random() < 0.5 ? -1 : 1;
    const trades: SimulatedTrade[] = [];
    for (let i = 0; i < fills; i++) {
      // A sell taker walks the book down, a buy taker up.
      this.priceTicks = Math.max(1, this.priceTicks + takerSide * Math.floor(this.random() * 3));
      const lots = 1 + Math.floor(this.random() * 50_000);
      const trade: SimulatedTrade = {
        id: this.nextId++,
        price: (this.priceTicks * TICK).toFixed(8),
        amount: (lots * LOT).toFixed(8),
        time: now,
        takerSide,
        ...this.planted.shift(),
      };
      this.generated.add(trade.amount);
      trades.push(trade);
    }
    return trades;
  }
}
