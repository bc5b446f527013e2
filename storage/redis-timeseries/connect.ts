/**
 * Connecting to Redis, one server or a Redis Cluster: URL and password handling, credential
 * masking, the connection the rest of the backend talks through (the same calls for both),
 * the start-up check for TimeSeries commands, and telling a Redis refusal from Redis being
 * unreachable.
 */
import { createClient, createCluster, ErrorReply, MultiErrorReply, RESP_TYPES } from 'redis';
import { maskUrl } from '../../common/sanitize.js';
import { StorageError } from '../errors.js';

export { maskUrl };

/** node-redis' client for one server (RESP2). */
export type RedisServerClient = ReturnType<typeof createClient>;
/** node-redis' client for a Redis Cluster (RESP2). */
export type RedisClusterClient = ReturnType<typeof createCluster>;
/**
 * The node-redis client underneath a connection, for code that uses node-redis' own
 * commands (collector state): both kinds have the same command methods, and the cluster
 * one routes each by its key.
 */
export type RedisClient = RedisServerClient | RedisClusterClient;

/** A MULTI ... EXEC that one node runs atomically. */
export interface Transaction {
  add(args: string[]): Transaction;
  /** The replies in order; rejects when Redis refused the transaction or a queued command. */
  exec(): Promise<unknown[]>;
}

/** One node asked on its own (the start-up check): the server, or each master of a cluster. */
export interface RedisNode {
  /** The node's URL, credentials masked, for messages. */
  url: string;
  send(args: string[]): Promise<unknown>;
}

/**
 * One Redis server or a Redis Cluster behind the same calls, so the writer, reader and
 * schema code never branch on which. Every call names the key whose slot it touches: a
 * cluster routes it to that slot's master (following MOVED/ASK), a single server ignores
 * it. There is no pipeline object: node-redis pipelines the commands issued together on
 * each node's connection, so one series' per-field commands (one slot, one node) travel
 * together without ever needing a cross-slot command.
 */
export interface RedisConnection {
  /** Runs one command on the node that holds `key`, decoding its reply as text unless asked otherwise. */
  send(key: string, args: string[], decoding?: ReplyDecoding): Promise<unknown>;
  /** A MULTI on the node that holds `key`; every command added must touch only `key`'s slot. */
  multi(key: string): Transaction;
  /** Every master (one for a single server), for checks that must ask each node. */
  masters(): Promise<RedisNode[]>;
  /** False while a node is disconnected (node-redis reconnects on its own). */
  readonly isReady: boolean;
  close(): Promise<void>;
  /** Drops the connections at once; never throws. */
  destroy(): void;
  /** The node-redis client underneath. */
  readonly raw: RedisClient;
}

/** Where and how to connect. */
export interface ConnectionOptions {
  /**
   * `redis://[user:password@]host[:port][/db]`, or `rediss://` for TLS: the server, or with
   * `cluster: true` one node of a Redis Cluster. Give `url` or `urls`, not both.
   */
  url?: string;
  /** Some nodes of a Redis Cluster (seeds: the client discovers the rest); implies `cluster`. */
  urls?: readonly string[];
  /** Talk to a Redis Cluster: route every command to the master of its key's slot. */
  cluster?: boolean;
  /** Overrides a password in the URL (e.g. `${REDIS_PASSWORD}` in the config). */
  password?: string;
  /** Gives up opening after this long without a connection (ms). */
  connectTimeoutMs: number;
  /** Called with every connection-level error, already masked. */
  onError?: (message: string) => void;
}

/** Masks credentials in text about a connection: the URLs' passwords and an explicit one. */
export class CredentialMask {
  /** The URL (or a cluster's seed URLs, comma separated) with passwords masked. */
  readonly maskedUrl: string;
  private readonly rawUrls: readonly string[];
  private readonly secrets: string[];

  constructor(urls: string | readonly string[], password?: string) {
    this.rawUrls = typeof urls === 'string' ? [urls] : urls;
    this.maskedUrl = maskUrls(this.rawUrls);
    const secrets = new Set<string>();
    for (const s of [password, ...this.rawUrls.map(urlPassword)]) {
      if (s) for (const form of [s, encodeURIComponent(s), decodeSafely(s)]) if (form) secrets.add(form);
    }
    // Longest first, so a secret containing another is replaced whole.
    this.secrets = [...secrets].sort((a, b) => b.length - a.length);
  }

  /** `text` with the URLs masked and every form of the password replaced by `***`. */
  mask(text: string): string {
    let out = text;
    for (const url of this.rawUrls) out = out.split(url).join(maskUrl(url));
    for (const s of this.secrets) out = out.split(s).join('***');
    return out;
  }
}

/** Several URLs masked, for messages about a cluster: `redis://h1:7000, redis://h2:7001`. */
export function maskUrls(urls: readonly string[]): string {
  return urls.map(maskUrl).join(', ');
}

function urlPassword(url: string): string | undefined {
  try {
    return new URL(url).password || undefined;
  } catch {
    return /^[a-z][a-z0-9+.-]*:\/\/[^:/@]*:([^/]*)@/i.exec(url)?.[1];
  }
}

function decodeSafely(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/** A Redis URL that cannot be right (scheme, syntax, database): bad input, not an outage. */
export class BadRedisUrlError extends StorageError {
  constructor(message: string) {
    super(message);
    this.name = 'BadRedisUrlError';
  }
}

/** A Redis URL's parts. */
interface RedisUrl {
  masked: string;
  host: string;
  port: number;
  tls: boolean;
  username?: string;
  password?: string;
  database?: number;
}

/** Checks and splits a URL; throws a BadRedisUrlError (masked) for a malformed one. */
function parseRedisUrl(raw: string): RedisUrl {
  const masked = maskUrl(raw);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new BadRedisUrlError(`bad Redis url ${masked}: expected redis://[user:password@]host[:port][/db] or rediss://...`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new BadRedisUrlError(`bad Redis url ${masked}: the scheme must be redis:// or rediss:// (TLS)`);
  }
  const db = url.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) throw new BadRedisUrlError(`bad Redis url ${masked}: the path must be a database number`);
  return {
    masked,
    host: url.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: url.port ? Number(url.port) : 6379,
    tls: url.protocol === 'rediss:',
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    database: db === '' ? undefined : Number(db),
  };
}

// Integers as text: node-redis' integer decoder rounds values near 2^53 (2^53 - 1 comes
// back as 2^53), and timestamps go up to 2^53 - 1. Callers convert with Number().
const TYPE_MAPPING = { [RESP_TYPES.NUMBER]: String };
// node-redis' cheapest decoding, for `send(..., 'raw')`: integers as numbers, simple strings
// as Buffers (views of the reply: no string is made).
const RAW_REPLIES = Object.freeze({ typeMapping: Object.freeze({ [RESP_TYPES.SIMPLE_STRING]: Buffer }) });

/**
 * Integer replies decoded as numbers are exact below this. node-redis adds each digit as
 * `n * 10 + byte - 48`, which passes 2^53 (and rounds) only for integers above 2^53 - 49,
 * and those decode to at least 2^53 - 49.
 */
export const EXACT_NUMBER_REPLY_BELOW = 2 ** 53 - 64;

/**
 * How a command's replies are decoded. 'text' (the default): integers as text (exact up to
 * 2^53 - 1), simple strings as strings. 'raw', for large numeric replies such as TS.RANGE:
 * integers as numbers (exact below EXACT_NUMBER_REPLY_BELOW, so callers check) and simple
 * strings as Buffers.
 */
export type ReplyDecoding = 'text' | 'raw';

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * node-redis' reconnect backoff. While opening it gives up after `connectTimeoutMs` with
 * the last error; once open it retries for the life of the client.
 */
function reconnecting(options: ConnectionOptions, mask: CredentialMask) {
  const startedAt = Date.now();
  const state = { opening: true, lastError: '' };
  const strategy = (retries: number, cause: Error): number | Error => {
    state.lastError = mask.mask(cause?.message ?? String(cause));
    if (state.opening && Date.now() - startedAt >= options.connectTimeoutMs) return new Error(state.lastError);
    return Math.min(50 * 2 ** Math.min(retries, 5), 1000);
  };
  return { state, strategy, startedAt };
}

/**
 * Connects to one server or a Redis Cluster (retrying until `connectTimeoutMs`), then keeps
 * reconnecting with backoff for the life of the connection. Every error message is masked.
 * `client` is node-redis' client underneath `connection`.
 */
export async function connect(options: ConnectionOptions): Promise<{ connection: RedisConnection; client: RedisClient; mask: CredentialMask }> {
  if (options.url !== undefined && options.urls !== undefined) {
    throw new BadRedisUrlError('give either url (one server, or one node of a cluster with cluster: true) or urls (nodes of a Redis Cluster), not both');
  }
  const urls = options.urls ?? (options.url !== undefined ? [options.url] : []);
  if (urls.length === 0) throw new BadRedisUrlError('no Redis url: give url, or urls for the nodes of a Redis Cluster');
  const cluster = options.cluster ?? options.urls !== undefined;
  if (!cluster && options.urls !== undefined) {
    throw new BadRedisUrlError('urls lists nodes of a Redis Cluster, but cluster is false: give url for one server');
  }
  const mask = new CredentialMask(urls, options.password);
  const parsed = urls.map(parseRedisUrl);
  const connection = cluster ? await connectCluster(parsed, options, mask) : await connectServer(parsed[0]!, options, mask);
  return { connection, client: connection.raw, mask };
}

async function connectServer(url: RedisUrl, options: ConnectionOptions, mask: CredentialMask): Promise<RedisConnection> {
  const retry = reconnecting(options, mask);
  const socket = { host: url.host, port: url.port, connectTimeout: options.connectTimeoutMs, reconnectStrategy: retry.strategy };
  const client = createClient({
    socket: url.tls ? { ...socket, tls: true } : { ...socket, tls: false },
    username: url.username,
    password: options.password ?? url.password,
    database: url.database,
    // The writer keeps its own bounded buffer while Redis is away; node-redis' unbounded
    // offline queue would hide the outage and reorder retries.
    disableOfflineQueue: true,
    commandOptions: { typeMapping: TYPE_MAPPING },
  });
  // Without a listener node-redis throws connection errors at the process.
  client.on('error', (err: unknown) => options.onError?.(mask.mask(errorText(err))));
  try {
    await client.connect();
  } catch (err) {
    destroyQuietly(client);
    throw new StorageError(`cannot connect to Redis at ${mask.maskedUrl}: ${retry.state.lastError || mask.mask(errorText(err))}`);
  } finally {
    retry.state.opening = false;
  }
  return new ServerConnection(client, mask.maskedUrl);
}

/**
 * The options every node of a cluster shares. node-redis uses one set of credentials and
 * one scheme for every node it discovers, so the seeds must agree on them; a cluster has
 * only database 0.
 */
function clusterDefaults(seeds: RedisUrl[], options: ConnectionOptions, mask: CredentialMask) {
  const first = seeds[0]!;
  const username = seeds.find((s) => s.username)?.username;
  const password = options.password ?? seeds.find((s) => s.password)?.password;
  for (const seed of seeds) {
    if (seed.database) throw new BadRedisUrlError(`bad Redis url ${seed.masked}: a Redis Cluster has only database 0`);
    if (seed.tls !== first.tls) throw new BadRedisUrlError(`bad Redis urls ${mask.maskedUrl}: use redis:// for every cluster node or rediss:// for every one`);
    if ((seed.username && seed.username !== username) || (!options.password && seed.password && seed.password !== password)) {
      throw new BadRedisUrlError(`bad Redis urls ${mask.maskedUrl}: every cluster node is reached with one user and password, but the urls name different ones`);
    }
  }
  return { tls: first.tls, username, password };
}

async function connectCluster(seeds: RedisUrl[], options: ConnectionOptions, mask: CredentialMask): Promise<RedisConnection> {
  const { tls, username, password } = clusterDefaults(seeds, options, mask);
  const retry = reconnecting(options, mask);
  const socket = { connectTimeout: options.connectTimeoutMs, reconnectStrategy: retry.strategy };
  for (let attempt = 0; ; attempt++) {
    // node-redis reads the slot map from a seed without retrying, so opening retries here.
    let lastError = '';
    let refused = false;
    const cluster = createCluster({
      rootNodes: seeds.map((s) => ({ socket: { host: s.host, port: s.port } })),
      defaults: {
        username,
        password,
        socket: tls ? { ...socket, tls: true } : { ...socket, tls: false },
        disableOfflineQueue: true, // see connectServer
      },
      commandOptions: { typeMapping: TYPE_MAPPING },
    });
    const report = (err: unknown, node?: { host: string; port: number }) => {
      lastError = mask.mask(errorText(err));
      // A refusal (wrong password, a server without cluster support) does not pass by retrying.
      if (err instanceof ErrorReply) refused = true;
      options.onError?.(node ? `${node.host}:${node.port}: ${lastError}` : lastError);
    };
    cluster.on('error', (err: unknown) => report(err));
    cluster.on('node-error', (err: unknown, node: { host: string; port: number }) => report(err, node));
    try {
      await cluster.connect();
      retry.state.opening = false;
      return new ClusterConnection(cluster, tls ? 'rediss:' : 'redis:');
    } catch (err) {
      destroyQuietly(cluster);
      if (refused || Date.now() - retry.startedAt >= options.connectTimeoutMs) {
        retry.state.opening = false;
        const reason = lastError || retry.state.lastError || mask.mask(errorText(err));
        const hint = /cluster support disabled/i.test(reason) ? ' (it is a single server: configure url without cluster: true)' : '';
        throw new StorageError(`cannot connect to Redis Cluster at ${mask.maskedUrl}: ${reason}${hint}`);
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(50 * 2 ** attempt, 1000)));
    }
  }
}

/** One server: the key only names the slot, which a single server does not need. */
class ServerConnection implements RedisConnection {
  constructor(
    readonly raw: RedisServerClient,
    private readonly url: string,
  ) {}

  send(_key: string, args: string[], decoding?: ReplyDecoding): Promise<unknown> {
    return this.raw.sendCommand(args, decoding === 'raw' ? RAW_REPLIES : undefined).catch(this.explain);
  }

  multi(_key: string): Transaction {
    const multi = this.raw.multi();
    const transaction: Transaction = {
      add: (args) => {
        multi.addCommand(args);
        return transaction;
      },
      exec: () => multi.exec().catch(this.explain),
    };
    return transaction;
  }

  async masters(): Promise<RedisNode[]> {
    return [{ url: this.url, send: (args) => this.send('', args) }];
  }

  get isReady(): boolean {
    return this.raw.isReady;
  }

  close(): Promise<void> {
    return this.raw.close();
  }

  destroy(): void {
    destroyQuietly(this.raw);
  }

  /**
   * A node of a Redis Cluster answers MOVED for keys of other nodes' slots; retrying would
   * never help, so say what to configure instead.
   */
  private readonly explain = (err: unknown): never => {
    const replies = err instanceof MultiErrorReply ? err.replies : [err];
    const moved = replies.find((r): r is ErrorReply => r instanceof ErrorReply && /^(MOVED|ASK) /.test(r.message));
    if (moved) {
      throw new StorageError(
        `Redis at ${this.url} is a node of a Redis Cluster (it answered ${moved.message.split(' ')[0]}): configure cluster: true, or urls: [...] with its nodes`,
      );
    }
    throw err;
  };
}

/** A Redis Cluster: every command and MULTI goes to the master of its key's slot. */
class ClusterConnection implements RedisConnection {
  constructor(
    readonly raw: RedisClusterClient,
    private readonly scheme: string,
  ) {}

  send(key: string, args: string[], decoding?: ReplyDecoding): Promise<unknown> {
    return this.raw.sendCommand(key, false, args, decoding === 'raw' ? RAW_REPLIES : undefined);
  }

  multi(key: string): Transaction {
    // node-redis sends the whole MULTI to the node of its routing key and does not follow
    // MOVED inside it; isTransient treats MOVED as "retry", and the retry's routed commands
    // refresh the slot map.
    const multi = this.raw.multi(key);
    const transaction: Transaction = {
      add: (args) => {
        multi.addCommand(key, false, args);
        return transaction;
      },
      exec: () => multi.exec(),
    };
    return transaction;
  }

  async masters(): Promise<RedisNode[]> {
    return Promise.all(
      this.raw.masters.map(async (master) => {
        const client = await this.raw.nodeClient(master);
        const host = master.host.includes(':') ? `[${master.host}]` : master.host;
        return { url: `${this.scheme}//${host}:${master.port}`, send: (args: string[]) => client.sendCommand(args) };
      }),
    );
  }

  get isReady(): boolean {
    return this.raw.isOpen && this.raw.masters.every((m) => m.client?.isReady === true);
  }

  close(): Promise<void> {
    return this.raw.close();
  }

  destroy(): void {
    destroyQuietly(this.raw);
  }
}

/** Drops a connection; a client that already closed itself (e.g. after a failed AUTH) throws on destroy. */
export function destroyQuietly(client: { destroy(): void }): void {
  try {
    client.destroy();
  } catch {
    // already closed
  }
}

/** The start-up check's message when the server has no TimeSeries commands. */
export function noTimeSeriesMessage(maskedUrl: string): string {
  return (
    `Redis at ${maskedUrl} has no TimeSeries commands: use Redis 8 or later (TimeSeries built in), ` +
    'Redis Stack, or load the module (redis-server --loadmodule /path/to/redistimeseries.so)'
  );
}

/**
 * Fails unless every master runs TimeSeries commands (a cluster node without them would
 * refuse the series in its slots), naming the node that does not. Probes with TS.INFO on a
 * key that does not exist: "unknown command" means no module; "key does not exist" means it
 * is there. A cluster node that does not hold the probe's slot answers MOVED, which also
 * means the command exists: Redis looks the command up before it routes the key.
 * (MODULE LIST is not used: ACLs often forbid it, and Redis 8 has TimeSeries built in.)
 */
export async function checkTimeSeries(connection: RedisConnection, mask: CredentialMask): Promise<void> {
  for (const node of await connection.masters()) await checkNode(node, mask);
}

async function checkNode(node: RedisNode, mask: CredentialMask): Promise<void> {
  try {
    await node.send(['TS.INFO', 'tsmeta:probe:none']);
  } catch (err) {
    if (err instanceof StorageError) throw err;
    if (!(err instanceof ErrorReply)) {
      throw new StorageError(`cannot reach Redis at ${node.url}: ${mask.mask(errorText(err))}`);
    }
    if (/unknown command/i.test(err.message)) throw new StorageError(noTimeSeriesMessage(node.url));
    if (/^NOPERM/.test(err.message)) {
      throw new StorageError(`Redis at ${node.url} does not let this user run TimeSeries commands: ${mask.mask(err.message)} (grant +@timeseries)`);
    }
    // Any other refusal (the key does not exist, MOVED, wrong type) comes from the module itself.
  }
}

/**
 * Redis refusals that mean "not now" (loading, failover, out of memory, a cluster moving
 * slots), not "never". MOVED/ASK only reach here from a cluster MULTI (see ClusterConnection).
 */
const TRANSIENT_REPLY = /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY|NOREPLICAS|OOM|NOAUTH|MOVED|ASK)\b/;

/**
 * True when a command failed because Redis could not be reached or asked to retry later;
 * the samples then stay buffered. False for a refusal of the command itself.
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof MultiErrorReply) return err.replies.some((r) => r instanceof ErrorReply && TRANSIENT_REPLY.test(r.message));
  // A MULTI whose queued command was refused rejects with that command's own error.
  if (err instanceof ErrorReply) return TRANSIENT_REPLY.test(err.message);
  return !(err instanceof StorageError);
}

/** An error's message, masked. */
export function describeError(err: unknown, mask: CredentialMask): string {
  return mask.mask(err instanceof Error ? err.message : String(err));
}
