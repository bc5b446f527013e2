import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { SimulatedMarket, TallyCounter, type TradeTally } from '../../simulator/market.js';
import { heartbeatFrame, matchPayload, type CoinbaseMatchPayload } from './simulator-frames.js';
import { answerRequest, type Subscriptions } from './simulator-requests.js';
import { coinbaseRest } from './simulator-rest.js';

export type { CoinbaseMatchPayload } from './simulator-frames.js';

export interface CoinbaseSimulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Product ids (unified `BASE-QUOTE`, which Coinbase uses as is) the simulated exchange lists. */
  symbols: readonly string[];
  /** Trades generated per second for each product. */
  tradesPerSecond: number;
  /** Seeds the generated prices, quantities and sides. */
  seed?: number;
  /** Period of the heartbeat channel; Coinbase: once a second. */
  heartbeatIntervalMs?: number;
  /** A client that has not subscribed within this long is disconnected; Coinbase: 5 s. */
  subscribeTimeoutMs?: number;
}

/** The `match` frames sent for one product: each trade once, however many clients got it. */
export interface SentMatches extends TradeTally {
  trades: readonly CoinbaseMatchPayload[];
}

export interface CoinbaseSimulator {
  wsUrl: string;
  restUrl: string;
  port: number;
  /** Everything generated for a product, subscribed or not. */
  generated(symbol: string): TradeTally;
  /** The `match` frames sent to at least one client (`last_match` repeats are not counted). */
  sent(symbol: string): SentMatches;
  /** Open client connections. */
  connections(): number;
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
  subscriptions: Subscriptions;
  subscribed: boolean;
}

interface Product {
  market: SimulatedMarket;
  /** Coinbase's per-product sequence; the simulator advances it once per trade. */
  sequence: number;
  last?: CoinbaseMatchPayload;
  sent: CoinbaseMatchPayload[];
}

const TICK_MS = 10;

/** Starts a Coinbase Exchange simulator on 127.0.0.1: the `ws-feed` at `/` and REST `/products`, `/products/<id>`, `/time`. */
export async function startCoinbaseSimulator(options: CoinbaseSimulatorOptions): Promise<CoinbaseSimulator> {
  const { symbols, tradesPerSecond, seed = 1, heartbeatIntervalMs = 1_000, subscribeTimeoutMs = 5_000 } = options;
  const products = new Map(symbols.map((id, i): [string, Product] => [id, { market: new SimulatedMarket(seed + i), sequence: 1_000_000 * (i + 1), sent: [] }]));
  const clients = new Set<Client>();
  let heartbeats = 0;
  let paused = false;

  const publish = (product: Product, payload: CoinbaseMatchPayload): void => {
    product.last = payload;
    const text = JSON.stringify(payload);
    let delivered = false;
    for (const client of clients) {
      if (!client.subscriptions.get('matches')?.has(payload.product_id)) continue;
      client.socket.send(text);
      delivered = true;
    }
    if (delivered) product.sent.push(payload);
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
    for (const [id, product] of products) {
      for (let left = owed; left > 0; ) {
        const fills = product.market.nextFills(now, left);
        left -= fills.length;
        // Microseconds vary per trade, as in the recordings; the millisecond is the trade's.
        for (const fill of fills) publish(product, matchPayload(id, fill, (product.sequence += 1), (fill.id * 337) % 1000));
      }
    }
  }, TICK_MS);

  const heartbeat = setInterval(() => {
    const now = Date.now();
    for (const client of clients) {
      for (const id of client.subscriptions.get('heartbeat') ?? []) {
        const product = products.get(id)!;
        client.socket.send(heartbeatFrame(id, product.sequence, product.last?.trade_id ?? 0, now));
        heartbeats += 1;
      }
    }
  }, heartbeatIntervalMs);

  const onMessage = (client: Client, text: string): void => {
    const outcome = answerRequest(text, client.subscriptions, (id) => products.has(id));
    client.subscribed ||= outcome.subscribed;
    outcome.replies.forEach((reply) => client.socket.send(reply));
    // Each newly subscribed product's latest trade follows as `last_match` (ws_full_session_2021-04-17.jsonl;
    // there some arrive before the subscriptions reply, here they always follow it).
    for (const id of outcome.newMatches) {
      const last = products.get(id)!.last;
      if (last) client.socket.send(JSON.stringify({ ...last, type: 'last_match' }));
    }
  };

  const wss = new WebSocketServer({ noServer: true });
  const accept = (socket: WebSocket): void => {
    const client: Client = { socket, subscriptions: new Map(), subscribed: false };
    clients.add(client);
    // "you are disconnected if no subscribe has been received within 5 seconds" (websocket-feed overview).
    const deadline = setTimeout(() => {
      // The close code is not documented; a normal close is assumed.
      if (!client.subscribed) socket.close(1000);
    }, subscribeTimeoutMs);
    const forget = (): void => {
      clearTimeout(deadline);
      clients.delete(client);
    };
    socket.on('close', forget);
    socket.on('error', forget);
    socket.on('message', (data, isBinary) => onMessage(client, isBinary ? '' : data.toString()));
  };

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // The feed lives at the root of ws-feed.exchange.coinbase.com.
    if (new URL(request.url ?? '/', 'http://localhost').pathname !== '/') {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(request, socket, head, accept);
  };

  const server = createServer(coinbaseRest(symbols));
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
    generated: (symbol) => products.get(symbol)?.market.generated.value() ?? { count: 0, amount: 0 },
    sent: (symbol) => {
      const trades = [...(products.get(symbol)?.sent ?? [])];
      const tally = new TallyCounter();
      trades.forEach((trade) => tally.add(trade.size));
      return { ...tally.value(), trades };
    },
    connections: () => clients.size,
    heartbeats: () => heartbeats,
    pause: () => {
      paused = true;
    },
    resume: () => {
      paused = false;
    },
    dropConnections: () => clients.forEach((client) => client.socket.terminate()),
    sendMalformed: (text = '{"type":"match","trade_id":1568268,"maker_order_id":"cac01d6d') => clients.forEach((client) => client.socket.send(text)),
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
