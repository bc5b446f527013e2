/**
 * A bench-only loopback Binance spot stream that sends a pre-generated trade tape as fast as
 * the socket drains (or at a fixed rate), for the ingest benchmark. The project's simulator
 * (collectors/exchanges/binance/simulator/) generates trades on a timer, far below the 100k+
 * trades/s a throughput benchmark needs; this one speaks the same protocol with the same frames:
 *
 * - paths `/ws`, `/ws/<anything>` (raw payloads; ccxt connects to `/ws/<stream index>`) and
 *   `/stream?streams=a/b` (combined: `{"stream":…,"data":…}`), each behind a session prefix
 *   `/s/<id>` that selects what to send;
 * - JSON requests (SUBSCRIBE, LIST_SUBSCRIPTIONS, …) answered by the simulator's own
 *   `answerRequest`, so acks are Binance's `{"result":null,"id":N}`;
 * - `?timeUnit=microsecond` (what tardis-dev asks for) turns E and T into microseconds;
 * - each trade frame is binancePayload's exact format and key order
 *   (`{"e":"trade","E":…,"s":…,"t":…,"p":…,"q":…,"T":…,"m":…,"M":true}`), with E the time
 *   the frame was handed to the socket.
 *
 * Once a connection subscribes to `btcusdt@trade` the session's trades go out as pre-encoded
 * WebSocket text frames, several hundred per `socket.write`, straight to the TCP socket under
 * `ws` (whose Sender writes whole frames too, so acks and pongs never interleave with them);
 * a write that fills the socket's buffer waits for 'drain'. The handshake and everything the
 * client sends go through `ws`.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocketServer, type WebSocket } from 'ws';
import { answerRequest, streamSymbol, type ConnectionState } from '../../collectors/exchanges/binance/simulator/requests.js';
import { TAPE_SYMBOL, wallNow, type TradeTape } from './trade-tape.js';

const TRADE_STREAM = `${TAPE_SYMBOL.toLowerCase()}@trade`;
/** Bytes per socket.write when blasting (about 500 frames). */
const CHUNK_BYTES = 64 * 1024;

/** What one session sends to the first connection that subscribes to the tape's stream. */
export interface BlastPlan {
  /** The first `n` trades of the tape. */
  n: number;
  /** Trades per second; 0 sends as fast as the socket drains. */
  ratePerSec: number;
}

/** What a session sent: per trade, when it was handed to the socket (wall-clock ms, sub-ms). */
export interface SessionReport {
  plan: BlastPlan;
  sentAt: Float64Array;
  firstSendAt: number;
  lastSendAt: number;
  /** Trades written so far. */
  sent: number;
  /** Connections that subscribed (a client that reconnected shows > 1; only the first is sent to). */
  subscriptions: number;
}

/** The tape as WebSocket frames in one buffer, with where each frame's E digits go. */
interface EncodedTape {
  bytes: Buffer;
  /** Frame i spans frameStart[i] .. frameStart[i + 1]. */
  frameStart: Float64Array;
  /** Offset of frame i's E digits. */
  eAt: Float64Array;
  micros: boolean;
}

function encodeTape(tape: TradeTape, combined: boolean, micros: boolean): EncodedTape {
  const { n } = tape;
  const eDigits = micros ? 16 : 13;
  const placeholder = '0'.repeat(eDigits);
  const scale = micros ? 1000 : 1;
  const prefix = combined ? `{"stream":"${TRADE_STREAM}","data":` : '';
  const suffix = combined ? '}' : '';
  const payloadHead = `${prefix}{"e":"trade","E":`;
  const frames = new Array<string>(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const payload = `${payloadHead}${placeholder},"s":"${TAPE_SYMBOL}","t":${tape.firstId + i},"p":"${tape.prices[i]}","q":"${tape.amounts[i]}","T":${tape.times[i]! * scale},"m":${tape.takerSold[i] === 1},"M":true}${suffix}`;
    frames[i] = payload;
    total += (payload.length < 126 ? 2 : 4) + payload.length;
  }
  const bytes = Buffer.allocUnsafe(total);
  const frameStart = new Float64Array(n + 1);
  const eAt = new Float64Array(n);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const payload = frames[i]!;
    frameStart[i] = at;
    bytes[at++] = 0x81; // FIN, text
    if (payload.length < 126) bytes[at++] = payload.length;
    else {
      bytes[at++] = 126;
      bytes.writeUInt16BE(payload.length, at);
      at += 2;
    }
    eAt[i] = at + payloadHead.length;
    at += bytes.write(payload, at, 'latin1');
  }
  frameStart[n] = at;
  return { bytes, frameStart, eAt, micros };
}

/** The session id and the Binance path of a request URL (`/s/<id>/ws…`). */
function route(url: URL): { id: number; path: string } | undefined {
  const match = /^\/s\/(\d+)(\/.*)$/.exec(url.pathname);
  return match ? { id: Number(match[1]), path: match[2]! } : undefined;
}

/** Which streams a Binance path subscribes to at connect, or undefined for a path Binance does not serve. */
function connectionState(path: string, url: URL): ConnectionState | undefined {
  if (path === '/ws' || path === '/ws/') return { combined: false, streams: new Set() };
  if (path.startsWith('/ws/')) {
    // ccxt connects to /ws/<stream index> and subscribes by request; a stream name subscribes at once.
    const name = decodeURIComponent(path.slice(4));
    return { combined: false, streams: new Set(streamSymbol(name) === undefined ? [] : [name]) };
  }
  if (path !== '/stream') return undefined;
  const names = (url.searchParams.get('streams') ?? '').split('/').filter((s) => s.length > 0);
  return { combined: true, streams: new Set(names) };
}

const checkStream = (stream: string): string | undefined => (streamSymbol(stream) === undefined ? 'Invalid request: invalid stream' : undefined);

export class BinanceBlaster {
  private readonly sessions = new Map<number, SessionReport>();
  private readonly encoded = new Map<string, EncodedTape>();
  private readonly sockets = new Set<WebSocket>();
  private nextId = 1;
  private closed = false;

  private constructor(
    private readonly tape: TradeTape,
    private readonly server: Server,
    private readonly wss: WebSocketServer,
    readonly port: number,
  ) {}

  /** Listens on 127.0.0.1 (an ephemeral port). */
  static async start(tape: TradeTape): Promise<BinanceBlaster> {
    const server = createServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"code":-1,"msg":"Not found."}');
    });
    const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const blaster = new BinanceBlaster(tape, server, wss, (server.address() as AddressInfo).port);
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => blaster.upgrade(req, socket, head));
    return blaster;
  }

  /** Registers a session; its base URL is what a client is pointed at (`<base>/ws`, `<base>/stream`). */
  session(plan: BlastPlan): { id: number; baseUrl: string } {
    if (!Number.isInteger(plan.n) || plan.n <= 0 || plan.n > this.tape.n) throw new Error(`blaster: n = ${plan.n}, the tape has ${this.tape.n}`);
    const id = this.nextId++;
    this.sessions.set(id, { plan, sentAt: new Float64Array(plan.n).fill(NaN), firstSendAt: NaN, lastSendAt: NaN, sent: 0, subscriptions: 0 });
    return { id, baseUrl: `ws://127.0.0.1:${this.port}/s/${id}` };
  }

  report(id: number): SessionReport | undefined {
    return this.sessions.get(id);
  }

  /** Forgets a session (its per-trade times). */
  forget(id: number): void {
    this.sessions.delete(id);
  }

  /** Encodes the tape for the paths the benchmark's clients use (/ws in ms, /stream in µs), so no session waits for it. */
  prepare(): void {
    this.encodedTape(false, false);
    this.encodedTape(true, true);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const socket of this.sockets) socket.terminate();
    this.wss.close();
    this.server.close();
    this.server.closeAllConnections();
  }

  private encodedTape(combined: boolean, micros: boolean): EncodedTape {
    const key = `${combined}:${micros}`;
    let encoded = this.encoded.get(key);
    if (!encoded) this.encoded.set(key, (encoded = encodeTape(this.tape, combined, micros)));
    return encoded;
  }

  private upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const routed = route(url);
    const session = routed && this.sessions.get(routed.id);
    const state = routed && connectionState(routed.path, url);
    if (!session || !state) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const micros = (url.searchParams.get('timeUnit') ?? '').toLowerCase() === 'microsecond';
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, session, state, micros));
  }

  private accept(ws: WebSocket, session: SessionReport, state: ConnectionState, micros: boolean): void {
    this.sockets.add(ws);
    ws.on('close', () => this.sockets.delete(ws));
    ws.on('error', () => {});
    let started = false;
    const startIfSubscribed = (): void => {
      if (started || !state.streams.has(TRADE_STREAM)) return;
      started = true;
      session.subscriptions += 1;
      if (session.subscriptions > 1) return; // a reconnect: the tape went to the first connection
      // The socket under ws: frames are written to it pre-encoded.
      const raw = (ws as unknown as { _socket: Socket })._socket;
      this.blast(raw, session, this.encodedTape(state.combined, micros)).catch(() => {});
    };
    ws.on('message', (data, isBinary) => {
      ws.send(answerRequest(isBinary ? '' : (data as Buffer).toString('utf8'), state, checkStream));
      startIfSubscribed();
    });
    startIfSubscribed();
  }

  /** Writes the session's trades in chunks, waiting for 'drain' when the socket's buffer is full. */
  private async blast(raw: Socket, session: SessionReport, tape: EncodedTape): Promise<void> {
    const { n, ratePerSec } = session.plan;
    const { bytes, frameStart, eAt, micros } = tape;
    let closed = false;
    raw.once('close', () => (closed = true));
    const drained = () =>
      new Promise<void>((resolve) => {
        const done = () => {
          raw.off('drain', done);
          raw.off('close', done);
          resolve();
        };
        raw.on('drain', done);
        raw.on('close', done);
      });
    let i = 0;
    let pacedFrom = NaN;
    while (i < n && !closed && !raw.destroyed) {
      let upto = n;
      if (ratePerSec > 0) {
        const now = wallNow();
        if (Number.isNaN(pacedFrom)) pacedFrom = now;
        upto = Math.min(n, Math.floor(((now - pacedFrom) * ratePerSec) / 1000) + 1);
        if (upto <= i) {
          await sleep(1);
          continue;
        }
      }
      let j = i + 1;
      const limit = frameStart[i]! + CHUNK_BYTES;
      while (j < upto && frameStart[j + 1]! <= limit) j++;
      const from = frameStart[i]!;
      const chunk = Buffer.allocUnsafe(frameStart[j]! - from);
      bytes.copy(chunk, 0, from, frameStart[j]!);
      const now = wallNow();
      const e = String(Math.floor(micros ? now * 1000 : now));
      for (let k = i; k < j; k++) chunk.write(e, eAt[k]! - from, 'latin1');
      session.sentAt.fill(now, i, j);
      if (i === 0) session.firstSendAt = now;
      session.lastSendAt = now;
      const more = raw.write(chunk);
      session.sent = j;
      i = j;
      if (!more) await drained();
    }
  }
}
