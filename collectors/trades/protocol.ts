import type { ChannelFrame, ChannelProtocol } from '../ws/channel-protocol.js';
import type { Trade } from './trade.js';

/**
 * The trades channel of one exchange, so the generic trade stream can collect its trades: how to
 * subscribe and how to read each frame, over the exchange's connection rules (`connection`).
 * One file per exchange (collectors/exchanges/<exchange>/trades.ts) implements it, named as
 * `capabilities.trades` in the exchange's index.ts. Past trades and the instrument list are the
 * exchange's own capabilities (`tradeHistory`, `instruments`), handed to the stream beside it.
 */
export interface TradeProtocol extends ChannelProtocol<TradeFrame> {
  /** True when trade ids strictly increase per symbol, so an id ≤ the last seen is a duplicate. */
  readonly idsIncrease: boolean;
}

/** What one frame of a trades channel meant: its trades, and its connection part. */
export interface TradeFrame extends ChannelFrame {
  trades?: Trade[];
}
