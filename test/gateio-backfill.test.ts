import { startGateioSimulator, type GateioSimulatorOptions } from '../collectors/exchanges/gateio/simulator.js';
import { noGapsNoDoubles } from './support/backfill.js';

// Gate's ids increase but are not consecutive per pair: a reconnect pages /spot/trades by last_id from
// the last stored id to the first live trade; a tight budget makes the backfill meet 429s too.
noGapsNoDoubles<GateioSimulatorOptions>('Gate.io', 'gateio', startGateioSimulator, ['BTC-USDT', 'ETH-USDT'], { restRequestLimit: { requests: 3, windowMs: 1000 } });
