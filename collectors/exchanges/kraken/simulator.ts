import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { SimulatedMarket, TallyCounter, type TradeTally } from '../../simulator/market.js';
import { connectionId, framedTrade, HEARTBEAT, statusFrame, tradeFrame, type FramedTrade, type KrakenTradeEntry } from './simulator-frames.js';
import { answerRequest } from './simulator-requests.js';
import { krakenRest } from './simulator-rest.js';

export type { KrakenTradeEntry } from './simulator-frames.js';

export interface KrakenSimulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Unified `BASE-QUOTE` symbols the simulated exchange lists (`BTC-USD` is listed as `BTC/USD`). */
  symbols: readonly string[];
  /** Trades generated per second for each symbol. */
  tradesPerSecond: number;
  /** Seeds the generated prices, quantities and sides. */
  seed?: number;
  /** Period of `{"channel":"heartbeat"}` to subscribed clients; Kraken: about a second. */
  heartbeatIntervalMs?: number;
}

/** The trades sent in `update` frames for one symbol: each trade once, however many clients got it. */
export interface SentTrades extends TradeTally {
  trades: readonly KrakenTradeEntry[];
}

export interface KrakenSimulator {
  wsUrl: string;
  restUrl: string;
  port: number;
  /** Everything generated for a symbol (either spelling), subscribed or not. */
  generated(symbol: string): TradeTally;
  /** What was sent in `update` frames to at least one client (either spelling); snapshots are not counted. */
  sent(symbol: string): SentTrades;
  /** Open client connections. */
  connections(): number;
  /** Application-level pings answered with a pong. */
  pings(): number;
  /** Heartbeat frames sent, all clients together. */
  heartbeats(): number;
  /** Stops generating trades (connections and heartbeats go on). */
  pause(): void;
  resume(): void;
  /** Fault: cuts every connection without a close handshake, as a network failure would. */
  dropConnections(): void;
  /** Fault: sends a frame that is not valid JSON to every client. */
  sendMalformed(text?: string): void;
  close(): Promise<void>;
}

interface Client {
  socket: WebSocket;
  /** Symbols subscribed on the trade channel. */
  trades: Set<string>;
}

interface Pair {
  market: SimulatedMarket;
  /** Entry texts of the latest trades, for snapshots. */
  recent: string[];
  sent: KrakenTradeEntry[];
}

const TICK_MS = 10;
// A trade snapshot holds the 50 most recent trades (spot-websocket-v2/trade, `snapshot`).
const SNAPSHOT_TRADES = 50;

/** `BTC-USD` or `BTC/USD` → `BTC/USD`. */
function v2Symbol(symbol: string): string {
  return symbol.replace('-', '/').toUpperCase();
}

/** Starts a Kraken spot simulator on 127.0.0.1: WebSocket v2 at `/v2` and REST `/0/public/{Time,SystemStatus,AssetPairs}`. */
export async function startKrakenSimulator(options: KrakenSimulatorOptions): Promise<KrakenSimulator> {
  const { symbols, tradesPerSecond, seed = 1, heartbeatIntervalMs = 1_000 } = options;
  const pairs = new Map(symbols.map((symbol, i): [string, Pair] => [v2Symbol(symbol), { market: new SimulatedMarket(seed + i), recent: [], sent: [] }]));
  const clients = new Set<Client>();
  let pings = 0;
  let heartbeats = 0;
  let paused = false;

  const publish = (symbol: string, pair: Pair, framed: readonly FramedTrade[]): void => {
    pair.recent.push(...framed.map((f) => f.text));
    pair.recent.splice(0, Math.max(0, pair.recent.length - SNAPSHOT_TRADES));
    // One frame per taker order: its fills share the data array.
    const text = tradeFrame('update', framed.map((f) => f.text));
    let delivered = false;
    for (const client of clients) {
      if (!client.trades.has(symbol)) continue;
      client.socket.send(text);
      delivered = true;
    }
    if (delivered) pair.sent.push(...framed.map((f) => f.entry));
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
    for (const [symbol, pair] of pairs) {
      for (let left = owed; left > 0; ) {
        const fills = pair.market.nextFills(now, left);
        left -= fills.length;
        // Microseconds vary per trade, as in the recordings; the millisecond is the trade's.
        publish(symbol, pair, fills.map((fill) => framedTrade(symbol, fill, (fill.id * 337) % 1000)));
      }
    }
  }, TICK_MS);

  const heartbeat = setInterval(() => {
    for (const client of clients) {
      if (client.trades.size === 0) continue;
      client.socket.send(HEARTBEAT);
      heartbeats += 1;
    }
  }, heartbeatIntervalMs);

  const onMessage = (client: Client, text: string): void => {
    const outcome = answerRequest(text, client.trades, (symbol) => pairs.has(symbol));
    if (outcome.ping) pings += 1;
    outcome.replies.forEach((reply) => client.socket.send(reply));
    for (const symbol of outcome.snapshots) client.socket.send(tradeFrame('snapshot', pairs.get(symbol)!.recent));
  };

  const wss = new WebSocketServer({ noServer: true });
  const accept = (socket: WebSocket): void => {
    const client: Client = { socket, trades: new Set() };
    clients.add(client);
    socket.on('close', () => clients.delete(client));
    socket.on('error', () => clients.delete(client));
    socket.on('message', (data, isBinary) => onMessage(client, isBinary ? '' : data.toString()));
    // Sent at once, before any request (the recorded session's first frame).
    socket.send(statusFrame(connectionId()));
  };

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (new URL(request.url ?? '/', 'http://localhost').pathname !== '/v2') {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(request, socket, head, accept);
  };

  const server = createServer(krakenRest([...pairs.keys()]));
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
    generated: (symbol) => pairs.get(v2Symbol(symbol))?.market.generated.value() ?? { count: 0, amount: 0 },
    sent: (symbol) => {
      const trades = [...(pairs.get(v2Symbol(symbol))?.sent ?? [])];
      const tally = new TallyCounter();
      trades.forEach((trade) => tally.add(trade.qty));
      return { ...tally.value(), trades };
    },
    connections: () => clients.size,
    pings: () => pings,
    heartbeats: () => heartbeats,
    pause: () => {
      paused = true;
    },
    resume: () => {
      paused = false;
    },
    dropConnections: () => clients.forEach((client) => client.socket.terminate()),
    sendMalformed: (text = '{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"buy","price":68580.0,') =>
      clients.forEach((client) => client.socket.send(text)),
    close: async () => {
      clearInterval(generator);
      clearInterval(heartbeat);
      clients.forEach((client) => client.socket.terminate());
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
