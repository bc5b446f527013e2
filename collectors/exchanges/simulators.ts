import { startBinanceSimulator } from './binance/simulator.js';
import { startBybitSimulator } from './bybit/simulator.js';
import { startCoinbaseSimulator } from './coinbase/simulator.js';
import { startGateioSimulator } from './gateio/simulator.js';
import { startKrakenSimulator } from './kraken/simulator.js';
import { startOkxSimulator } from './okx/simulator.js';
import type { RestMarketControls, SimulatorControls, SimulatorStartOptions } from '../simulator/controls.js';

/** What `collector simulate` needs of an exchange simulator: its URLs, its fault switches, close. */
export type ExchangeSimulator = Pick<
  SimulatorControls<unknown>,
  'wsUrl' | 'restUrl' | 'close' | 'dropConnections' | 'sendMalformed' | 'pause' | 'resume' | 'refuseSubscriptions' | 'throttleRest'
> &
  Pick<RestMarketControls, 'setMaintenance'> & {
    /** Fault: the next order-book update fails the client's checks; absent where no book is simulated. */
    corruptNextBookUpdate?(): void;
  };

export type SimulatorOptions = SimulatorStartOptions;

/** Exchange simulators by exchange name: adding one is adding its file and one line here. */
export const exchangeSimulators: Readonly<Record<string, (options: SimulatorOptions) => Promise<ExchangeSimulator>>> = {
  binance: startBinanceSimulator,
  okx: startOkxSimulator,
  bybit: startBybitSimulator,
  coinbase: startCoinbaseSimulator,
  kraken: startKrakenSimulator,
  gateio: startGateioSimulator,
};
