import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { parseBinanceExchangeInfo } from '../collectors/exchanges/binance/instruments.js';
import { startBinanceSimulator } from '../collectors/exchanges/binance/simulator/index.js';
import { parseBybitInstruments } from '../collectors/exchanges/bybit/instruments.js';
import { startBybitSimulator } from '../collectors/exchanges/bybit/simulator/index.js';
import { parseCoinbaseProducts } from '../collectors/exchanges/coinbase/instruments.js';
import { parseKrakenAssetPairs } from '../collectors/exchanges/kraken/instruments.js';
import { parseOkxInstruments } from '../collectors/exchanges/okx/instruments.js';
import { tradesCollectorKind } from '../collectors/kinds.js';
import type { DataSourceCollector } from '../collectors/types.js';
import { silentLogger, type Logger } from '../common/logger.js';
import { MemoryStorage } from '../storage/memory.js';
import { fixture, NO_FIXTURES } from './support/fixtures.js';
import { expectOnlySymbolFails } from './support/trade-collection.js';
import { storedCount } from './support/trade-samples.js';

const WAIT = { timeout: 10_000 };

/** The trades collector the kind builds for `symbols` of `exchange` with these endpoint overrides. */
function tradesCollector(exchange: string, symbols: readonly string[], endpoints: { wsUrl?: string; restUrl?: string }, logger: Logger = silentLogger): DataSourceCollector {
  const [collector] = tradesCollectorKind.create(
    symbols.map((symbol) => ({ id: `trades:${exchange}:${symbol}`, collector: 'trades', exchange, symbol, keys: [] })),
    { exchanges: { [exchange]: endpoints }, logger },
  );
  return collector!;
}

/** A logger keeping its warnings' messages. */
function recordingLogger(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push((JSON.parse(line) as { msg: string }).msg) });
  return { logger, warnings };
}

describe('instrument lists as recorded', () => {
  it.skipIf(NO_FIXTURES)('Binance exchangeInfo: symbol, BASE-QUOTE from baseAsset/quoteAsset, TRADING', () => {
    expect(parseBinanceExchangeInfo(JSON.parse(fixture('binance', 'rest_exchangeInfo_2021_excerpt.json')))).toEqual([
      { exchangeSymbol: 'NKNUSDT', unified: 'NKN-USDT', trading: true, status: 'TRADING' },
    ]);
    expect(() => parseBinanceExchangeInfo({ code: -1121, msg: 'Invalid symbol.' })).toThrow('exchangeInfo answered with no symbols array');
  });

  it.skipIf(NO_FIXTURES)('OKX instruments: instId, baseCcy-quoteCcy, state live', () => {
    expect(parseOkxInstruments(JSON.parse(fixture('okx', 'rest_instruments_SPOT_excerpt_2022.json')))).toEqual([
      { exchangeSymbol: 'BTC-USDT', unified: 'BTC-USDT', trading: true, status: 'live' },
      { exchangeSymbol: 'ETH-USDT', unified: 'ETH-USDT', trading: true, status: 'live' },
    ]);
    expect(() => parseOkxInstruments({ code: '50014', msg: 'Parameter instType can not be empty.', data: [] })).toThrow('instruments refused: code 50014');
  });

  it.skipIf(NO_FIXTURES)('Coinbase products: id, base_currency-quote_currency, online unless trading is disabled', () => {
    const product = JSON.parse(fixture('coinbase', 'rest_product_BTC-USD_2026-06-19.json')) as Record<string, unknown>;
    expect(parseCoinbaseProducts([product, { ...product, id: 'ETH-USD', base_currency: 'ETH', trading_disabled: true }])).toEqual([
      { exchangeSymbol: 'BTC-USD', unified: 'BTC-USD', trading: true, status: 'online' },
      { exchangeSymbol: 'ETH-USD', unified: 'ETH-USD', trading: false, status: 'online, trading disabled' },
    ]);
  });

  it.skipIf(NO_FIXTURES)('Kraken AssetPairs: wsname in WebSocket v2 spelling (XBT/USDT is BTC/USDT)', () => {
    expect(parseKrakenAssetPairs(JSON.parse(fixture('kraken', 'rest_AssetPairs_XBTUSDT.json')))).toEqual([
      { exchangeSymbol: 'BTC/USDT', unified: 'BTC-USDT', trading: true, status: 'online' },
    ]);
    expect(() => parseKrakenAssetPairs({ error: ['EQuery:Unknown asset pair'] })).toThrow('AssetPairs refused: EQuery:Unknown asset pair');
  });

  it('Bybit instruments-info (no recording: the docs shape the simulator serves)', async () => {
    const sim = await startBybitSimulator({ symbols: ['BTC-USDT', 'ETH-BTC'], tradesPerSecond: 0 });
    try {
      const body = await (await fetch(`${sim.restUrl}/v5/market/instruments-info?category=spot`)).json();
      expect(parseBybitInstruments(body)).toEqual([
        { exchangeSymbol: 'BTCUSDT', unified: 'BTC-USDT', trading: true, status: 'Trading' },
        { exchangeSymbol: 'ETHBTC', unified: 'ETH-BTC', trading: true, status: 'Trading' },
      ]);
      expect(() => parseBybitInstruments({ retCode: 10001, retMsg: 'params error: category is invalid', result: {} })).toThrow('instruments-info refused: retCode 10001');
    } finally {
      await sim.close();
    }
  });
});

// Each exchange's reason, in its own spelling, is checked in test/symbol-failures.test.ts (a daemon of every exchange with an instrument list).
describe('a configured symbol the exchange does not list', () => {
  it('Binance (which acks it and then sends nothing): that symbol fails, named with close listed ones; the others collect', async () => {
    const sim = await startBinanceSimulator({ symbols: ['BTC-USDT', 'ETH-USDT', 'SOL-USDT'], tradesPerSecond: 10 });
    try {
      const collector = tradesCollector('binance', ['BTC-USDT', 'BTC-USTD'], { wsUrl: sim.wsUrl, restUrl: sim.restUrl });
      const { stop } = await expectOnlySymbolFails(collector, {
        collecting: ['trades:binance:BTC-USDT'],
        failed: 'BTC-USTD',
        reason: 'binance does not list BTC-USTD (BTCUSTD); close listed ones: BTC-USDT, ETH-USDT, SOL-USDT',
      });
      await stop();
      // The symbols ones, then the whole list.
      expect(sim.restRequests('/api/v3/exchangeInfo')).toBe(2);
    } finally {
      await sim.close();
    }
  });

  it('a collector none of whose symbols is listed fails without connecting; a restart fails at once from what this process learned', async () => {
    const sim = await startBinanceSimulator({ symbols: ['BTC-USDT', 'ETH-USDT', 'SOL-USDT'], tradesPerSecond: 10 });
    try {
      const collector = tradesCollector('binance', ['BTC-USTD'], { wsUrl: sim.wsUrl, restUrl: sim.restUrl });
      await expect(collector.run(new MemoryStorage(), new AbortController().signal)).rejects.toThrow(
        'binance does not list BTC-USTD (BTCUSTD); close listed ones: BTC-USDT, ETH-USDT, SOL-USDT',
      );
      expect(sim.connectionsOpened()).toBe(0);
      expect(sim.restRequests('/api/v3/exchangeInfo')).toBe(2);
      await expect(collector.run(new MemoryStorage(), new AbortController().signal)).rejects.toThrow('binance does not list BTC-USTD');
      expect(sim.restRequests('/api/v3/exchangeInfo')).toBe(2);
      expect(collector.progress.failures.list()).toMatchObject([{ key: 'trades:binance:BTC-USTD', symbol: 'BTC-USTD' }]);
    } finally {
      await sim.close();
    }
  });

  it('listed symbols stream as before; without a list (no REST URL, REST down) it warns once and streams unchecked', async () => {
    const sim = await startBinanceSimulator({ symbols: ['BTC-USDT'], tradesPerSecond: 50 });
    try {
      for (const endpoints of [{ wsUrl: sim.wsUrl, restUrl: sim.restUrl }, { wsUrl: sim.wsUrl }, { wsUrl: sim.wsUrl, restUrl: 'http://127.0.0.1:9' }]) {
        const { logger, warnings } = recordingLogger();
        const collector = tradesCollector('binance', ['BTC-USDT'], endpoints, logger);
        const storage = new MemoryStorage();
        const abort = new AbortController();
        const running = collector.run(storage, abort.signal);
        await vi.waitFor(async () => expect(await storedCount(storage, 'trades:binance:BTC-USDT')).toBeGreaterThan(0), WAIT);
        abort.abort();
        await running;
        const expected = endpoints.restUrl === undefined ? /^no REST URL for binance/ : endpoints.restUrl === sim.restUrl ? undefined : /^cannot fetch binance's instrument list/;
        expect(warnings.filter((msg) => /instrument list/.test(msg))).toEqual(expected ? [expect.stringMatching(expected)] : []);
      }
    } finally {
      await sim.close();
    }
  });
});
