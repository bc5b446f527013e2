/**
 * A trade stream's state per symbol: a Map that remembers the entry looked up last. A stream's
 * frames run on one symbol for long stretches, and a Map lookup per trade in every stage of the
 * trade path adds up at hundreds of thousands of trades a second.
 */
export class PerSymbol<T> {
  private readonly entries = new Map<string, T>();
  private lastSymbol: string | undefined;
  private last: T | undefined;

  constructor(private readonly create: () => T) {}

  /** The symbol's entry, created on first use. */
  of(symbol: string): T {
    if (symbol === this.lastSymbol) return this.last!;
    let entry = this.entries.get(symbol);
    if (entry === undefined) this.entries.set(symbol, (entry = this.create()));
    this.lastSymbol = symbol;
    this.last = entry;
    return entry;
  }

  /** The symbol's entry, or undefined when it has none (nothing is created). */
  peek(symbol: string): T | undefined {
    return symbol === this.lastSymbol ? this.last : this.entries.get(symbol);
  }

  /** Every entry, in the order the symbols first came. */
  values(): IterableIterator<T> {
    return this.entries.values();
  }
}
