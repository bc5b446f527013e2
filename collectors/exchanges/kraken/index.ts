import { MiB, type Exchange } from '../../exchange.js';
import { krakenBook } from './book.js';
import { krakenDepthRest } from './depth-rest.js';
import { krakenInstruments } from './instruments.js';
import { krakenKlines } from './klines.js';
import { krakenRestLimits } from './rest-limits.js';
import { krakenTradeHistory } from './trade-history.js';
import { krakenConnection } from './connection.js';
import { krakenTrades } from './trades.js';

/** Kraken: everything the engines need of it; registered in ../index.ts. */
export const kraken = {
  name: 'kraken',
  symbols: { toExchange: (symbol: string) => krakenConnection.toExchangeSymbol(symbol) },
  endpoints: { wsUrl: krakenConnection.defaultWsUrl, restUrl: krakenKlines.defaultRestUrl },
  restLimits: krakenRestLimits,
  // Sizes measured in ../shared/fixtures/exchanges (longest line of each recorded frame file).
  // book depth 100 snapshot: the depth-10 one is 0.8 KB (ws_v2_book_ETH-USD_depth10_*.jsonl), so ~8 KB
  // at 100 levels; trade updates batch trades at ~0.2 KB each.
  maxFrameBytes: MiB,
  capabilities: {
    trades: krakenTrades,
    tradeHistory: krakenTradeHistory,
    instruments: krakenInstruments,
    klines: krakenKlines,
    book: krakenBook,
    depthRest: krakenDepthRest,
    status: krakenKlines.health,
  },
  // Loaded on first use: the daemon never runs a simulator.
  simulator: async (options) => (await import('./simulator/index.js')).startKrakenSimulator(options),
} as const satisfies Exchange;
