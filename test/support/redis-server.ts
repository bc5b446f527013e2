/**
 * Test pieces around the throwaway `redis-server` processes of bench/support/redis-server.ts
 * (re-exported here, so tests and benchmarks share one harness): the skip message, a plain
 * client helper, cleanup of the collector's keys, and a TCP proxy that can lose a reply.
 */
import { createServer, connect as connectTcp, type Server, type Socket } from 'node:net';
import { createClient } from 'redis';
import { LAYOUT_PATTERNS } from '../../storage/redis-timeseries/layout.js';

export {
  AUTO_DETECTED_MODULE,
  disposeRedisServers,
  freePort,
  RedisServer,
  timeSeriesTarget,
  type RedisServerOptions,
  type TimeSeriesTarget,
} from '../../bench/support/redis-server.js';

export const SKIP_MESSAGE =
  'SKIPPED redis-timeseries tests: set REDIS_TIMESERIES_URL or REDIS_TIMESERIES_MODULE=/path/to/redistimeseries.so';

/** Runs `fn` with a plain node-redis client on `url`, closed afterwards. */
export async function withRedis<T>(url: string, fn: (client: ReturnType<typeof createClient>) => Promise<T>): Promise<T> {
  const client = createClient({ url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    client.destroy();
  }
}

/** Deletes every key of the collector's layout (ts:{...}, tsmeta:..., tsack:{...}), leaving other keys alone. */
export async function deleteCollectorKeys(url: string): Promise<void> {
  await withRedis(url, async (client) => {
    for (const pattern of LAYOUT_PATTERNS) {
      let cursor = '0';
      do {
        const [next, keys] = (await client.sendCommand(['SCAN', cursor, 'MATCH', pattern, 'COUNT', '1000'])) as [string, string[]];
        cursor = String(next);
        if (keys.length) await client.sendCommand(['UNLINK', ...keys]);
      } while (cursor !== '0');
    }
  });
}

/**
 * A TCP proxy in front of a Redis port that can lose a reply: after `loseNextReply()`, the
 * next request is forwarded (Redis executes it) but its reply is swallowed and the
 * connection cut, as when a network drops between a write and its acknowledgement.
 */
export class ReplyLosingProxy {
  private readonly sockets = new Set<Socket>();
  private losing = false;
  /** How many connections were cut. */
  cuts = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** Listens on a free loopback port and forwards to `targetPort`. */
  static async start(targetPort: number): Promise<ReplyLosingProxy> {
    const proxies: ReplyLosingProxy[] = []; // filled before the first connection arrives
    const server = createServer((client) => proxies[0]!.forward(client, targetPort));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxies.push(new ReplyLosingProxy(server, (server.address() as { port: number }).port));
    return proxies[0]!;
  }

  /** Arms the proxy: the next request's reply is lost and its connection cut. */
  loseNextReply(): void {
    this.losing = true;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private forward(client: Socket, targetPort: number): void {
    const upstream = connectTcp(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => undefined);
    }
    let swallowing = false;
    client.on('data', (d: Buffer) => {
      upstream.write(d);
      if (this.losing && !swallowing) {
        this.losing = false;
        swallowing = true;
        // Give Redis time to execute the request before the connection goes.
        setTimeout(() => {
          this.cuts += 1;
          client.destroy();
          upstream.destroy();
        }, 100);
      }
    });
    upstream.on('data', (d: Buffer) => {
      if (!swallowing) client.write(d);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }
}
