import type { KlineProtocol } from './protocol.js';

/** Each exchange's kline hooks: adding an exchange is adding its klines.ts and one line here. */
const klineProtocols: Readonly<Record<string, KlineProtocol>> = {};

/** The kline hooks of `exchange`; throws naming the exchanges that have them. */
export function klineProtocolFor(exchange: string): KlineProtocol {
  const protocol = klineProtocols[exchange];
  if (!protocol) throw new Error(`no kline support for exchange ${JSON.stringify(exchange)}; known: ${Object.keys(klineProtocols).join(', ')}`);
  return protocol;
}
