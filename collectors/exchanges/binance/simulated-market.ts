/**
 * A `<symbol>@trade` payload exactly as Binance spot sends it today (ws_trade_current_format_2026-09-29:
 * no `b`/`a` order ids since 2023-06-18, `M` still present), in Binance's key order.
 */
export interface BinanceTradePayload {
  e: 'trade';
  E: number;
  s: string;
  t: number;
  p: string;
  q: string;
  T: number;
  m: boolean;
  M: true;
}

// BTCUSDT-like filters: prices in cents, quantities in 0.00001 lots; wire values carry 8 decimals.
const TICK = 0.01;
const LOT = 0.00001;
const LOTS_PER_UNIT = 100_000;

/** mulberry32: a small seeded PRNG, so a simulated session is reproducible. */
function seededRandom(seed: number): () => number {
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

  add(trade: BinanceTradePayload): void {
    this.count += 1;
    this.lots += Math.round(Number(trade.q) * LOTS_PER_UNIT);
  }

  value(): TradeTally {
    return { count: this.count, amount: this.lots / LOTS_PER_UNIT };
  }
}

/** One symbol's market: sequential trade ids, a random-walk price, taker orders of 1–3 fills. */
export class SimulatedMarket {
  readonly generated = new TallyCounter();
  private readonly random: () => number;
  private nextId: number;
  private priceTicks: number;

  constructor(
    /** Binance spelling, e.g. BTCUSDT. */
    readonly exchangeSymbol: string,
    seed: number,
  ) {
    this.random = seededRandom(seed);
    this.nextId = 1_000_000_000 + Math.floor(this.random() * 1_000_000);
    this.priceTicks = 1_000_000 + Math.floor(this.random() * 9_000_000);
  }

  /** The fills of the next taker order (at most `max`): one trade time, one side, consecutive ids. */
  nextFills(now: number, max: number): BinanceTradePayload[] {
    const fills = Math.min(max, 1 + Math.floor(this.random() * 3));
    const buyerIsMaker = this.random() < 0.5;
    const trades: BinanceTradePayload[] = [];
    for (let i = 0; i < fills; i++) {
      // A sell taker walks the book down, a buy taker up.
      this.priceTicks = Math.max(1, this.priceTicks + (buyerIsMaker ? -1 : 1) * Math.floor(this.random() * 3));
      const lots = 1 + Math.floor(this.random() * 50_000);
      const trade: BinanceTradePayload = {
        e: 'trade',
        E: now,
        s: this.exchangeSymbol,
        t: this.nextId++,
        p: (this.priceTicks * TICK).toFixed(8),
        q: (lots * LOT).toFixed(8),
        T: now,
        m: buyerIsMaker,
        M: true,
      };
      this.generated.add(trade);
      trades.push(trade);
    }
    return trades;
  }
}
