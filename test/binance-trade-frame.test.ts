import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startBinanceSimulator } from '../collectors/exchanges/binance/simulator/index.js';
import { readTradeBytes, readTradeFrame } from '../collectors/exchanges/binance/trade-frame.js';
import { binanceTrades, parseFrame } from '../collectors/exchanges/binance/trades.js';
import type { FrameContext } from '../collectors/ws/channel-protocol.js';
import { fixture, fixturePath, NO_FIXTURES } from './support/fixtures.js';
import { useSimulator } from './support/simulator-harness.js';
import { tradeFrameReaders } from './support/trade-frames.js';

const { contextFor } = tradeFrameReaders(binanceTrades);

/** What the JSON.parse reading gives: the frame, or the error message it throws. */
function reference(text: string, context: FrameContext): unknown {
  try {
    return parseFrame(text, context);
  } catch (err) {
    return { threw: (err as Error).message };
  }
}

/** What the stream gets (onBytes, then onMessage with its own fast path), in the same terms. */
function actual(text: string, context: FrameContext): unknown {
  try {
    return binanceTrades.onBytes!(Buffer.from(text, 'utf8'), context) ?? binanceTrades.onMessage(text, context);
  } catch (err) {
    return { threw: (err as Error).message };
  }
}

/** The fast reading of a frame, checked to be the same from the text and from its bytes. */
function fastRead(text: string, context: FrameContext) {
  const trade = readTradeFrame(text, context);
  expect(readTradeBytes(Buffer.from(text, 'utf8'), context), text).toEqual(trade);
  return trade;
}

/**
 * Every recorded Binance WebSocket frame: each line of a .jsonl; each whole .json file, as saved
 * (with its final newline, which only the JSON.parse path accepts) and trimmed, as sent.
 */
function recordedFrames(): string[] {
  return readdirSync(fixturePath('binance'))
    .filter((name) => name.startsWith('ws_'))
    .flatMap((name) => {
      const text = fixture('binance', name);
      return name.endsWith('.jsonl') ? text.split('\n').filter((l) => l.trim().length > 0) : [text, text.trim()];
    });
}

describe('Binance trade frames without JSON.parse', () => {
  // Every symbol the recordings mention, so no trade is refused for being unsubscribed.
  const context = contextFor('BTC-USDT', 'BNB-BTC', 'WAVES-USDT', 'ETH-USDT', 'NKN-USDT', 'BLZ-ETH', 'LRC-BTC', 'RUNE-EUR', 'FLM-USDT');

  it.skipIf(NO_FIXTURES)('reads every recorded frame exactly as JSON.parse does', () => {
    const frames = recordedFrames();
    expect(frames.length).toBeGreaterThan(300);
    let fast = 0;
    for (const text of frames) {
      const trade = fastRead(text, context);
      if (trade) {
        fast += 1;
        expect(parseFrame(text, context)).toEqual({ trades: [trade] });
      }
      expect(actual(text, context)).toEqual(reference(text, context));
    }
    // The single-line trade recordings (2019 ×2, 2021-05, 2026) as sent; the pretty-printed one falls back.
    expect(fast).toBe(4);
  });

  it.skipIf(NO_FIXTURES)('falls back to JSON.parse on anything off the fixed layout', () => {
    const current = fixture('binance', 'ws_trade_current_format_2026-09-29.json').trim();
    const raw = current.slice('{"stream":"btcusdt@trade","data":'.length, -1);
    expect(fastRead(raw, context)).toEqual((parseFrame(raw, context).trades ?? [])[0]);
    const odd = [
      current.replace('"data":{', '"data": {'), // whitespace
      current.replace('"p":"83034.29000000"', '"p":83034.29'), // price as a number
      current.replace('"t":6720857582', '"t":6720857582.0'), // fraction
      current.replace('"t":6720857582', '"t":1e3'), // exponent
      current.replace('"t":6720857582', '"t":06720857582'), // leading zero
      current.replace('"t":6720857582', '"t":-1'), // negative
      current.replace('"t":6720857582', '"t":90071992547409930'), // beyond 2^53
      current.replace('"s":"BTCUSDT"', '"s":"BTC\\u0055SDT"'), // escaped, though it decodes to a known symbol
      current.replace('"s":"BTCUSDT"', '"s":"DOGEUSDT"'), // not subscribed
      current.replace('"q":"0.00062000"', '"q":"0.00062000","x":1'), // another key
      current.replace('"m":true', '"m":1'), // not a boolean
      current.replace('"M":true}', '"M":true,"M":false}'), // repeated key
      current.replace('"p":"83034.29000000"', '"p":"83034."'), // no fraction digits
      current.replace('"p":"83034.29000000"', '"p":"1234567890.1234567890123"'), // long: Number() itself
      current.replace('btcusdt@trade', 'btcusdt@aggTrade'), // another stream
      current.replace('btcusdt@trade', 'btc\\"usdt@trade'), // escape in the stream name
      current.replace('btcusdt@trade', 'btcusdté@trade'), // not ASCII in the stream name (the JSON.parse path still reads it)
      `${current} `, // trailing whitespace
      current.slice(0, -1), // truncated
      current.replace('"s":"BTCUSDT"', '"s":"BTCUSDTé"'), // not ASCII
      current.replace('"m":true', '"m":tru'), // truncated literal
      raw.replace('"e":"trade"', '"e":"trades"'),
      '{"result":null,"id":1}',
    ];
    for (const text of odd) {
      const trade = fastRead(text, context);
      // Too many digits for the exact shortcut: read by Number() itself, so still a trade.
      if (text.includes('1234567890.1234567890123')) expect(trade?.price).toBe(Number('1234567890.1234567890123'));
      else expect(trade, text).toBeUndefined();
      expect(actual(text, context)).toEqual(reference(text, context));
    }
  });

  const simulator = useSimulator(startBinanceSimulator);

  it('reads 1,000 simulator frames (raw and combined) exactly as JSON.parse does', async () => {
    await simulator.start({ symbols: ['BTC-USDT', 'ETH-USDT'], tradesPerSecond: 5_000 });
    const combined = await simulator.probe('/stream?streams=btcusdt@trade/ethusdt@trade');
    const raw = await simulator.probe('/ws');
    raw.socket.send(JSON.stringify({ method: 'SUBSCRIBE', params: ['btcusdt@trade', 'ethusdt@trade'], id: 1 }));
    const simContext = contextFor('BTC-USDT', 'ETH-USDT');
    let trades = 0;
    for (const client of [combined, raw]) {
      for (let i = 0; i < 500; i++) {
        const text = await client.nextWhere((t) => t.includes('"e":"trade"'));
        const trade = fastRead(text, simContext);
        expect(trade, text).toBeDefined();
        expect(parseFrame(text, simContext)).toEqual({ trades: [trade] });
        trades += 1;
      }
    }
    expect(trades).toBe(1_000);
  });
});
