/**
 * A Map of mutable entries, created on first use, that remembers the entry looked up last. Hot
 * paths look up the same key many times in a row (a trade stream's frames run on one symbol for
 * long stretches, a batch holds one series), and a Map lookup per trade in every stage adds up
 * at hundreds of thousands of trades a second.
 */
export class LastUsedMap<T> {
  private readonly entries = new Map<string, T>();
  private lastKey: string | undefined;
  private last: T | undefined;

  constructor(private readonly create: (key: string) => T) {}

  /** The key's entry, created on first use. */
  of(key: string): T {
    if (key === this.lastKey) return this.last!;
    let entry = this.entries.get(key);
    if (entry === undefined) this.entries.set(key, (entry = this.create(key)));
    this.lastKey = key;
    this.last = entry;
    return entry;
  }

  /** The key's entry, or undefined when it has none (nothing is created). */
  peek(key: string): T | undefined {
    return key === this.lastKey ? this.last : this.entries.get(key);
  }

  /** Forgets every entry. */
  clear(): void {
    this.entries.clear();
    this.lastKey = undefined;
    this.last = undefined;
  }

  /** Every entry, in the order the keys first came. */
  values(): IterableIterator<T> {
    return this.entries.values();
  }
}
