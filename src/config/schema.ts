import { z } from 'zod';
import { durationMs } from '../../common/schema.js';

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:9464')
  .transform((s) => {
    const i = s.lastIndexOf(':');
    return { host: s.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(s.slice(i + 1)) };
  });

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'expected a contract address, 0x and 40 hex digits');

/**
 * Fields every feed has; the feed kind's own parameters are checked after, by the kind. A feed reads
 * an exchange (`exchange`, `symbol`) or a DEX pool (`chain`, `pool`, `protocol`, optional `base` and `alias`).
 */
export const feedCommonSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/, 'expected a name of letters, digits, _ . -'),
    kind: z.string().optional(),
    exchange: z.string().regex(/^[a-z0-9-]{1,40}$/, 'expected a lower-case exchange name, e.g. binance').optional(),
    symbol: z.string().regex(/^[A-Z0-9]{1,20}-[A-Z0-9]{1,20}$/, 'expected BASE-QUOTE in upper case, e.g. BTC-USDT').optional(),
    /** DEX feeds: a chain of `chains`, the pool's address and its protocol. */
    chain: z.string().regex(/^[a-z0-9-]{1,40}$/, 'expected a lower-case chain name, e.g. ethereum').optional(),
    pool: address.optional(),
    protocol: z.string().regex(/^[a-z0-9-]{1,40}$/, 'expected a protocol, e.g. uniswap-v3').optional(),
    /** Symbol or address of the token prices are quoted per; default the pool's token0. */
    base: z.string().min(1).optional(),
    /** The pool's name in its series keys (`dex:<chain>:<alias>`); default its address in lower case. */
    alias: z.string().regex(/^[a-z0-9_.-]{1,60}$/, 'expected lower-case letters, digits, _ . -').optional(),
    collect: z.array(z.string()).optional(),
    history: durationMs.optional(),
    staleAfter: durationMs.optional(),
  })
  .loose()
  .superRefine((feed, ctx) => {
    const need = (field: string, why: string) => ctx.addIssue({ code: 'custom', path: [field], message: why });
    if (feed.chain !== undefined || feed.pool !== undefined) {
      if (feed.chain === undefined) need('chain', 'a DEX feed needs chain (one of chains)');
      if (feed.pool === undefined) need('pool', "a DEX feed needs pool (the pool contract's address)");
      if (feed.protocol === undefined) need('protocol', 'a DEX feed needs protocol: uniswap-v2 or uniswap-v3');
      if (feed.exchange !== undefined || feed.symbol !== undefined) need('exchange', 'a DEX feed names chain and pool, not exchange and symbol');
    } else {
      if (feed.exchange === undefined) need('exchange', 'expected an exchange, e.g. binance (or chain and pool for a DEX feed)');
      if (feed.symbol === undefined) need('symbol', 'expected BASE-QUOTE in upper case, e.g. BTC-USDT');
      for (const field of ['protocol', 'base', 'alias'] as const) if (feed[field] !== undefined) need(field, `${field} belongs to DEX feeds (chain, pool)`);
    }
  });

/** One chain DEX feeds read (`chains.<name>`). */
export const chainSchema = z
  .object({
    /** JSON-RPC over HTTP(S); may hold a key (`${ENV}`): it is masked in every output. */
    rpcUrl: z.url(),
    wsUrl: z.url().optional(),
    /** Blocks after which data is taken as final. */
    confirmations: z.number().int().min(0).default(2),
    /** Most blocks in one eth_getLogs (the provider's limit). */
    maxBlockRange: z.number().int().positive().default(2000),
    pollInterval: durationMs.default(2_000),
    /** Requests per second sent to the endpoint at most. */
    requestsPerSecond: z.number().positive().default(25),
  })
  .strict();

/** The top level of a config file; `storage` is checked further by its kind's own schema. */
export const configSchema = z
  .object({
    storage: z.object({ kind: z.string() }).loose().default({ kind: 'sqlite' }),
    http: z
      .union([
        z.literal(false),
        z
          .object({
            listen: hostPort,
            /** Bearer token every path but /health/live asks for; required off loopback (checked in load). */
            token: z.string().min(1, 'expected a non-empty token (e.g. ${COLLECTOR_TOKEN})').optional(),
          })
          .strict(),
      ])
      .prefault({ listen: '127.0.0.1:9464' }),
    health: z
      .object({
        /** A collector backing off or failed for longer than this makes the service `degraded`. */
        grace: durationMs.default(30_000),
        /** No collector stored anything for this long (after start): `unhealthy`. */
        noDataFor: durationMs.default(300_000),
        /** Storage refusing writes for this long: `unhealthy` (any shorter failure: `degraded`). */
        storageFailingFor: durationMs.default(60_000),
        /** Samples waiting for storage above this: `degraded`. */
        maxBacklog: z.number().int().positive().default(25_000),
      })
      .strict()
      .prefault({}),
    exchanges: z
      .record(
        z.string(),
        z.object({ wsUrl: z.url().optional(), restUrl: z.url().optional() }).strict(),
      )
      .default({}),
    chains: z.record(z.string().regex(/^[a-z0-9-]{1,40}$/, 'expected a lower-case chain name, e.g. ethereum'), chainSchema).default({}),
    feeds: z.array(feedCommonSchema).default([]),
    collector: z
      .object({
        restart: z
          .object({
            initialDelay: durationMs.default(1_000),
            maxDelay: durationMs.default(60_000),
            resetAfter: durationMs.default(60_000),
            maxRestarts: z.number().int().positive().optional(),
          })
          .strict()
          .default({ initialDelay: 1_000, maxDelay: 60_000, resetAfter: 60_000 }),
        shutdownTimeout: durationMs.default(10_000),
      })
      .strict()
      .default({ restart: { initialDelay: 1_000, maxDelay: 60_000, resetAfter: 60_000 }, shutdownTimeout: 10_000 }),
    cluster: z
      .object({
        /** Redis (or Redis Cluster node) holding the leases and membership; may be the storage's server. */
        url: z.string().regex(/^rediss?:\/\/\S+$/, 'expected redis://host:port or rediss://...').optional(),
        /** `url` is one node of a Redis Cluster (the leases live in one slot). */
        redisCluster: z.boolean().default(false),
        /** This daemon's name among the members; default <host>-<pid>. */
        node: z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/, 'expected a name of letters, digits, _ . : -').optional(),
        /** A lease not renewed for this long is free for another daemon. */
        leaseTtl: durationMs.default(10_000),
        /** At most this many symbols per collector (one unit of work), so units spread over daemons. */
        unitSymbols: z.number().int().positive().default(50),
        /** Static sharding instead of leases: this daemon's shard of n, e.g. `2/3` (1-based). */
        shard: z
          .string()
          .regex(/^[1-9]\d*\/[1-9]\d*$/, 'expected <index>/<count>, e.g. 2/3')
          .refine((s) => Number(s.split('/')[0]) <= Number(s.split('/')[1]), 'the index must be at most the count, e.g. 3/3')
          .optional(),
      })
      .strict()
      .refine((c) => c.url !== undefined || c.shard !== undefined, 'expected url (leases in Redis) or shard (static sharding)')
      .refine((c) => c.leaseTtl >= 1_000, 'leaseTtl: expected at least 1s')
      .optional(),
    log: z
      .object({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info') })
      .strict()
      .default({ level: 'info' }),
    plugins: z.array(z.string()).default([]),
  })
  .strict();

export type RawConfig = z.output<typeof configSchema>;
