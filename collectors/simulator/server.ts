/**
 * The HTTP + WebSocket server under every exchange simulator: it listens on 127.0.0.1, hands each
 * WebSocket upgrade and REST request to the exchange's routes, keeps the set of open clients and
 * tears everything down on close. What a connection says and hears is the exchange's business.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { FaultSwitches } from './fault-switches.js';

/** A connected client: its socket, plus whatever state the exchange's protocol keeps for it. */
export interface SimulatorClient {
  readonly socket: WebSocket;
}

/** Takes an upgraded socket: returns the client to register, or undefined when it has closed the socket itself. */
export type AcceptSocket<C extends SimulatorClient> = (socket: WebSocket) => C | undefined;

/** Where an exchange simulator's requests go. */
export interface SimulatorRoutes<C extends SimulatorClient> {
  /** The acceptor for a WebSocket upgrade to `url`; undefined refuses the upgrade with a 404. */
  websocket(url: URL): AcceptSocket<C> | undefined;
  /** Answers a plain HTTP request. */
  rest(req: IncomingMessage, res: ServerResponse, url: URL): void;
}

/** A listening simulator server and its open clients. */
export interface SimulatorServer<C extends SimulatorClient> {
  port: number;
  wsUrl: string;
  restUrl: string;
  /** Open clients; one leaves the set when its socket closes or fails. */
  readonly clients: ReadonlySet<C>;
  /** WebSocket connections accepted since the start, open or closed: a reconnect counts one more. */
  accepted(): number;
  /**
   * Sends each client the text frame `frameFor` gives it (undefined: none; a Buffer goes out as
   * the frame's bytes, valid UTF-8 or not); true when at least one client got one.
   */
  sendEach(frameFor: (client: C) => string | Buffer | undefined, options?: { binary: boolean }): boolean;
  /** Runs `task` every `ms` until the server closes: keepalive, heartbeats, idle cut-offs. */
  every(ms: number, task: () => void): void;
  /** Cuts every connection without a close handshake, as a network failure would. */
  dropConnections(): void;
  /** REST requests received since the start, all or those to one path. */
  restRequests(path?: string): number;
  /** Refused subscriptions and throttled REST: the routes consult it, the REST throttle is applied here. */
  readonly faults: FaultSwitches;
  /** Stops the periodic tasks, cuts the clients and stops listening. */
  close(): Promise<void>;
}

// Urls arrive as paths; the base only makes them parseable.
function requestUrl(req: IncomingMessage): URL {
  return new URL(req.url ?? '/', 'http://localhost');
}

/** A REST answer: status, JSON body and extra headers. */
export interface RestAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** Writes `body` as a JSON reply; the content type is the exchange's own spelling. */
export function sendJson(res: ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  res.writeHead(status, { 'Content-Type': contentType }).end(JSON.stringify(body));
}

/** Starts a simulator server on 127.0.0.1 at `port` (0 or undefined picks a free one). */
export async function startSimulatorServer<C extends SimulatorClient>(port: number | undefined, routes: SimulatorRoutes<C>): Promise<SimulatorServer<C>> {
  const clients = new Set<C>();
  const timers: NodeJS.Timeout[] = [];
  const wss = new WebSocketServer({ noServer: true });

  let accepted = 0;
  const register = (client: C): void => {
    accepted += 1;
    clients.add(client);
    client.socket.on('close', () => clients.delete(client));
    client.socket.on('error', () => clients.delete(client));
  };

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const accept = routes.websocket(requestUrl(request));
    if (!accept) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      const client = accept(ws);
      if (client) register(client);
    });
  };

  const requestsByPath = new Map<string, number>();
  const faults = new FaultSwitches();
  const server = createServer((req, res) => {
    const url = requestUrl(req);
    requestsByPath.set(url.pathname, (requestsByPath.get(url.pathname) ?? 0) + 1);
    // One answer for every exchange: clients go by the status and Retry-After, not the body.
    const retryAfter = faults.restRetryAfterSeconds();
    if (retryAfter !== undefined) return void res.writeHead(429, { 'Content-Type': 'application/json', 'Retry-After': String(retryAfter) }).end('{"error":"Too many requests (simulated)"}');
    routes.rest(req, res, url);
  });
  server.on('upgrade', onUpgrade);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = (server.address() as AddressInfo).port;

  const terminateAll = (): void => clients.forEach((client) => client.socket.terminate());

  return {
    port: address,
    wsUrl: `ws://127.0.0.1:${address}`,
    restUrl: `http://127.0.0.1:${address}`,
    clients,
    accepted: () => accepted,
    sendEach: (frameFor, { binary } = { binary: false }) => {
      let sent = false;
      for (const client of clients) {
        const frame = frameFor(client);
        if (frame === undefined) continue;
        client.socket.send(frame, { binary });
        sent = true;
      }
      return sent;
    },
    every: (ms, task) => {
      timers.push(setInterval(task, ms));
    },
    dropConnections: terminateAll,
    faults,
    restRequests: (path) => (path === undefined ? [...requestsByPath.values()].reduce((a, b) => a + b, 0) : (requestsByPath.get(path) ?? 0)),
    close: async () => {
      timers.forEach((timer) => clearInterval(timer));
      terminateAll();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      // Keep-alive REST connections would otherwise hold server.close() open.
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
