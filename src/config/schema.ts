import { z } from 'zod';
import { formatDuration } from '../../common/duration.js';
import { durationMs, positiveDurationMs, timerDurationMs } from '../../common/schema.js';

// 0..65535 without leading zeros, spelled as a pattern so the JSON Schema checks it too.
const PORT = '(?:6553[0-5]|655[0-2]\\d|65[0-4]\\d{2}|6[0-4]\\d{3}|[1-5]\\d{4}|[1-9]\\d{0,3}|0)';
const HOST_PORT = new RegExp(`^(\\[[0-9a-fA-F:]+\\]|[A-Za-z0-9.-]+):${PORT}$`);

const hostPort = z
  .string()
  .regex(HOST_PORT, {
    error: (iss) => {
      const port = /:(\d+)$/.exec(String(iss.input))?.[1];
      return port !== undefined && Number(port) > 65_535
        ? `port ${port} is out of range: expected 0 to 65535 (0 picks a free port)`
        : 'expected host:port, e.g. 127.0.0.1:9464';
    },
  })
  .transform((s) => {
    const i = s.lastIndexOf(':');
    return { host: s.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(s.slice(i + 1)) };
  });

/** A URL of one of `protocols` (`ws`, `wss`): an http:// URL where a WebSocket is expected is a mistake. */
function urlOf(protocols: readonly string[], example: string) {
  const expected = `expected a ${protocols.map((p) => `${p}://`).join(' or ')} URL, e.g. ${example}`;
  return z
    .url({ protocol: new RegExp(`^(${protocols.join('|')})$`), error: expected })
    .regex(new RegExp(`^(${protocols.join('|')})://`, 'i'), expected);
}

const NO_FEEDS = 'no feeds: the config collects nothing; add one, e.g. - { name: btc-usdt, exchange: binance, symbol: BTC-USDT, collect: [trades] }';

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'expected a contract address, 0x and 40 hex digits');

/**
 * Fields every feed has; the feed kind's own parameters are checked after, by the kind. A feed reads
 * an exchange (`exchange`, `symbol`) or a DEX pool (`chain`, `pool`, `protocol`, optional `base` and `alias`).
 */
export const feedCommonSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/, 'expected a name of letters, digits, _ . -').describe('Unique name of the feed'),
    kind: z.string().optional().describe('Pricing kind (trades-vwap, kline-close, book-mid, dex-price, dex-twap); none for a feed that only collects'),
    exchange: z.string().regex(/^[a-z0-9-]{1,40}$/, 'expected a lower-case exchange name, e.g. binance').optional().describe('Exchange of a CEX feed, e.g. binance'),
    symbol: z.string().regex(/^[A-Z0-9]{1,20}-[A-Z0-9]{1,20}$/, 'expected BASE-QUOTE in upper case, e.g. BTC-USDT').optional().describe('BASE-QUOTE of a CEX feed'),
    chain: z.string().regex(/^[a-z0-9-]{1,40}$/, 'expected a lower-case chain name, e.g. ethereum').optional().describe('DEX feeds: one of chains'),
    pool: address.optional().describe("DEX feeds: the pool contract's address"),
    protocol: z.string().regex(/^[a-z0-9-]{1,40}$/, 'expected a protocol, e.g. uniswap-v3').optional().describe('DEX feeds: uniswap-v2 or uniswap-v3'),
    base: z.string().min(1).optional().describe("DEX feeds: symbol or address of the token prices are quoted per; default the pool's token0"),
    alias: z.string().regex(/^[a-z0-9_.-]{1,60}$/, 'expected lower-case letters, digits, _ . -').optional().describe("DEX feeds: the pool's name in its series keys (dex:<chain>:<alias>); default its address"),
    collect: z.array(z.string()).optional().describe('Data to collect besides what the kind needs: trades, klines:1m, candles:1m,5m, liquidity, pool, depth, ...'),
    history: durationMs.optional().describe('How far back to backfill on start, e.g. 1d'),
    staleAfter: positiveDurationMs.optional().describe('Restart a collector of this feed after this long without data, e.g. 60s'),
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
    rpcUrl: urlOf(['http', 'https'], 'https://eth.example/v2/${RPC_KEY}'),
    /** WebSocket JSON-RPC: `eth_subscribe` `newHeads` wakes the collector at each block (polling while it is down). */
    wsUrl: urlOf(['ws', 'wss'], 'wss://eth.example/v2/${RPC_KEY}').optional(),
    /** Blocks after which data is taken as final. */
    confirmations: z.number().int().min(0).default(2),
    /** Most blocks in one eth_getLogs (the provider's limit). */
    maxBlockRange: z.number().int().positive().default(2000),
    pollInterval: positiveDurationMs.prefault('2s'),
    /** Requests per second sent to the endpoint at most. */
    requestsPerSecond: z.number().positive().default(25),
  })
  .strict();

/** The top level of a config file; `storage` is checked further by its kind's own schema. */
export const configSchema = z
  .object({
    storage: z
      .object({ kind: z.string() })
      .loose()
      .default({ kind: 'sqlite' })
      .describe("Where the data goes; the other fields are the kind's (sqlite: path; redis-timeseries: url, ...)"),
    http: z
      .union([
        z.literal(false),
        z
          .object({
            listen: hostPort.describe('host:port of the status server (/health, /status, /metrics); port 0 picks a free one'),
            token: z
              .string()
              .min(1, 'expected a non-empty token (e.g. ${COLLECTOR_TOKEN})')
              .optional()
              .describe('Bearer token every path but /health/live asks for; required off loopback'),
          })
          .strict(),
      ])
      .prefault({ listen: '127.0.0.1:9464' })
      .describe('The status server, or false for none'),
    health: z
      .object({
        grace: durationMs.prefault('30s').describe('A collector backing off or failed for longer than this makes the service degraded'),
        noDataFor: positiveDurationMs.prefault('5m').describe('No collector stored anything for this long (after start): unhealthy'),
        storageFailingFor: durationMs.prefault('60s').describe('Storage refusing writes for this long: unhealthy (any shorter failure: degraded)'),
        maxBacklog: z.number().int().positive().default(25_000).describe('Samples waiting for storage above this: degraded'),
      })
      .strict()
      .prefault({}),
    exchanges: z
      .record(
        z.string(),
        z
          .object({
            wsUrl: urlOf(['ws', 'wss'], 'ws://127.0.0.1:9001').optional(),
            restUrl: urlOf(['http', 'https'], 'http://127.0.0.1:9001').optional(),
          })
          .strict(),
      )
      .default({})
      .describe('Endpoint overrides by exchange name: testnets, proxies, local simulators'),
    chains: z
      .record(z.string().regex(/^[a-z0-9-]{1,40}$/, 'expected a lower-case chain name, e.g. ethereum'), chainSchema)
      .default({})
      .describe('Chains DEX feeds read, by name: JSON-RPC endpoint and block rules'),
    feeds: z
      .array(feedCommonSchema, { error: (iss) => (iss.input == null ? NO_FEEDS : undefined) })
      .min(1, NO_FEEDS)
      .describe('What to price and collect: one entry per exchange and symbol, or per DEX pool'),
    collector: z
      .object({
        restart: z
          .object({
            initialDelay: timerDurationMs.prefault('1s').describe('First delay before restarting a failed collector; doubles per failure'),
            maxDelay: timerDurationMs.prefault('60s').describe('Cap on the restart delay'),
            resetAfter: durationMs.prefault('60s').describe('A run this long counts as clean: the delay starts over'),
            maxRestarts: z.number().int().positive().optional().describe('Give up (failed) after this many restarts; default never'),
          })
          .strict()
          .superRefine((r, ctx) => {
            if (r.maxDelay < r.initialDelay) {
              ctx.addIssue({
                code: 'custom',
                path: ['maxDelay'],
                message: `${formatDuration(r.maxDelay)} is less than initialDelay (${formatDuration(r.initialDelay)}): the delay starts at initialDelay and doubles up to maxDelay`,
              });
            }
          })
          .prefault({}),
        shutdownTimeout: timerDurationMs.prefault('10s').describe('How long a stop waits for collectors to flush'),
      })
      .strict()
      .prefault({}),
    cluster: z
      .object({
        url: z
          .string()
          .regex(/^rediss?:\/\/\S+$/, 'expected redis://host:port or rediss://...')
          .optional()
          .describe('Redis (or a Redis Cluster node) holding the leases and membership; may be the storage server'),
        redisCluster: z.boolean().default(false).describe('url is one node of a Redis Cluster (the leases live in one slot)'),
        node: z
          .string()
          .regex(/^[A-Za-z0-9_.:-]{1,100}$/, 'expected a name of letters, digits, _ . : -')
          .optional()
          .describe("This daemon's name among the members; default <host>-<pid>"),
        leaseTtl: timerDurationMs.prefault('10s').describe('A lease not renewed for this long is free for another daemon; at least 1s'),
        unitSymbols: z.number().int().positive().default(50).describe('At most this many symbols per collector (one unit of work)'),
        shard: z
          .string()
          .regex(/^[1-9]\d*\/[1-9]\d*$/, 'expected <index>/<count>, e.g. 2/3')
          .refine((s) => Number(s.split('/')[0]) <= Number(s.split('/')[1]), 'the index must be at most the count, e.g. 3/3')
          .optional()
          .describe("Static sharding instead of leases: this daemon's shard of n, e.g. 2/3 (1-based)"),
      })
      .strict()
      .refine((c) => c.url !== undefined || c.shard !== undefined, 'expected url (leases in Redis) or shard (static sharding)')
      .refine((c) => c.leaseTtl >= 1_000, 'leaseTtl: expected at least 1s')
      .optional()
      .describe('Several daemons sharing the work: leases in Redis (url) or static sharding (shard)'),
    log: z
      .object({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info') })
      .strict()
      .prefault({}),
    plugins: z.array(z.string()).default([]).describe('Modules (paths relative to this file) that add feed, collector or storage kinds'),
  })
  .strict();

export type RawConfig = z.output<typeof configSchema>;
