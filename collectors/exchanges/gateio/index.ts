import { MiB, type Exchange } from '../../exchange.js';
import { gateioInstruments } from './instruments.js';
import { gateioKlines } from './klines.js';
import { gateioRestLimits } from './rest-limits.js';
import { gateioTradeHistory } from './trade-history.js';
import { gateioTrades } from './trades.js';

/** Gate.io (spot, API v4): everything the engines need of it; registered in ../index.ts. No order book yet. */
export const gateio = {
  name: 'gateio',
  symbols: { toExchange: (symbol: string) => gateioTrades.toExchangeSymbol(symbol) },
  endpoints: { wsUrl: gateioTrades.defaultWsUrl, restUrl: gateioKlines.defaultRestUrl },
  restLimits: gateioRestLimits,
  // Sizes measured in ../shared/fixtures/exchanges: spot.order_book_update 100-level frames 4.3 KB
  // (ws_order_book_update_100ms_10pairs_2021-04-22.jsonl); spot.trades one trade a frame (0.3 KB).
  // 4 × 5 KB is under the floor.
  maxFrameBytes: MiB,
  capabilities: {
    trades: gateioTrades,
    tradeHistory: gateioTradeHistory,
    instruments: gateioInstruments,
    klines: gateioKlines,
    status: gateioKlines.health,
  },
  // Loaded on first use: the daemon never runs a simulator.
  simulator: async (options) => (await import('./simulator.js')).startGateioSimulator(options),
} as const satisfies Exchange;
