/**
 * The built-in collector kinds, collecting from the built-in exchanges: where the engines meet
 * the list of exchanges (they never import it themselves).
 */
import { createCandlesCollectorKind } from './candles/kind.js';
import { builtInExchanges } from './exchanges/index.js';
import { createKlinesCollectorKind } from './klines/kind.js';
import { createLiquidityCollectorKind } from './liquidity/kind.js';
import { createTradesCollectorKind } from './trades/kind.js';

export const tradesCollectorKind = createTradesCollectorKind(builtInExchanges);
export const candlesCollectorKind = createCandlesCollectorKind(builtInExchanges);
export const klinesCollectorKind = createKlinesCollectorKind(builtInExchanges);
export const liquidityCollectorKind = createLiquidityCollectorKind(builtInExchanges);
