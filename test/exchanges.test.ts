import { describe, expect, it } from 'vitest';
import { exchangeDirectory, type Exchange } from '../collectors/exchange.js';
import { binance } from '../collectors/exchanges/binance/index.js';
import { exchanges } from '../collectors/exchanges/index.js';
import { createLiquidityCollectorKind } from '../collectors/kinds/liquidity.js';
import { createTradesCollectorKind } from '../collectors/kinds/trades.js';
import { QUOTES, SIMULATED } from './support/simulated-exchanges.js';

// The one list of exchanges: each entry is one consistent object, and what it names is its own.
describe.each(exchanges.map((exchange: Exchange) => ({ name: exchange.name, exchange })))('the $name exchange object', ({ name, exchange }) => {
  it('names itself in every capability, and shares one REST limit and one set of connection rules with its protocols', () => {
    const { trades, klines, book, depthRest, status } = exchange.capabilities;
    for (const capability of [trades?.connection, klines, book?.connection, depthRest]) expect(capability?.exchange ?? name).toBe(name);
    if (trades && book) expect(book.connection).toBe(trades.connection);
    expect(exchange.endpoints.wsUrl).toBe((trades ?? book)?.connection.defaultWsUrl);
    expect(status).toBe(klines?.health);
    if (klines) expect(klines.limits).toBe(exchange.restLimits);
    expect(exchange.maxFrameBytes).toBeGreaterThanOrEqual(1024 * 1024);
    expect(exchange.endpoints.wsUrl ?? exchange.endpoints.restUrl).toMatch(/^(wss|https):\/\//);
  });

  it('spells BTC-USDT its own way and refuses a malformed symbol', () => {
    expect(exchange.symbols.toExchange('BTC-USDT')).toMatch(/BTC|XBT/i);
    expect(() => exchange.symbols.toExchange('BTCUSDT')).toThrow(new RegExp(name));
  });

  it('starts its simulator, which serves its protocol on loopback', async () => {
    const sim = await exchange.simulator!({ symbols: ['BTC-USDT'], tradesPerSecond: 1 });
    try {
      expect(sim.wsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+/);
      expect(sim.restUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);
    } finally {
      await sim.close();
    }
  });
});

it('has a row in the tests\' table (test/support/simulated-exchanges.ts) for every exchange with a simulator, and for no other', () => {
  expect(Object.keys(QUOTES).sort()).toEqual(SIMULATED.map((exchange) => exchange.name).sort());
});

it('lists each exchange once', () => {
  const names = exchanges.map((exchange) => exchange.name);
  expect(new Set(names).size).toBe(names.length);
});

describe('an exchange lacking a capability', () => {
  // Binance as if it had no WebSocket book and no trade history.
  const { book: _book, tradeHistory: _history, ...rest } = binance.capabilities;
  const lacking = exchangeDirectory([{ ...binance, capabilities: rest }]);

  it('is refused at config time, naming the exchange and the capability, where nothing could be collected', () => {
    const liquidity = createLiquidityCollectorKind(lacking);
    expect(() => liquidity.keysFor('binance', 'BTC-USDT', undefined)).toThrow(/^binance has no order book over WebSocket$/);
    expect(liquidity.keysFor('binance', 'BTC-USDT', 'rest')).toEqual(['liquidity:binance:BTC-USDT']);
  });

  it('is a warning where the fallback is a gap record', () => {
    const requirement = { id: 'trades:binance:BTC-USDT', collector: 'trades', exchange: 'binance', symbol: 'BTC-USDT', keys: ['trades:binance:BTC-USDT'] };
    expect(createTradesCollectorKind(lacking).warnings!(requirement)).toEqual([
      'binance has no trade history over REST: trades missed while disconnected are recorded as gaps (gaps:binance:BTC-USDT), not backfilled',
    ]);
    expect(createTradesCollectorKind(exchangeDirectory([binance])).warnings!(requirement)).toEqual([]);
  });
});
