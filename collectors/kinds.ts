/**
 * The built-in collector kinds (each built in kinds/ on any list of exchanges), collecting from the
 * built-in exchanges: where the engines meet the list of exchanges (they never import it themselves).
 */
import { createDepthCollectorKind, createPoolCollectorKind } from './dex/kind.js';
import { builtInDexProtocols } from './dex/protocols.js';
import { builtInExchanges } from './exchanges/index.js';
import { createCandlesCollectorKind } from './kinds/candles.js';
import { createKlinesCollectorKind } from './kinds/klines.js';
import { createLiquidityCollectorKind } from './kinds/liquidity.js';
import { createTradesCollectorKind } from './kinds/trades.js';

export const tradesCollectorKind = createTradesCollectorKind(builtInExchanges);
export const candlesCollectorKind = createCandlesCollectorKind(builtInExchanges);
export const klinesCollectorKind = createKlinesCollectorKind(builtInExchanges);
export const liquidityCollectorKind = createLiquidityCollectorKind(builtInExchanges);
export const poolCollectorKind = createPoolCollectorKind(builtInDexProtocols);
export const depthCollectorKind = createDepthCollectorKind(builtInDexProtocols);
