import { describe, expect, it } from 'vitest';
import { bitstampTrades } from '../collectors/exchanges/bitstamp/trades.js';
import { parseBitstampInstruments } from '../collectors/exchanges/bitstamp/instruments.js';
import { SymbolTable } from '../collectors/ws/symbol-table.js';
import type { Trade } from '../collectors/trades/trade.js';
import { fixture, fixtureLines, NO_FIXTURES } from './support/fixtures.js';
import { RECEIVED_AT, tradeFrameReaders } from './support/trade-frames.js';

const { contextFor, tradesOf } = tradeFrameReaders(bitstampTrades);

function trade(symbol: string, id: number, price: number, amount: number, side: 1 | -1, exchangeTime: number): Trade {
  return { exchange: 'bitstamp', symbol, id, price, amount, side, exchangeTime, receivedAt: RECEIVED_AT };
}

describe.skipIf(NO_FIXTURES)('Bitstamp trade frames (real recordings)', () => {
  it('parses the 2022 ethusd trades: the _str decimals, type 0 a buying taker, microtimestamp in ms; ids increase but skip', () => {
    const context = contextFor('ETH-USD');
    const trades = fixtureLines('bitstamp', 'ws_live_trades_ethusd_2022-01-05.jsonl').flatMap((line) => tradesOf(line, context));
    expect(trades).toHaveLength(10);
    expect(trades[0]).toEqual(trade('ETH-USD', 216000477, 3805.44, 0.0792, 1, 1641343699596));
    expect(trades[1]).toEqual(trade('ETH-USD', 216000484, 3802.93, 0.931, -1, 1641343709599));
    expect(trades[9]).toEqual(trade('ETH-USD', 216000506, 3800.8, 2.73248242, -1, 1641343721269));
    const ids = trades.map((t) => t.id as number);
    // One counter across all pairs: increasing per pair (idsIncrease), with jumps (no id-sequential history).
    expect(ids.every((id, i) => i === 0 || id > ids[i - 1]!)).toBe(true);
    expect(ids.some((id, i) => i > 0 && id !== ids[i - 1]! + 1)).toBe(true);
    expect(bitstampTrades.idsIncrease).toBe(true);
  });

  it('parses the 2019–2021 frames: sub-millisecond digits dropped, amount_str "1E-8"', () => {
    const btc = contextFor('BTC-USD');
    expect(tradesOf(fixture('bitstamp', 'ws_live_trades_btcusd_2019-04-13_tickerservice.json'), btc)).toEqual([trade('BTC-USD', 85658352, 5112.85, 0.00158473, -1, 1555135143665)]);
    expect(tradesOf(fixture('bitstamp', 'ws_live_trades_btcusd_2020-01-29_gct.json'), btc)).toEqual([trade('BTC-USD', 104007706, 9334.73, 0.00598803, -1, 1580336751488)]);
    expect(tradesOf(fixture('bitstamp', 'ws_live_trades_btcusd_amount_1e-08_2021-03-21_cmp.json'), btc)).toEqual([trade('BTC-USD', 158457579, 57748.8, 1e-8, 1, 1616297318187)]);
    const tardis = fixtureLines('bitstamp', 'ws_misc_2019_tardis.jsonl');
    const context = contextFor('BTC-USD', 'BTC-EUR', 'XRP-EUR', 'BCH-USD');
    expect(tardis.map((line) => bitstampTrades.onMessage(line, context))).toEqual([
      { ack: 'live_trades_xrpeur' },
      { trades: [trade('BTC-EUR', 84550458, 3651.3, 0.001643, 1, 1554076803243)] },
      {},
      {},
      { trades: [trade('BTC-USD', 98000129, 8304.47, 0.02834, 1, 1569888000557)] },
    ]);
  });

  it('reads the whole 2022 session: 20 acks by channel, 10 trades, the book frames of no interest', () => {
    const pairs = ['sgbeur', 'ethusd', 'xrpeur', 'bateur', 'usdteur', 'usdtusd', 'xlmgbp', 'adaeur', 'batbtc', 'galaeur'];
    const unified = pairs.map((p) => `${p.slice(0, -3).toUpperCase()}-${p.slice(-3).toUpperCase()}`);
    const context = { symbols: new SymbolTable(unified, bitstampTrades.connection.toExchangeSymbol), receivedAt: RECEIVED_AT };
    const frames = fixtureLines('bitstamp', 'ws_session_2022-01-05.jsonl').map((line) => bitstampTrades.onMessage(line, context));
    expect(frames).toHaveLength(747);
    const acks = frames.flatMap((f) => (f.ack ? [f.ack] : []));
    const sent = fixtureLines('bitstamp', 'ws_client_sent_subscribe_2022-01-05.jsonl').map((l) => (JSON.parse(l) as { data: { channel: string } }).data.channel);
    expect(acks.sort()).toEqual([...sent].sort());
    expect(frames.flatMap((f) => f.trades ?? [])).toHaveLength(10);
    expect(frames.filter((f) => Object.keys(f).length === 0)).toHaveLength(717);
    // What we send is what cryptofeed sent.
    const table = new SymbolTable(['ETH-USD'], bitstampTrades.connection.toExchangeSymbol);
    expect(bitstampTrades.subscribeMessages(table)).toEqual([{ text: '{"event":"bts:subscribe","data":{"channel":"live_trades_ethusd"}}', acks: [{ key: 'live_trades_ethusd', symbols: ['ETH-USD'] }] }]);
  });

  it('reads bts:error, the documented bts:request_reconnect and a bts:heartbeat', () => {
    const context = contextFor('BTC-USD');
    const [, error] = fixtureLines('bitstamp', 'ws_control_frames_2019-04_tickerservice.jsonl');
    expect(bitstampTrades.onMessage(error!, context)).toEqual({ error: { ack: undefined, reason: 'Incorrect JSON format.' } });
    const reconnect = JSON.stringify((JSON.parse(fixture('bitstamp', 'docs_examples_protocol.json')) as { request_reconnect: unknown }).request_reconnect);
    expect(bitstampTrades.onMessage(reconnect, context).closing).toMatch(/bts:request_reconnect/);
    // The reply shape is undocumented: any bts:heartbeat event counts.
    expect(bitstampTrades.onMessage('{"event":"bts:heartbeat","channel":"","data":{"status":"success"}}', context)).toEqual({ heartbeat: true });
    expect(bitstampTrades.connection.keepalive.clientPing?.text).toBe(JSON.stringify((JSON.parse(fixture('bitstamp', 'docs_examples_protocol.json')) as { heartbeat_request: unknown }).heartbeat_request));
  });

  it('lists the 140 recorded pairs with BASE-QUOTE spellings and their trading state', () => {
    const listed = parseBitstampInstruments(JSON.parse(fixture('bitstamp', 'rest_trading-pairs-info_2022-01-05.json')));
    expect(listed).toHaveLength(140);
    expect(listed[0]).toEqual({ exchangeSymbol: 'btcusd', unified: 'BTC-USD', trading: true, status: 'Enabled' });
    for (const { exchangeSymbol, unified } of listed) expect(bitstampTrades.connection.toExchangeSymbol(unified)).toBe(exchangeSymbol);
    expect(() => parseBitstampInstruments({ status: 'error' })).toThrow(/bitstamp: trading-pairs-info answered with no array/);
  });
});

describe('Bitstamp trade protocol hooks', () => {
  it('maps BTC-USD ↔ btcusd and refuses a malformed symbol', () => {
    expect(bitstampTrades.connection.toExchangeSymbol('BTC-USD')).toBe('btcusd');
    expect(() => bitstampTrades.connection.toExchangeSymbol('btcusd')).toThrow(/bitstamp: bad symbol "btcusd"/);
  });

  it('names the refused channel of a bts:error when Bitstamp gives one', () => {
    const context = contextFor('FOO-USD');
    expect(bitstampTrades.onMessage('{"event":"bts:error","channel":"live_trades_foousd","data":{"code":null,"message":"Bad subscription string."}}', context)).toEqual({
      error: { ack: 'live_trades_foousd', reason: 'Bad subscription string.' },
    });
  });
});
