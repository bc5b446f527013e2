/**
 * The clients the ingest benchmark measures, one kind per child process (ingest-client.ts):
 * the ceilings (`ws` framing, bare `ws` + JSON.parse), ours (TradeStreamCollector into
 * MemoryStorage or SqliteStorage, as the daemon builds it) and the peers (ccxt.pro
 * `watchTrades`, tardis-dev `streamNormalized`), each pointed at the bench's loopback Binance
 * stream. A client session connects to `<baseUrl>`, takes `n` trades and says when it had the
 * last one; ours also says, per trade, when it was stored.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import WebSocket from 'ws';
import { tradesCollectorKind } from '../../collectors/kinds.js';
import { tradesKey } from '../../collectors/trades/trade.js';
import { silentLogger } from '../../common/logger.js';
import { MemoryStorage } from '../../storage/memory.js';
import { SqliteStorage } from '../../storage/sqlite.js';
import { decodeRow } from '../../storage/sqlite-rows.js';
import type { DataCollectionStorage, FetchOptions, Point, SampleValue, SeriesDeclaration, StoreManyOptions, StoreManyResult } from '../../storage/types.js';
import { TAPE_SYMBOL, TAPE_UNIFIED_SYMBOL, wallNow } from './trade-tape.js';

export const CLIENT_KINDS = ['ws-framing', 'ws-json', 'ours-memory', 'ours-sqlite', 'ccxt', 'tardis'] as const;
export type ClientKind = (typeof CLIENT_KINDS)[number];

/** What one session of a client measured. */
export interface SessionResult {
  /** Trades the client took (by the last trade id it saw: all of them when this equals n). */
  trades: number;
  /** Wall-clock ms when the last trade was taken (ours: stored; SQLite: committed after a flush). */
  lastAt: number;
  /** CPU the client process used (every thread, user + system) from connecting to lastAt, ms. */
  cpuMs: number;
  /** Ours: per trade, when the storeMany that held it resolved. */
  storedAt?: Float64Array;
  /** Ours on SQLite: per trade, when the transaction that wrote it committed. */
  committedAt?: Float64Array;
  /** A line on what was checked (completeness). */
  check: string;
  /** False when the check found a problem. */
  ok: boolean;
}

/**
 * What a client knows of the tape's first `n` trades, to check what it took. Only numbers and
 * typed arrays: the tape's million price and amount strings stay out of the measured heap.
 */
export interface TapeFacts {
  firstId: number;
  /** Trade time (T) of each trade, ms. */
  times: Float64Array;
  /** Distinct trade times among the first n. */
  distinct: number;
  /** Sum of the first n amounts in whole 1e-5 lots. */
  lots: number;
}

export interface SessionContext {
  baseUrl: string;
  n: number;
  tape: TapeFacts;
  /** A directory for files (SQLite). */
  dir: string;
  /** False: ours skips reading back what it stored (its cost grows with n; the instruction count leaves it out). */
  verify?: boolean;
}

/** CPU this process has used so far (all threads, user + system), ms. */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

const SUBSCRIBE = JSON.stringify({ method: 'SUBSCRIBE', params: [`${TAPE_SYMBOL.toLowerCase()}@trade`], id: 1 });

function openSocket(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    // The options TradeStreamCollector's openWebSocket uses.
    const socket = new WebSocket(url, { autoPong: true, perMessageDeflate: false });
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Ceiling: `ws` delivering frames, counted and nothing else. */
async function wsFraming({ baseUrl, n }: SessionContext): Promise<SessionResult> {
  const cpuStart = cpuMs();
  const socket = await openSocket(`${baseUrl}/ws`);
  let frames = 0;
  let cpu = NaN;
  const lastAt = await new Promise<number>((resolve, reject) => {
    // The subscription's ack, then n trade frames.
    socket.on('message', () => {
      if (++frames !== n + 1) return;
      cpu = cpuMs() - cpuStart;
      resolve(wallNow());
    });
    socket.once('close', () => reject(new Error(`ws-framing: closed after ${frames} frames`)));
    socket.send(SUBSCRIBE);
  });
  socket.terminate();
  return { trades: frames - 1, lastAt, cpuMs: cpu, check: `${frames - 1} trade frames (+1 ack)`, ok: frames - 1 === n };
}

/** Ceiling: `ws` + UTF-8 decode + JSON.parse of every frame, nothing more. */
async function wsJson({ baseUrl, n, tape }: SessionContext): Promise<SessionResult> {
  const cpuStart = cpuMs();
  const socket = await openSocket(`${baseUrl}/ws`);
  const lastId = tape.firstId + n - 1;
  let trades = 0;
  let cpu = NaN;
  const lastAt = await new Promise<number>((resolve, reject) => {
    socket.on('message', (data) => {
      const message = JSON.parse((data as Buffer).toString('utf8')) as { e?: string; t?: number };
      if (message.e !== 'trade') return;
      trades += 1;
      if (message.t !== lastId) return;
      cpu = cpuMs() - cpuStart;
      resolve(wallNow());
    });
    socket.once('close', () => reject(new Error(`ws-json: closed after ${trades} trades`)));
    socket.send(SUBSCRIBE);
  });
  socket.terminate();
  return { trades, lastAt, cpuMs: cpu, check: `${trades} trades parsed`, ok: trades === n };
}

/**
 * Passes everything to the real storage and, when a `storeMany` resolves, notes the time for
 * each trade its points stand for (a point's `count` field: the trades merged into that
 * millisecond; the writer stores them in tape order). Checks each point against the tape.
 */
class StoreProbe implements DataCollectionStorage {
  readonly collectorState: DataCollectionStorage['collectorState'];
  readonly storedAt: Float64Array;
  /** Trades stored so far (the next trade's index), samples accepted so far. */
  cursor = 0;
  samples = 0;
  mismatches = 0;
  /** For each trade, the index of the sample it went into (to map commits back to trades). */
  readonly sampleOf: Int32Array;
  /** After each SQLite commit: samples written so far, and when. */
  readonly commits: Array<[written: number, at: number]> = [];
  readonly complete: Promise<number>;
  private resolveComplete!: (at: number) => void;

  constructor(
    private readonly inner: DataCollectionStorage,
    private readonly tape: TapeFacts,
    private readonly n: number,
  ) {
    this.collectorState = inner.collectorState;
    this.storedAt = new Float64Array(n).fill(NaN);
    this.sampleOf = new Int32Array(n).fill(-1);
    this.complete = new Promise((resolve) => (this.resolveComplete = resolve));
  }

  /** SqliteStorage's onCommit: notes when each transaction committed. */
  readonly onCommit = (written: number): void => {
    this.commits.push([written, wallNow()]);
  };

  async storeMany(points: readonly Point[], options?: StoreManyOptions): Promise<StoreManyResult> {
    const result = await this.inner.storeMany(points, options);
    const now = wallNow();
    const refused = result.rejected.length > 0 ? new Set(result.rejected.map((r) => r.index)) : undefined;
    const { times } = this.tape;
    for (let k = 0; k < points.length; k++) {
      if (refused?.has(k)) continue;
      const p = points[k]!;
      const count = (p.value as Record<string, number>).count ?? 1;
      const sample = this.samples++;
      for (let c = 0; c < count && this.cursor < this.n; c++, this.cursor++) {
        if (times[this.cursor] !== p.timestamp) this.mismatches += 1;
        this.storedAt[this.cursor] = now;
        this.sampleOf[this.cursor] = sample;
      }
    }
    if (this.cursor >= this.n) this.resolveComplete(now);
    return result;
  }

  /** Per trade, when the transaction holding its sample committed. */
  committedAt(): Float64Array {
    const out = new Float64Array(this.n).fill(NaN);
    let c = 0;
    for (let i = 0; i < this.n; i++) {
      const sample = this.sampleOf[i]!;
      while (c < this.commits.length && this.commits[c]![0] <= sample) c++;
      if (c < this.commits.length) out[i] = this.commits[c]![1];
    }
    return out;
  }

  declare(series: SeriesDeclaration): Promise<void> {
    return this.inner.declare(series);
  }
  store(key: string, value: SampleValue, timestamp: number): Promise<void> {
    return this.inner.store(key, value, timestamp);
  }
  fetch(key: string, start: number, end: number, options?: FetchOptions) {
    return this.inner.fetch(key, start, end, options);
  }
  keys() {
    return this.inner.keys();
  }
  flush(): Promise<void> {
    return this.inner.flush();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  stats() {
    return this.inner.stats();
  }
}

/** Ours: TradeStreamCollector as the daemon builds it (tradesCollectorKind), into `storage`. */
async function ours(context: SessionContext, backend: 'memory' | 'sqlite'): Promise<SessionResult> {
  const { baseUrl, n, tape, dir, verify = true } = context;
  const path = join(dir, `ingest-${process.pid}-${Date.now()}.db`);
  // onCommit runs only after a write, when probe is set.
  const storage = backend === 'memory' ? new MemoryStorage() : new SqliteStorage({ path, onCommit: (written) => probe.onCommit(written) });
  const probe = new StoreProbe(storage, tape, n);
  const watchingCommits = backend === 'sqlite';
  const key = tradesKey('binance', TAPE_UNIFIED_SYMBOL);
  const [collector, ...more] = tradesCollectorKind.create(
    [{ id: `trades:binance:${TAPE_UNIFIED_SYMBOL}`, collector: 'trades', exchange: 'binance', symbol: TAPE_UNIFIED_SYMBOL, keys: [key] }],
    { exchanges: { binance: { wsUrl: baseUrl } }, logger: silentLogger },
  );
  if (!collector || more.length > 0) throw new Error('ours: expected one trades collector');
  const stop = new AbortController();
  const cpuStart = cpuMs();
  try {
    const running = collector.run(probe, stop.signal);
    const ended = running.then(() => {
      throw new Error(`ours: the collector stopped after storing ${probe.cursor} of ${n} trades`);
    });
    ended.catch(() => {}); // only the race below cares, and only before completion
    let lastAt = await Promise.race([probe.complete, ended]);
    if (backend === 'sqlite') {
      // Into the file: what storeMany accepted is committed (and the WAL synced) before the clock stops.
      await storage.flush();
      lastAt = wallNow();
    }
    const cpu = cpuMs() - cpuStart;
    stop.abort();
    await running;
    if (!verify) {
      await storage.close();
      return { trades: probe.cursor, lastAt, cpuMs: cpu, check: `${probe.cursor} trades stored (not read back)`, ok: probe.cursor === n };
    }

    // Completeness: what the storage holds. MemoryStorage is read through its API; the SQLite
    // file with SQL on a read-only connection (as another process reads it), which takes
    // milliseconds where fetching 250k samples through SqliteStorage takes seconds.
    let held: { samples: number; count: number; lots: number };
    if (backend === 'memory') {
      held = { samples: 0, count: 0, lots: 0 };
      for (const [, value] of await storage.fetch(key, 0, Number.MAX_SAFE_INTEGER)) {
        const v = value as Record<string, number>;
        held.samples += 1;
        held.count += v.count!;
        held.lots += Math.round(v.amount! * 100_000);
      }
    } else {
      await storage.close();
      held = sqliteHolds(path, key);
    }
    const { samples, count, lots } = held;
    const written = storage.stats().written;
    const problems = [
      count !== n && `count sum ${count} ≠ ${n}`,
      samples !== tape.distinct && `${samples} samples ≠ ${tape.distinct} distinct ms`,
      lots !== tape.lots && `amount ${lots / 1e5} ≠ ${tape.lots / 1e5}`,
      probe.mismatches > 0 && `${probe.mismatches} trades stored at a time the tape does not have`,
      backend === 'sqlite' && written !== probe.samples && `${written} samples committed ≠ ${probe.samples} accepted`,
    ].filter((p): p is string => typeof p === 'string');
    const check = `stored ${count.toLocaleString('en-US')} trades (count-field sum) in ${samples.toLocaleString('en-US')} per-ms samples, amount ${(lots / 1e5).toFixed(5)}` +
      (problems.length > 0 ? `; PROBLEMS: ${problems.join('; ')}` : ' — matches the tape');
    return {
      trades: count,
      lastAt,
      cpuMs: cpu,
      storedAt: probe.storedAt,
      committedAt: watchingCommits ? probe.committedAt() : undefined,
      check,
      ok: problems.length === 0,
    };
  } finally {
    stop.abort();
    await storage.close().catch(() => {});
    for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
  }
}

/** Samples, count-field sum and amount (in lots) of `key` in a SQLite file written by SqliteStorage. */
function sqliteHolds(path: string, key: string): { samples: number; count: number; lots: number } {
  const db = new Database(path, { readonly: true });
  try {
    const series = db.prepare('SELECT id, columns FROM series WHERE key = ?').get(key) as { id: number; columns: string } | undefined;
    const held = { samples: 0, count: 0, lots: 0 };
    if (!series) return held;
    const columns = JSON.parse(series.columns) as string[];
    for (const [v] of db.prepare('SELECT v FROM samples WHERE series_id = ?').raw().iterate(series.id) as IterableIterator<[Uint8Array]>) {
      const row = decodeRow(v, columns);
      held.samples += 1;
      held.count += row.count ?? 0;
      held.lots += Math.round((row.amount ?? 0) * 100_000);
    }
    return held;
  } finally {
    db.close();
  }
}

/** exchangeInfo's BTCUSDT entry as Binance sends it (the simulator's symbolInfo), for ccxt's parseMarket. */
const BTCUSDT_INFO = {
  symbol: 'BTCUSDT', status: 'TRADING', baseAsset: 'BTC', baseAssetPrecision: 8, quoteAsset: 'USDT', quotePrecision: 8, quoteAssetPrecision: 8,
  baseCommissionPrecision: 8, quoteCommissionPrecision: 8,
  orderTypes: ['LIMIT', 'LIMIT_MAKER', 'MARKET', 'STOP_LOSS_LIMIT', 'TAKE_PROFIT_LIMIT'],
  icebergAllowed: true, ocoAllowed: true, quoteOrderQtyMarketAllowed: true, isSpotTradingAllowed: true, isMarginTradingAllowed: true,
  filters: [
    { filterType: 'PRICE_FILTER', minPrice: '0.01000000', maxPrice: '1000000.00000000', tickSize: '0.01000000' },
    { filterType: 'LOT_SIZE', minQty: '0.00001000', maxQty: '9000.00000000', stepSize: '0.00001000' },
    { filterType: 'MIN_NOTIONAL', minNotional: '10.00000000', applyToMarket: true, avgPriceMins: 5 },
  ],
  permissions: ['SPOT', 'MARGIN'],
};

/**
 * Peer: ccxt.pro binance `watchTrades('BTC/USDT')`. Pointed at the bench stream with
 * `exchange.urls.api.ws.spot` (ccxt connects to `<that>/<stream index>` and SUBSCRIBEs);
 * markets are set from an exchangeInfo entry (ccxt's own parseMarket) instead of loadMarkets,
 * which would fetch from api.binance.com. Done when the tape's last id comes back: ccxt
 * parsed every frame by then, even ones its 1000-trade cache dropped before we looked.
 */
async function ccxtPro({ baseUrl, n, tape }: SessionContext): Promise<SessionResult> {
  // Imported here, so only the peer's own process loads it.
  const { default: ccxt } = await import('ccxt');
  const exchange = new ccxt.pro.binance();
  (exchange.urls.api['ws'] as Record<string, unknown>)['spot'] = `${baseUrl}/ws`;
  // What fetchMarkets would have loaded from sapi before parsing (margin pairs; none here).
  exchange.options['crossMarginPairsData'] = [];
  exchange.options['isolatedMarginPairsData'] = [];
  exchange.setMarkets([exchange.parseMarket(BTCUSDT_INFO)]);
  // ccxt refuses a plain ws:// URL until its http agent is loaded.
  await exchange.loadHttpProxyAgent();
  const cpuStart = cpuMs();
  const lastId = tape.firstId + n - 1;
  let delivered = 0;
  let seen = -1;
  try {
    while (seen < lastId) {
      const trades = await exchange.watchTrades('BTC/USDT');
      delivered += trades.length;
      if (trades.length > 0) seen = Number(trades[trades.length - 1]!.id);
    }
    const lastAt = wallNow();
    const cpu = cpuMs() - cpuStart;
    const trades = seen - tape.firstId + 1;
    return { trades, lastAt, cpuMs: cpu, check: `last id reached; ${delivered.toLocaleString('en-US')} trades returned by watchTrades (its cache keeps 1000 between calls)`, ok: trades === n };
  } finally {
    await exchange.close();
  }
}

/**
 * Peer: tardis-dev `streamNormalized({ exchange: 'binance', symbols: ['btcusdt'] }, normalizeTrades)`.
 * Pointed at the bench stream with the WSS_URL_BINANCE environment variable, which its
 * real-time feed reads instead of its `wssURL` (`wss://stream.binance.com/stream?timeUnit=microsecond`)
 * at every connect; it then SUBSCRIBEs on the combined stream and gets µs times.
 */
async function tardis({ baseUrl, n, tape }: SessionContext): Promise<SessionResult> {
  const { normalizeTrades, streamNormalized } = await import('tardis-dev');
  process.env.WSS_URL_BINANCE = `${baseUrl}/stream?timeUnit=microsecond`;
  const lastId = String(tape.firstId + n - 1);
  let trades = 0;
  let lastAt = NaN;
  let cpu = NaN;
  let badTimes = 0;
  const cpuStart = cpuMs();
  for await (const message of streamNormalized({ exchange: 'binance', symbols: ['btcusdt'] }, normalizeTrades)) {
    if (message.type !== 'trade') continue;
    if (message.timestamp.getTime() !== tape.times[Number(message.id) - tape.firstId]) badTimes += 1;
    trades += 1;
    if (message.id === lastId) {
      lastAt = wallNow();
      cpu = cpuMs() - cpuStart;
      break;
    }
  }
  const problems = badTimes > 0 ? `; ${badTimes} trades with a wrong time` : '';
  return { trades, lastAt, cpuMs: cpu, check: `${trades.toLocaleString('en-US')} normalized trades${problems}`, ok: trades === n && badTimes === 0 };
}

export function runSession(kind: ClientKind, context: SessionContext): Promise<SessionResult> {
  switch (kind) {
    case 'ws-framing':
      return wsFraming(context);
    case 'ws-json':
      return wsJson(context);
    case 'ours-memory':
      return ours(context, 'memory');
    case 'ours-sqlite':
      return ours(context, 'sqlite');
    case 'ccxt':
      return ccxtPro(context);
    case 'tardis':
      return tardis(context);
  }
}
