import type { ChannelFrame, ConnectionRules, SubscribeRequest } from '../../ws/channel-protocol.js';
import type { SymbolTable } from '../../ws/symbol-table.js';
import { type Json, isObject, splitSymbol } from '../../trades/wire.js';

// Limits from the OKX v5 docs (overview-websocket, crawled 2026-07): 480 subscribe/unsubscribe/login
// requests per connection per hour, at most 3 connection requests per second per IP, 64 KB for the
// args of one request, and close code 4009 when a connection carries too many channels.
// 300 instruments per connection covers every OKX spot pair (~700) with 3 connections, far below
// any per-IP connection cap, and needs only 3 subscribe requests of the 480 allowed per hour.
const MAX_INSTRUMENTS = 300;
// 100 args of ~40 bytes is ~4 KB per request, far inside the 64 KB cap.
const ARGS_PER_REQUEST = 100;
// 60018, as OKX words it today ("Wrong URL or channel:trades,instId:FOO-USDT doesn't exist. Please
// use ...", sieblyio/okx-api#106) and did in 2023 ("channel:tickers,instId:LTC-USD doesn't exist",
// okxapi/python-okx#21): the only error that names the refused arg.
const MISSING_ARG = /channel:([^,\s]+),instId:(\S+?) doesn't exist/;

/** OKX v5 public WebSocket (`/ws/v5/public`), for its trades and its books. */
export const okxConnection: ConnectionRules = {
  exchange: 'okx',
  defaultWsUrl: 'wss://ws.okx.com:8443',
  maxSymbolsPerConnection: MAX_INSTRUMENTS,
  // OKX documents no per-message limit on a public connection besides the hourly subscribe budget;
  // spacing requests like its 3-per-second connection limit is a cautious guess that costs < 1 s.
  minSendIntervalMs: 350,
  // docs (overview-websocket): the server cuts a connection with no data for 30 s (close 4004 "No data
  // received in 30s"); clients send the text `ping` when nothing came for under 30 s and get `pong`.
  // Pinging every 20 s keeps a quiet instrument's connection open; 30 s without even a pong is a dead link.
  keepalive: { clientPing: { intervalMs: 20_000, text: 'ping' }, silenceTimeoutMs: 30_000 },

  toExchangeSymbol(symbol: string): string {
    // OKX spot instIds are spelled like unified symbols (BTC-USDT); this only checks the spelling.
    splitSymbol('okx', symbol);
    return symbol;
  },

  url(wsUrl: string): string {
    return `${wsUrl.replace(/\/+$/, '')}/ws/v5/public`;
  },
};

/** The ack key of one subscribe arg: OKX acknowledges each arg on its own, echoing it. */
function argKey(channel: string, instId: string): string {
  return `${channel}:${instId}`;
}

/** A subscribe or unsubscribe request for some instruments on `channel`; `id` (docs: 1-32 alphanumerics) is echoed in its acks and errors. */
export function okxRequest(op: 'subscribe' | 'unsubscribe', channel: string, instIds: readonly string[], id: string): string {
  return JSON.stringify({ id, op, args: instIds.map((instId) => ({ channel, instId })) });
}

/** Subscribe requests for the symbols on `channel`, ARGS_PER_REQUEST a request, ids `<idPrefix><n>`; one ack per arg. */
export function okxSubscribeRequests(symbols: SymbolTable, channel: string, idPrefix: string, firstRequest = 1): SubscribeRequest[] {
  const requests: SubscribeRequest[] = [];
  for (let start = 0; start < symbols.unified.length; start += ARGS_PER_REQUEST) {
    const chunk = symbols.unified.slice(start, start + ARGS_PER_REQUEST);
    const instIds = chunk.map((symbol) => symbols.toExchange(symbol));
    requests.push({
      text: okxRequest('subscribe', channel, instIds, `${idPrefix}${firstRequest + requests.length}`),
      acks: chunk.map((symbol, i) => ({ key: argKey(channel, instIds[i]!), symbols: [symbol] })),
    });
  }
  return requests;
}

/** docs keepalive: the answer to the text `ping` is the bare text `pong`, not JSON. */
export const OKX_PONG: ChannelFrame = { heartbeat: true };

/** An `{"event": ...}` frame, on any channel: a subscribe ack, an error, or a notice. */
export function okxEvent(message: Json): Pick<ChannelFrame, 'ack' | 'error' | 'closing'> {
  const code = typeof message.code === 'string' ? message.code : undefined;
  const msg = typeof message.msg === 'string' ? message.msg : '';
  switch (message.event) {
    case 'subscribe': {
      // ws_subscribe_acks.jsonl: {"event":"subscribe","arg":{"channel":"trades","instId":"BTC-USDT"}}, one per arg.
      const arg = isObject(message.arg) ? message.arg : {};
      if (typeof arg.channel !== 'string' || typeof arg.instId !== 'string') throw new Error('subscribe ack without arg.channel and arg.instId');
      return { ack: argKey(arg.channel, arg.instId) };
    }
    case 'error': {
      // docs subscribe_error: {"event":"error","code":"60012","msg":"Invalid request: ...","connId":...}: no arg,
      // so only a 60018 message tells which arg was refused; otherwise every waiting symbol is named.
      const missing = MISSING_ARG.exec(msg);
      const request = typeof message.id === 'string' ? ` (request id ${message.id})` : '';
      return { error: { ack: missing ? argKey(missing[1]!, missing[2]!) : undefined, reason: `code ${code ?? '?'}: ${msg}${request}` } };
    }
    case 'notice':
      // docs service_upgrade_notice, code 64008: "The connection will soon be closed for a service upgrade. Please reconnect."
      return code === '64008' ? { closing: `okx announced the connection will close (${code}: ${msg})` } : {};
    default:
      // unsubscribe acks, channel-conn-count and other informational events.
      return {};
  }
}
