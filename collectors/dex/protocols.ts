/**
 * The DEX protocols, each one object exported by its folder's index.ts: the only place a protocol
 * is named outside its folder. Adding a protocol is its folder and its line here.
 */
import { protocolDirectory, type DexProtocol } from './protocol.js';
import { uniswapV2 } from './uniswap-v2/index.js';
import { uniswapV3 } from './uniswap-v3/index.js';

export const builtInDexProtocols = protocolDirectory([uniswapV2, uniswapV3] as readonly DexProtocol[]);
