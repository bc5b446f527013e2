import type { TradeFrame, TradeProtocol } from '../../trades/protocol.js';
import { isObject } from '../../trades/wire.js';
import type { FrameContext, SubscribeRequest } from '../../ws/channel-protocol.js';
import type { SymbolTable } from '../../ws/symbol-table.js';
import { gateioAckKey, gateioConnection, gateioControl, gateioSubscribe } from './connection.js';
import { parseGateioTrade } from './trade.js';

const CHANNEL = 'spot.trades';
// Gate documents no cap on pairs per request; 100 pairs a request is ~1.2 KB.
const PAIRS_PER_REQUEST = 100;

/** Gate API v4 spot `spot.trades` on `wss://api.gateio.ws/ws/v4/`: one ack per subscribe request. */
export const gateioTrades: TradeProtocol = {
  connection: gateioConnection,
  // One id sequence over all markets, so per pair ids strictly increase (see trade-history.ts).
  idsIncrease: true,

  subscribeMessages(symbols: SymbolTable, firstRequest = 1): SubscribeRequest[] {
    const requests: SubscribeRequest[] = [];
    for (let start = 0; start < symbols.unified.length; start += PAIRS_PER_REQUEST) {
      const chunk = symbols.unified.slice(start, start + PAIRS_PER_REQUEST);
      const id = firstRequest + requests.length;
      const payload = chunk.map((symbol) => symbols.toExchange(symbol));
      requests.push({ text: gateioSubscribe(CHANNEL, id, payload), acks: [{ key: gateioAckKey(CHANNEL, id), symbols: chunk }] });
    }
    return requests;
  },

  onMessage(text: string, context: FrameContext): TradeFrame {
    const message: unknown = JSON.parse(text);
    if (!isObject(message)) throw new Error('frame is not a JSON object');
    const control = gateioControl(message, CHANNEL);
    if (control) return control;
    // Other channels (spot.order_book_update, spot.tickers, ...) share the connection shape.
    if (message.channel !== CHANNEL) return {};
    const result = message.result;
    if (!isObject(result) || typeof result.currency_pair !== 'string') throw new Error('spot.trades update without result.currency_pair');
    const symbol = context.symbols.fromExchange(result.currency_pair);
    if (symbol === undefined) throw new Error(`trade for ${result.currency_pair}, which this connection did not subscribe`);
    // One trade per update (every recorded spot.trades frame).
    return { trades: [parseGateioTrade(result, symbol, context.receivedAt)] };
  },
};
