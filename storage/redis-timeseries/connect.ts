/**
 * Connecting to Redis: URL and password handling, credential masking, the start-up check
 * for TimeSeries commands, and telling a Redis refusal from Redis being unreachable.
 */
import { createClient, ErrorReply, MultiErrorReply, RESP_TYPES } from 'redis';
import { StorageError } from '../errors.js';

/** The client this backend uses (plain `sendCommand`/`multi`, RESP2). */
export type RedisClient = ReturnType<typeof createClient>;

/** Where and how to connect. */
export interface ConnectionOptions {
  /** `redis://[user:password@]host[:port][/db]`, or `rediss://` for TLS. */
  url: string;
  /** Overrides a password in the URL (e.g. `${REDIS_PASSWORD}` in the config). */
  password?: string;
  /** Gives up opening after this long without a connection (ms). */
  connectTimeoutMs: number;
  /** Called with every connection-level error, already masked. */
  onError?: (message: string) => void;
}

/** Masks credentials in text about a connection: the URL's password and an explicit one. */
export class CredentialMask {
  readonly maskedUrl: string;
  private readonly rawUrl: string;
  private readonly secrets: string[];

  constructor(url: string, password?: string) {
    this.maskedUrl = maskUrl(url);
    const secrets = new Set<string>();
    for (const s of [password, urlPassword(url)]) {
      if (s) for (const form of [s, encodeURIComponent(s), decodeSafely(s)]) if (form) secrets.add(form);
    }
    // Longest first, so a secret containing another is replaced whole.
    this.secrets = [...secrets].sort((a, b) => b.length - a.length);
    this.rawUrl = url;
  }

  /** `text` with the URL masked and every form of the password replaced by `***`. */
  mask(text: string): string {
    let out = text.split(this.rawUrl).join(this.maskedUrl);
    for (const s of this.secrets) out = out.split(s).join('***');
    return out;
  }
}

/** `redis://user:***@host:port/db`: the password masked, the rest kept for debugging. */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.href.replace(/\/$/, '');
  } catch {
    // Unparsable: mask everything between "//" and the last "@" of the authority.
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/]*@/i, (_, scheme: string) => `${scheme}***@`);
  }
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

/** node-redis options for a URL; throws a StorageError (masked) for a malformed one. */
function clientOptions(options: ConnectionOptions, mask: CredentialMask) {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new StorageError(`bad Redis url ${mask.maskedUrl}: expected redis://[user:password@]host[:port][/db] or rediss://...`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new StorageError(`bad Redis url ${mask.maskedUrl}: the scheme must be redis:// or rediss:// (TLS)`);
  }
  const db = url.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) throw new StorageError(`bad Redis url ${mask.maskedUrl}: the path must be a database number`);
  const password = options.password ?? (url.password ? decodeURIComponent(url.password) : undefined);
  return {
    socket: {
      host: url.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
      port: url.port ? Number(url.port) : 6379,
      tls: url.protocol === 'rediss:',
      connectTimeout: options.connectTimeoutMs,
    },
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password,
    database: db === '' ? undefined : Number(db),
    // The writer keeps its own bounded buffer while Redis is away; node-redis' unbounded
    // offline queue would hide the outage and reorder retries.
    disableOfflineQueue: true,
  };
}

/**
 * Connects (retrying until `connectTimeoutMs`), then keeps reconnecting with backoff for
 * the life of the client. Every error message is masked.
 */
export async function connect(options: ConnectionOptions): Promise<{ client: RedisClient; mask: CredentialMask }> {
  const mask = new CredentialMask(options.url, options.password);
  const base = clientOptions(options, mask);
  const startedAt = Date.now();
  let opening = true;
  let lastError = '';
  const reconnectStrategy = (retries: number, cause: Error): number | Error => {
    lastError = mask.mask(cause?.message ?? String(cause));
    if (opening && Date.now() - startedAt >= options.connectTimeoutMs) return new Error(lastError);
    return Math.min(50 * 2 ** Math.min(retries, 5), 1000);
  };
  const { tls, ...tcp } = base.socket;
  const client = createClient({
    ...base,
    socket: tls ? { ...tcp, tls: true, reconnectStrategy } : { ...tcp, tls: false, reconnectStrategy },
    // Integers as text: node-redis' integer decoder rounds values near 2^53 (2^53 - 1 comes
    // back as 2^53), and timestamps go up to 2^53 - 1. Callers convert with Number().
    commandOptions: { typeMapping: { [RESP_TYPES.NUMBER]: String } },
  });
  // Without a listener node-redis throws connection errors at the process.
  client.on('error', (err: unknown) => options.onError?.(mask.mask(err instanceof Error ? err.message : String(err))));
  try {
    await client.connect();
  } catch (err) {
    destroyQuietly(client);
    const reason = lastError || mask.mask(err instanceof Error ? err.message : String(err));
    throw new StorageError(`cannot connect to Redis at ${mask.maskedUrl}: ${reason}`);
  } finally {
    opening = false;
  }
  return { client, mask };
}

/** Drops the connection; a client that already closed itself (e.g. after a failed AUTH) throws on destroy. */
export function destroyQuietly(client: RedisClient): void {
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
 * Fails unless the server runs TimeSeries commands. Probes with TS.INFO on a key that does
 * not exist: "unknown command" means no module; "key does not exist" means it is there.
 * (MODULE LIST is not used: ACLs often forbid it, and Redis 8 has TimeSeries built in.)
 */
export async function checkTimeSeries(client: RedisClient, mask: CredentialMask): Promise<void> {
  try {
    await client.sendCommand(['TS.INFO', 'tsmeta:probe:none']);
  } catch (err) {
    if (!(err instanceof ErrorReply)) {
      throw new StorageError(`cannot reach Redis at ${mask.maskedUrl}: ${mask.mask(err instanceof Error ? err.message : String(err))}`);
    }
    if (/unknown command/i.test(err.message)) throw new StorageError(noTimeSeriesMessage(mask.maskedUrl));
    if (/^NOPERM/.test(err.message)) {
      throw new StorageError(`Redis at ${mask.maskedUrl} does not let this user run TimeSeries commands: ${mask.mask(err.message)} (grant +@timeseries)`);
    }
    // Any other refusal (the key does not exist, wrong type) comes from the module itself.
  }
}

/** Redis refusals that mean "not now" (loading, failover, out of memory), not "never". */
const TRANSIENT_REPLY = /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY|NOREPLICAS|OOM|NOAUTH)\b/;

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
