import type { TradeProtocol } from '../../collectors/trades/protocol.js';
import type { FrameContext } from '../../collectors/ws/channel-protocol.js';
import { SymbolTable } from '../../collectors/ws/symbol-table.js';
import type { Trade } from '../../collectors/trades/trade.js';

/** When every test frame "arrived": a fixed time, so expected trades can spell out receivedAt. */
export const RECEIVED_AT = 1_800_000_000_000;

/** Reading recorded frames with one exchange's trade protocol. */
export interface TradeFrameReaders {
  /** A frame context subscribed to `symbols` (unified spelling), arriving at RECEIVED_AT. */
  contextFor(...symbols: string[]): FrameContext;
  /** The trades a frame carries; none for an ack, a heartbeat or another channel. */
  tradesOf(text: string, context: FrameContext): Trade[];
}

/** The frame readers of `protocol`, for the recorded-frame tests of its exchange. */
export function tradeFrameReaders(protocol: TradeProtocol): TradeFrameReaders {
  return {
    contextFor: (...symbols) => ({ symbols: new SymbolTable(symbols, protocol.connection.toExchangeSymbol), receivedAt: RECEIVED_AT }),
    tradesOf: (text, context) => protocol.onMessage(text, context).trades ?? [],
  };
}
