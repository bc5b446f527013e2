/**
 * The exchanges the suites over every exchange run against (test/conformance/ and the end-to-end
 * files): each built-in exchange with a simulator, read off the one list
 * (collectors/exchanges/index.ts), with the one fact about it those tests need and cannot read off
 * its Exchange object, the quote of the symbols they use. A new exchange is one row in QUOTES; a
 * suite that needs more of it (how its sent trades read, its refusal) has its own table beside it.
 */
import type { Capabilities, Exchange } from '../../collectors/exchange.js';
import { exchanges } from '../../collectors/exchanges/index.js';
import type { ExchangeSimulator, SimulatorStartOptions } from '../../collectors/simulator/controls.js';

/** The quote of the symbols the tests use on each exchange (BTC-<quote>, ETH-<quote>), as it quotes its majors. */
export const QUOTES: Readonly<Record<string, 'USDT' | 'USD'>> = {
  binance: 'USDT',
  okx: 'USDT',
  bybit: 'USDT',
  coinbase: 'USD',
  kraken: 'USD',
  gateio: 'USDT',
  bitstamp: 'USD',
};

/** One exchange as the suites over every exchange see it: a `describe.each` row (`$name` in titles). */
export interface SimulatedExchange {
  name: string;
  exchange: Exchange;
  /** BTC and ETH in its quote (BTC-USDT on Binance, BTC-USD on Coinbase): the symbols the tests list in its simulator. */
  btc: string;
  eth: string;
  /** `<base>-<its quote>`, for a symbol it does not list: `symbol('FOO')`. */
  symbol(base: string): string;
  /** Starts its simulator with these options (the exchange's own knobs included), as the test types it. */
  start<Simulator extends ExchangeSimulator = ExchangeSimulator, Options extends SimulatorStartOptions = SimulatorStartOptions>(options: Options): Promise<Simulator>;
}

/** The exchanges that have a simulator, in the list's order. */
export const SIMULATED: readonly Exchange[] = (exchanges as readonly Exchange[]).filter((exchange) => exchange.simulator !== undefined);

/** The exchanges with a simulator and each of `capabilities`, in the list's order; throws for one without a row in QUOTES. */
export function simulatedExchanges(...capabilities: Array<keyof Capabilities>): SimulatedExchange[] {
  return SIMULATED.filter((exchange) => capabilities.every((c) => exchange.capabilities[c] !== undefined)).map((exchange) => {
    const quote = QUOTES[exchange.name];
    if (quote === undefined) throw new Error(`${exchange.name} has no row in test/support/simulated-exchanges.ts QUOTES: add the quote its tests use`);
    const symbol = (base: string): string => `${base}-${quote}`;
    return {
      name: exchange.name,
      exchange,
      btc: symbol('BTC'),
      eth: symbol('ETH'),
      symbol,
      start: async <Simulator extends ExchangeSimulator>(options: SimulatorStartOptions) => (await exchange.simulator!(options)) as Simulator,
    };
  });
}
