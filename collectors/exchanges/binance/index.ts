import { MiB, type Exchange } from '../../exchange.js';
import { binanceBook } from './book.js';
import { binanceDepthRest } from './depth-rest.js';
import { binanceInstruments } from './instruments.js';
import { binanceKlines } from './klines.js';
import { binanceRestLimits } from './rest-limits.js';
import { binanceTradeHistory } from './trade-history.js';
import { binanceConnection } from './connection.js';
import { binanceTrades } from './trades.js';

/** Binance (spot): everything the engines need of it; registered in ../index.ts. */
export const binance = {
  name: 'binance',
  symbols: { toExchange: (symbol: string) => binanceConnection.toExchangeSymbol(symbol) },
  endpoints: { wsUrl: binanceConnection.defaultWsUrl, restUrl: binanceKlines.defaultRestUrl },
  restLimits: binanceRestLimits,
  // Sizes measured in ../shared/fixtures/exchanges (longest line of each recorded frame file).
  // Largest recorded: depth20 snapshot 1.3 KB (ws_depth20_100ms_FLMUSDT_full20.json), combined-stream
  // frames 0.5 KB; trades come one per frame. The 1 MiB floor leaves ~800× room.
  maxFrameBytes: MiB,
  capabilities: {
    trades: binanceTrades,
    tradeHistory: binanceTradeHistory,
    instruments: binanceInstruments,
    klines: binanceKlines,
    book: binanceBook,
    depthRest: binanceDepthRest,
    status: binanceKlines.health,
  },
  // Loaded on first use: the daemon never runs a simulator.
  simulator: async (options) => (await import('./simulator/index.js')).startBinanceSimulator(options),
} as const satisfies Exchange;
