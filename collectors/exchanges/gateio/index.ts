import { MiB, type Exchange } from '../../exchange.js';
import { gateioBook } from './book.js';
import { gateioDepthRest } from './depth-rest.js';
import { gateioInstruments } from './instruments.js';
import { gateioKlines } from './klines.js';
import { gateioRestLimits } from './rest-limits.js';
import { gateioTradeHistory } from './trade-history.js';
import { gateioConnection } from './connection.js';
import { gateioTrades } from './trades.js';

/** Gate.io (spot, API v4): everything the engines need of it; registered in ../index.ts. */
export const gateio = {
  name: 'gateio',
  symbols: { toExchange: (symbol: string) => gateioConnection.toExchangeSymbol(symbol) },
  endpoints: { wsUrl: gateioConnection.defaultWsUrl, restUrl: gateioKlines.defaultRestUrl },
  restLimits: gateioRestLimits,
  // Sizes measured in ../shared/fixtures/exchanges: spot.order_book 20 levels a side 1.0 KB
  // (ws_order_book_BTC_USDT_20levels_2022-09-08_cmp.json, the channel read); the diff channel, not
  // read, 4.3 KB at 100 levels (ws_order_book_update_100ms_10pairs_2021-04-22.jsonl); spot.trades one
  // trade a frame (0.3 KB). 4 × 5 KB is under the floor.
  maxFrameBytes: MiB,
  capabilities: {
    trades: gateioTrades,
    tradeHistory: gateioTradeHistory,
    instruments: gateioInstruments,
    klines: gateioKlines,
    status: gateioKlines.health,
    book: gateioBook,
    depthRest: gateioDepthRest,
  },
  // Loaded on first use: the daemon never runs a simulator.
  simulator: async (options) => (await import('./simulator/index.js')).startGateioSimulator(options),
} as const satisfies Exchange;
