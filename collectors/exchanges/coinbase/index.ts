import { MiB, type Exchange } from '../../exchange.js';
import { coinbaseBook } from './book.js';
import { coinbaseDepthRest } from './depth-rest.js';
import { coinbaseInstruments } from './instruments.js';
import { coinbaseKlines } from './klines.js';
import { coinbaseRestLimits } from './rest-limits.js';
import { coinbaseTradeHistory } from './trade-history.js';
import { coinbaseConnection } from './connection.js';
import { coinbaseTrades } from './trades.js';

/** Coinbase: everything the engines need of it; registered in ../index.ts. */
export const coinbase = {
  name: 'coinbase',
  symbols: { toExchange: (symbol: string) => coinbaseConnection.toExchangeSymbol(symbol) },
  endpoints: { wsUrl: coinbaseConnection.defaultWsUrl, restUrl: coinbaseKlines.defaultRestUrl },
  restLimits: coinbaseRestLimits,
  // Sizes measured in ../shared/fixtures/exchanges (longest line of each recorded frame file).
  // level2_batch starts with the WHOLE book: SKL-USD's is 40 KB for 2,155 levels (~19 B a level,
  // ws_level2_snapshot_and_l2update_SKL-USD_first400.jsonl). BTC-USD's is several MB: it overflows
  // aiohttp's 4 MiB default "more than 9 times out of 10" (ccxt/ccxt#23597) and fits a 10 MB buffer
  // (barrywood78/Coinbase.AdvancedTrade#12): 4 × ~8 MB.
  maxFrameBytes: 32 * MiB,
  capabilities: {
    trades: coinbaseTrades,
    tradeHistory: coinbaseTradeHistory,
    instruments: coinbaseInstruments,
    klines: coinbaseKlines,
    book: coinbaseBook,
    depthRest: coinbaseDepthRest,
    status: coinbaseKlines.health,
  },
  // Loaded on first use: the daemon never runs a simulator.
  simulator: async (options) => (await import('./simulator/index.js')).startCoinbaseSimulator(options),
} as const satisfies Exchange;
