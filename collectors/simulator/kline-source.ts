/**
 * The candles every exchange simulator serves over REST. Before the simulator started they are
 * synthetic (a deterministic function of symbol and minute, so any range of history is there
 * at once); from its start they are built from the trades it generated, so a client computing
 * candles from the live trades must arrive at the same numbers. Each exchange's file only
 * frames these candles in its own row layout, order and paging.
 */
import type { Candle } from '../klines/kline.js';
import { alignUp } from '../klines/open-times.js';
import type { SimulatedTrade } from './market.js';

/** One served candle; numbers are exact decimals of the simulated market (prices in cents). */
export type SimulatedKline = Candle;

/** Candles missing from, or wrong in, the history, by bucket index (open time / interval). */
export interface KlineHoles {
  /** Every N-th bucket is served with its low above its high: a candle no exchange should serve, and a client should refuse. */
  invertedEvery?: number;
  /** Every N-th bucket is never served (the exchange does not have it). */
  permanentEvery?: number;
  /** Every N-th bucket (offset by one from the permanent ones) is left out of the first answer that should hold it, and served after. */
  transientEvery?: number;
}

export interface KlineSourceOptions {
  /** Seeds the synthetic history. */
  seed: number;
  /** When trades started being generated: buckets from here on are built from trades. */
  startedAt: number;
  /** A listed symbol's generated trades, oldest first (TradeFeed.history). */
  tradesOf(exchangeSymbol: string): readonly SimulatedTrade[];
  /** The price the symbol's market opened at (TradeFeed.openingPrice): synthetic history leads up to it. */
  openingPrice?(exchangeSymbol: string): number | undefined;
  /**
   * What the exchange does with a bucket without trades: `flat` serves a candle at the previous
   * close with volume 0 (Binance, OKX, Bybit, Kraken), `skip` leaves it out (Coinbase).
   */
  emptyCandles: 'flat' | 'skip';
  holes?: KlineHoles;
}

const MINUTE = 60_000;

/** A 32-bit hash of a few integers (xorshift-multiply), for deterministic synthetic candles. */
function hash(...values: number[]): number {
  let h = 0x811c9dc5;
  for (const v of values) {
    h ^= v & 0xffffffff;
    h = Math.imul(h, 0x01000193);
    h ^= Math.floor(v / 0x100000000);
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  }
  return (h ^ (h >>> 13)) >>> 0;
}

/** A symbol's identity as a number, for hashing. */
function symbolNumber(symbol: string): number {
  let n = 7;
  for (let i = 0; i < symbol.length; i++) n = Math.imul(n, 31) + symbol.charCodeAt(i);
  return n >>> 0;
}

const cents = (x: number): number => Math.round(x * 100) / 100;

/** Serves the simulated market's candles for any interval of whole minutes. */
export class SimulatedKlines {
  private readonly transientServed = new Set<string>();

  constructor(private readonly options: KlineSourceOptions) {}

  /**
   * The candles of a symbol with open time in [from, to] (aligned down to `intervalMs`) that
   * have started by `now`, ascending; the last may still be open. Holes are left out.
   */
  range(exchangeSymbol: string, intervalMs: number, from: number, to: number, now = Date.now()): SimulatedKline[] {
    const out: SimulatedKline[] = [];
    const first = alignUp(from, intervalMs);
    let previousClose: number | undefined;
    for (let open = first; open <= to && open <= now; open += intervalMs) {
      if (this.isHole(exchangeSymbol, intervalMs, open)) continue;
      const candle = this.candle(exchangeSymbol, intervalMs, open, Math.min(open + intervalMs, now + 1));
      const inverted = (k: SimulatedKline): SimulatedKline => (this.isInverted(intervalMs, open) ? { ...k, low: k.high + 1 } : k);
      if (candle) {
        out.push(inverted(candle));
        previousClose = candle.close;
        continue;
      }
      if (this.options.emptyCandles === 'skip') continue;
      const close = previousClose ?? this.closeBefore(exchangeSymbol, open);
      // Empty ones too (a bucket just opened has no trade yet): every N-th bucket, whatever it holds.
      out.push(inverted({ openTime: open, open: close, high: close, low: close, close, volume: 0, quoteVolume: 0, trades: 0 }));
    }
    return out;
  }

  private isInverted(intervalMs: number, open: number): boolean {
    const every = this.options.holes?.invertedEvery;
    return every !== undefined && Math.floor(open / intervalMs) % every === 0;
  }

  /** Whether the candle at `open` is left out of this answer (and remembers serving transient ones). */
  private isHole(symbol: string, intervalMs: number, open: number): boolean {
    const { permanentEvery, transientEvery } = this.options.holes ?? {};
    const index = Math.floor(open / intervalMs);
    if (permanentEvery && index % permanentEvery === 0) return true;
    if (transientEvery && index % transientEvery === 1 % transientEvery) {
      const id = `${symbol} ${intervalMs} ${open}`;
      if (!this.transientServed.has(id)) {
        this.transientServed.add(id);
        return true;
      }
    }
    return false;
  }

  /** The candle over [open, end), or undefined when no trade fell in it. */
  private candle(symbol: string, intervalMs: number, open: number, end: number): SimulatedKline | undefined {
    let candle: SimulatedKline | undefined;
    for (let minute = open; minute < end; minute += MINUTE) {
      const unit = minute + MINUTE <= this.options.startedAt ? this.syntheticMinute(symbol, minute) : this.tradedMinute(symbol, minute, Math.min(minute + MINUTE, end));
      if (!unit) continue;
      if (!candle) {
        candle = { ...unit, openTime: open };
        continue;
      }
      candle.high = Math.max(candle.high, unit.high);
      candle.low = Math.min(candle.low, unit.low);
      candle.close = unit.close;
      candle.volume += unit.volume;
      candle.quoteVolume += unit.quoteVolume;
      candle.trades += unit.trades;
    }
    if (candle) {
      candle.volume = Math.round(candle.volume * 1e8) / 1e8;
      candle.quoteVolume = Math.round(candle.quoteVolume * 1e8) / 1e8;
    }
    return candle;
  }

  /**
   * A synthetic 1-minute candle: a slow wave plus noise keyed by symbol and minute, around the
   * price the market opened at, so the history runs into the first traded candle without a cliff.
   */
  private syntheticMinute(symbol: string, minute: number): SimulatedKline {
    const base = this.options.openingPrice?.(symbol) ?? 20_000 + (symbolNumber(symbol) % 50_000);
    const startMinute = Math.floor(this.options.startedAt / MINUTE) * MINUTE;
    const price = (m: number): number => {
      // Zero at the start: the wave only moves the history before it.
      const wave = Math.sin((m - startMinute) / (MINUTE * 720)) * base * 0.05;
      const noise = ((hash(this.options.seed, symbolNumber(symbol), m / MINUTE) % 2001) - 1000) / 100;
      return cents(base + wave + noise);
    };
    const open = price(minute);
    const close = price(minute + MINUTE);
    const r = hash(this.options.seed + 1, symbolNumber(symbol), minute / MINUTE);
    const high = cents(Math.max(open, close) + (r % 500) / 100);
    const low = cents(Math.min(open, close) - ((r >>> 9) % 500) / 100);
    const trades = 1 + ((r >>> 18) % 200);
    const volume = Math.round(trades * 0.0137 * 1e8) / 1e8;
    return { openTime: minute, open, high, low, close, volume, quoteVolume: Math.round(volume * ((open + close) / 2) * 1e8) / 1e8, trades };
  }

  /** The 1-minute candle of the generated trades in [minute, end), or undefined when there were none. */
  private tradedMinute(symbol: string, minute: number, end: number): SimulatedKline | undefined {
    const trades = this.options.tradesOf(symbol);
    let i = lowerBound(trades, minute);
    if (i >= trades.length || trades[i]!.time >= end) return undefined;
    const first = Number(trades[i]!.price);
    const candle: SimulatedKline = { openTime: minute, open: first, high: first, low: first, close: first, volume: 0, quoteVolume: 0, trades: 0 };
    for (; i < trades.length && trades[i]!.time < end; i++) {
      const price = Number(trades[i]!.price);
      const amount = Number(trades[i]!.amount);
      candle.high = Math.max(candle.high, price);
      candle.low = Math.min(candle.low, price);
      candle.close = price;
      candle.volume += amount;
      candle.quoteVolume += price * amount;
      candle.trades += 1;
    }
    return candle;
  }

  /** The close of the last candle before `open`: the last trade before it, else the synthetic history. */
  private closeBefore(symbol: string, open: number): number {
    const trades = this.options.tradesOf(symbol);
    const i = lowerBound(trades, open) - 1;
    if (i >= 0) return Number(trades[i]!.price);
    const lastSynthetic = Math.min(open, Math.floor(this.options.startedAt / MINUTE) * MINUTE) - MINUTE;
    return this.syntheticMinute(symbol, lastSynthetic).close;
  }
}

/** Index of the first trade at or after `time` (trades ascend by time). */
function lowerBound(trades: readonly SimulatedTrade[], time: number): number {
  let lo = 0;
  let hi = trades.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (trades[mid]!.time < time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
