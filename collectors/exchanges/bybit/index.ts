import { MiB, type Exchange } from '../../exchange.js';
import { bybitBook } from './book.js';
import { bybitDepthRest } from './depth-rest.js';
import { bybitInstruments } from './instruments.js';
import { bybitKlines } from './klines.js';
import { bybitRestLimits } from './rest-limits.js';
import { bybitConnection } from './connection.js';
import { bybitTrades } from './trades.js';

/** Bybit (spot): everything the engines need of it; registered in ../index.ts. */
export const bybit = {
  name: 'bybit',
  symbols: { toExchange: (symbol: string) => bybitConnection.toExchangeSymbol(symbol) },
  endpoints: { wsUrl: bybitConnection.defaultWsUrl, restUrl: bybitKlines.defaultRestUrl },
  restLimits: bybitRestLimits,
  // Sizes measured in ../shared/fixtures/exchanges (longest line of each recorded frame file).
  // orderbook.50 spot snapshot 2.5 KB (ws_orderbook50_spot_BTCUSDT_snapshot_delta_2024-11-08.jsonl),
  // orderbook.500 (linear) 18 KB; publicTrade pushes batch trades at ~0.2 KB each.
  maxFrameBytes: MiB,
  capabilities: {
    trades: bybitTrades,
    // No trade history by id over REST: a gap in its trades is recorded, not filled.
    instruments: bybitInstruments,
    klines: bybitKlines,
    book: bybitBook,
    depthRest: bybitDepthRest,
    status: bybitKlines.health,
  },
  // Loaded on first use: the daemon never runs a simulator.
  simulator: async (options) => (await import('./simulator/index.js')).startBybitSimulator(options),
} as const satisfies Exchange;
