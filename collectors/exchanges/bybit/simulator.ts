import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { SimulatedMarket, TallyCounter, type SimulatedTrade, type TradeTally } from '../../simulator/market.js';
import { answerRequest, type ConnectionState } from './simulator-requests.js';

/**
 * One entry of a spot `publicTrade` push exactly as Bybit sends it today
 * (ws_spot_subscribe_ack_and_publicTrade_BTCUSDC_2025-10-27.jsonl: no `L`, which is for derivatives), in Bybit's key order.
 */
export interface BybitTradePayload {
  /** Trade id: a digit string beyond 2^53. */
  i: string;
  T: number;
  p: string;
  v: string;
  /** The taker's side. */
  S: 'Buy' | 'Sell';
  /** Cross sequence: shared by the fills of one taker order. */
  seq: number;
  s: string;
  BT: boolean;
  RPI: boolean;
}

export interface BybitSimulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Unified `BASE-QUOTE` symbols the simulated exchange lists. */
  symbols: readonly string[];
  /** Trades generated per second for each symbol. */
  tradesPerSecond: number;
  /**
   * Bybit spot refuses a topic of an unlisted symbol with success:false and ret_msg
   * "Invalid symbol :[publicTrade.XXX]" (quoted by client code; the docs show no failure example),
   * so this defaults to true; false acknowledges it instead and sends nothing for it.
   */
  rejectUnknownSymbols?: boolean;
  /** Seeds the generated prices, quantities and sides. */
  seed?: number;
}

/** The trades sent to clients for one symbol: each once, however many clients got it. */
export interface SentTrades extends TradeTally {
  trades: readonly BybitTradePayload[];
}

export interface BybitSimulator {
  wsUrl: string;
  restUrl: string;
  port: number;
  /** Everything generated for a symbol (either spelling), subscribed or not. */
  generated(symbol: string): TradeTally;
  /** What was sent to at least one client for a symbol (either spelling). */
  sent(symbol: string): SentTrades;
  /** Open client connections. */
  connections(): number;
  /** `{"op":"ping"}` requests answered. */
  pings(): number;
  /** Stops generating trades (connections stay open). */
  pause(): void;
  resume(): void;
  /** Fault: cuts every connection without a close handshake, as a network failure would. */
  dropConnections(): void;
  /** Fault: sends a frame that is not valid JSON to every client. */
  sendMalformed(text?: string): void;
  close(): Promise<void>;
}

interface Client extends ConnectionState {
  socket: WebSocket;
}

const TICK_MS = 10;
// Spot trade ids as recorded (2240000000970262966) are far beyond 2^53: the simulated ids are offset into that range.
const ID_BASE = 2_290_000_000_000_000_000n;

/** `BTC-USDT` or `BTCUSDT` → `BTCUSDT`. */
function exchangeSymbol(symbol: string): string {
  return symbol.replace('-', '').toUpperCase();
}

/** "65000.12000000" → "65000.12", "0.00120000" → "0.0012", as Bybit spot prints decimals. */
function bybitDecimal(value: string): string {
  return value.includes('.') ? value.replace(/\.?0+$/, '') : value;
}

/** Frames one taker order's fills as Bybit spot does: several entries of one message, one `seq`. */
function bybitPayloads(symbol: string, fills: readonly SimulatedTrade[], seq: number): BybitTradePayload[] {
  return fills.map((fill) => ({
    i: String(ID_BASE + BigInt(fill.id)), T: fill.time, p: bybitDecimal(fill.price), v: bybitDecimal(fill.amount),
    S: fill.takerSide > 0 ? 'Buy' : 'Sell', seq, s: symbol, BT: false, RPI: false,
  }));
}

/** A spot instruments-info entry, shaped like the docs (v5/market/instrument) example; sizes match the simulated market. */
function instrument(symbol: string): Record<string, unknown> {
  const [baseCoin, quoteCoin] = symbol.split('-');
  return {
    symbol: exchangeSymbol(symbol), baseCoin, quoteCoin, innovation: '0', status: 'Trading', marginTrading: 'both',
    lotSizeFilter: { basePrecision: '0.00001', quotePrecision: '0.00000001', minOrderQty: '0.00001', maxOrderQty: '100', minOrderAmt: '1', maxOrderAmt: '2000000' },
    priceFilter: { tickSize: '0.01' },
  };
}

/** Starts a Bybit v5 spot market-data simulator on 127.0.0.1: `/v5/public/spot` and REST `/v5/market/{time,instruments-info}`. */
export async function startBybitSimulator(options: BybitSimulatorOptions): Promise<BybitSimulator> {
  const { symbols, tradesPerSecond, rejectUnknownSymbols = true, seed = 1 } = options;
  const markets = new Map(symbols.map((symbol, i) => [exchangeSymbol(symbol), new SimulatedMarket(seed + i)]));
  const sent = new Map([...markets.keys()].map((s): [string, BybitTradePayload[]] => [s, []]));
  const sequences = new Map([...markets.keys()].map((s): [string, number] => [s, 89_200_000_000 + seed * 1_000_000]));
  const clients = new Set<Client>();
  const check = { listed: (symbol: string) => markets.has(symbol), rejectUnknownSymbols };
  let pings = 0;
  let paused = false;

  const publish = (symbol: string, trades: BybitTradePayload[], now: number): void => {
    const topic = `publicTrade.${symbol}`;
    // Recorded key order: topic, ts, type, data.
    const text = JSON.stringify({ topic, ts: now, type: 'snapshot', data: trades });
    let delivered = false;
    for (const client of clients) {
      if (!client.topics.has(topic)) continue;
      client.socket.send(text);
      delivered = true;
    }
    if (delivered) sent.get(symbol)!.push(...trades);
  };

  // Trades are generated on a fine timer; the fractional remainder carries over, so the rate holds.
  let due = 0;
  let lastTick = Date.now();
  const generator = setInterval(() => {
    const now = Date.now();
    if (!paused) due += ((now - lastTick) / 1000) * tradesPerSecond;
    lastTick = now;
    const owed = Math.floor(due);
    due -= owed;
    for (const [symbol, market] of markets) {
      for (let left = owed; left > 0; ) {
        const fills = market.nextFills(now, left);
        left -= fills.length;
        const seq = sequences.get(symbol)! + 1;
        sequences.set(symbol, seq);
        publish(symbol, bybitPayloads(symbol, fills, seq), now);
      }
    }
  }, TICK_MS);

  const wss = new WebSocketServer({ noServer: true });
  const accept = (socket: WebSocket): void => {
    const client: Client = { socket, connId: randomUUID(), topics: new Set() };
    clients.add(client);
    socket.on('close', () => clients.delete(client));
    socket.on('error', () => clients.delete(client));
    socket.on('message', (data, isBinary) => {
      const answer = answerRequest(isBinary ? '' : data.toString(), client, check);
      const { success, op } = JSON.parse(answer) as { success: boolean; op: string };
      if (success && op === 'ping') pings += 1;
      socket.send(answer);
    });
  };

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const { pathname } = new URL(request.url ?? '/', 'http://localhost');
    if (pathname !== '/v5/public/spot') {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(request, socket, head, accept);
  };

  /** The v5 REST envelope (docs rest_time_response, rest_kline_spot_BTCUSDT_D_2025-04-29.json). */
  const json = (res: ServerResponse, status: number, retCode: number, retMsg: string, result: unknown): void => {
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify({ retCode, retMsg, result, retExtInfo: {}, time: Date.now() }));
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET') return json(res, 405, 10001, 'Method not allowed', {});
    if (url.pathname === '/v5/market/time') {
      const now = Date.now();
      return json(res, 200, 0, 'OK', { timeSecond: String(Math.floor(now / 1000)), timeNano: String(BigInt(now) * 1_000_000n) });
    }
    if (url.pathname !== '/v5/market/instruments-info') return json(res, 404, 10001, 'Not found', {});
    if (url.searchParams.get('category') !== 'spot') return json(res, 200, 10001, 'params error: category is invalid', {});
    const symbol = url.searchParams.get('symbol');
    const listed = symbols.filter((s) => symbol === null || exchangeSymbol(s) === symbol);
    json(res, 200, 0, 'OK', { category: 'spot', list: listed.map(instrument) });
  };

  const server = createServer(onRequest);
  server.on('upgrade', onUpgrade);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    wsUrl: `ws://127.0.0.1:${port}`,
    restUrl: `http://127.0.0.1:${port}`,
    port,
    generated: (symbol) => markets.get(exchangeSymbol(symbol))?.generated.value() ?? { count: 0, amount: 0 },
    sent: (symbol) => {
      const trades = [...(sent.get(exchangeSymbol(symbol)) ?? [])];
      const tally = new TallyCounter();
      trades.forEach((trade) => tally.add(trade.v));
      return { ...tally.value(), trades };
    },
    connections: () => clients.size,
    pings: () => pings,
    pause: () => {
      paused = true;
    },
    resume: () => {
      paused = false;
    },
    dropConnections: () => clients.forEach((client) => client.socket.terminate()),
    sendMalformed: (text = '{"topic":"publicTrade.BTCUSDT","ts":1761583474344,"type":"snapshot","data":[{"i":"229000000092') =>
      clients.forEach((client) => client.socket.send(text)),
    close: async () => {
      clearInterval(generator);
      clients.forEach((client) => client.socket.terminate());
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
