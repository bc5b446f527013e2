import { MiB, type Exchange } from '../../exchange.js';
import { bitstampBook } from './book.js';
import { bitstampDepthRest } from './depth-rest.js';
import { bitstampRestLimits } from './rest-limits.js';
import { bitstampInstruments } from './instruments.js';
import { bitstampKlines } from './klines.js';
import { bitstampConnection } from './connection.js';
import { bitstampTrades } from './trades.js';

/** Bitstamp (spot): everything the engines need of it; registered in ../index.ts. */
export const bitstamp = {
  name: 'bitstamp',
  symbols: { toExchange: (symbol: string) => bitstampConnection.toExchangeSymbol(symbol) },
  endpoints: { wsUrl: bitstampConnection.defaultWsUrl, restUrl: bitstampInstruments.defaultRestUrl },
  restLimits: bitstampRestLimits,
  // Sizes measured in ../shared/fixtures/exchanges/bitstamp (longest line of each frame file):
  // order_book_btcusd 100 levels a side 5.5 KB (ws_order_book_btcusd_100levels_2020_gct.jsonl),
  // a diff_order_book frame under 2 KB, a trade 0.3 KB. 4 × 5.5 KB is under the floor.
  maxFrameBytes: MiB,
  capabilities: {
    trades: bitstampTrades,
    // No trade history by id over REST (transactions serve a time window): a gap is recorded, not filled.
    instruments: bitstampInstruments,
    klines: bitstampKlines,
    book: bitstampBook,
    depthRest: bitstampDepthRest,
    status: bitstampKlines.health,
  },
  // Loaded on first use: the daemon never runs a simulator.
  simulator: async (options) => (await import('./simulator/index.js')).startBitstampSimulator(options),
} as const satisfies Exchange;
