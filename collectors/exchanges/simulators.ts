import { startBinanceSimulator } from './binance/simulator.js';
import { startBybitSimulator } from './bybit/simulator.js';
import { startCoinbaseSimulator } from './coinbase/simulator.js';
import { startKrakenSimulator } from './kraken/simulator.js';
import { startOkxSimulator } from './okx/simulator.js';

/** What `collector simulate` needs of an exchange simulator. */
export interface ExchangeSimulator {
  wsUrl: string;
  restUrl: string;
  close(): Promise<void>;
}

export interface SimulatorOptions {
  port?: number;
  symbols: readonly string[];
  tradesPerSecond: number;
}

/** Exchange simulators by exchange name: adding one is adding its file and one line here. */
export const exchangeSimulators: Readonly<Record<string, (options: SimulatorOptions) => Promise<ExchangeSimulator>>> = {
  binance: startBinanceSimulator,
  okx: startOkxSimulator,
  bybit: startBybitSimulator,
  coinbase: startCoinbaseSimulator,
  kraken: startKrakenSimulator,
};
