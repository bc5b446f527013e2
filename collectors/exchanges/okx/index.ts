import { MiB, type Exchange } from '../../exchange.js';
import { okxBook } from './book.js';
import { okxDepthRest } from './depth-rest.js';
import { okxInstruments } from './instruments.js';
import { okxKlines } from './klines.js';
import { okxRestLimits } from './rest-limits.js';
import { okxTradeHistory } from './trade-history.js';
import { okxConnection } from './connection.js';
import { okxTrades } from './trades.js';

/** OKX (spot): everything the engines need of it; registered in ../index.ts. */
export const okx = {
  name: 'okx',
  symbols: { toExchange: (symbol: string) => okxConnection.toExchangeSymbol(symbol) },
  endpoints: { wsUrl: okxConnection.defaultWsUrl, restUrl: okxKlines.defaultRestUrl },
  restLimits: okxRestLimits,
  // Sizes measured in ../shared/fixtures/exchanges (longest line of each recorded frame file).
  // `books` 400-level snapshot 25 KB (ws_books_BTC-USDT_snapshot_then_updates.jsonl); books5 0.4 KB;
  // a trades push holds one taker order's fills. 4 × 25 KB is under the floor.
  maxFrameBytes: MiB,
  capabilities: {
    trades: okxTrades,
    tradeHistory: okxTradeHistory,
    instruments: okxInstruments,
    klines: okxKlines,
    book: okxBook,
    depthRest: okxDepthRest,
    status: okxKlines.health,
  },
  // Loaded on first use: the daemon never runs a simulator.
  simulator: async (options) => (await import('./simulator/index.js')).startOkxSimulator(options),
} as const satisfies Exchange;
