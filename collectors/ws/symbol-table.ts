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
