import { describe, expect, it, vi } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { freePort } from '../bench/support/redis-server.js';
import { MemoryStorage } from '../storage/memory.js';
import { capturingLogger } from './support/assertions.js';
import { dexConfig, expectedSamples, randomTrading, startPoolCollector, untilBlock, untilHead, chainForThisFile } from './support/dex-chain.js';

const chain = chainForThisFile();

const KEYS = ['dex:anvil:weth-usdc-v2', 'dex:anvil:weth-usdc-v3'] as const;

/** anvil serves WebSocket JSON-RPC on its HTTP port. */
const anvilWsUrl = () => chain.rpcUrl.replace(/^http/, 'ws');

/** A WebSocket proxy to anvil on `port` that a test can take down (every socket cut) and bring back. */
function socketProxy(port: number) {
  let server: WebSocketServer | undefined;
  return {
    async start() {
      server = new WebSocketServer({ host: '127.0.0.1', port });
      server.on('connection', (client) => {
        const upstream = new WebSocket(anvilWsUrl());
        const queued: string[] = [];
        upstream.on('open', () => queued.splice(0).forEach((m) => upstream.send(m)));
        upstream.on('message', (m: WebSocket.RawData) => client.send(m.toString()));
        client.on('message', (m: WebSocket.RawData) => (upstream.readyState === WebSocket.OPEN ? upstream.send(m.toString()) : queued.push(m.toString())));
        client.on('close', () => upstream.terminate());
        upstream.on('close', () => client.terminate());
        upstream.on('error', () => client.terminate());
      });
      await new Promise((resolve) => server!.once('listening', resolve));
    },
    async kill() {
      for (const client of server!.clients) client.terminate();
      await new Promise((resolve) => server!.close(resolve));
    },
  };
}

async function expectCanonical(storage: MemoryStorage, start: bigint): Promise<void> {
  const head = await chain.public.getBlockNumber();
  for (const [key, pool] of [
    [KEYS[0], chain.v2],
    [KEYS[1], chain.v3],
  ] as const) {
    expect(await storage.fetch(key, 0, Number.MAX_SAFE_INTEGER)).toEqual(await expectedSamples(chain, pool, start, head));
  }
}

describe('pool collector: new heads over WebSocket (wsUrl)', () => {
  it('with wsUrl, new blocks are stored as they come, without waiting for the poll interval (1h)', async () => {
    const config = await dexConfig(chain, '', '', { pollInterval: '1h', wsUrl: anvilWsUrl() });
    const storage = new MemoryStorage();
    const { collector, stop } = startPoolCollector(config, storage);
    try {
      const start = await untilBlock(storage, 'pool:anvil', KEYS[1], 0n);
      for (let round = 0; round < 3; round++) {
        await randomTrading(chain, 10, 90 + round);
        await untilHead(chain, storage, 'pool:anvil', KEYS[1]); // an hour before a poll would see them
      }
      expect(collector.heads?.subscriptions).toBe(1);
      expect(collector.progress.connections).toBe(1); // the socket, in the status's conns column
      await expectCanonical(storage, start);
    } finally {
      await stop();
    }
    expect(collector.progress.connections).toBe(0);
  }, 120_000);

  it('a socket refused, or cut, leaves the collector polling; it reconnects when the socket is back; credentials in wsUrl are masked', async () => {
    const port = await freePort();
    const proxy = socketProxy(port);
    const config = await dexConfig(chain, '', '', { pollInterval: '100ms', wsUrl: `ws://user:s3cret@127.0.0.1:${port}` });
    const storage = new MemoryStorage();
    const { logger, lines } = capturingLogger();
    const { collector, stop } = startPoolCollector(config, storage, logger);
    try {
      const start = await untilBlock(storage, 'pool:anvil', KEYS[1], 0n);
      // Refused: blocks arrive by polling.
      await randomTrading(chain, 10, 95);
      await untilHead(chain, storage, 'pool:anvil', KEYS[1]);
      expect(collector.heads?.subscribed).toBe(false);
      // The socket comes up: the collector subscribes (its retries back off, up to a few seconds here).
      await proxy.start();
      await vi.waitFor(() => expect(collector.heads?.subscriptions).toBe(1), { timeout: 40_000, interval: 100 });
      await randomTrading(chain, 5, 96);
      await untilHead(chain, storage, 'pool:anvil', KEYS[1]);
      // Cut: polling again, and a new subscription once the socket is back.
      await proxy.kill();
      await vi.waitFor(() => expect(collector.heads?.subscribed).toBe(false), { timeout: 10_000, interval: 50 });
      await randomTrading(chain, 10, 97);
      await untilHead(chain, storage, 'pool:anvil', KEYS[1]);
      await proxy.start();
      await vi.waitFor(() => expect(collector.heads?.subscriptions).toBe(2), { timeout: 40_000, interval: 100 });
      await randomTrading(chain, 5, 98);
      await untilHead(chain, storage, 'pool:anvil', KEYS[1]);
      await expectCanonical(storage, start);
    } finally {
      await stop();
      await proxy.kill().catch(() => undefined);
    }
    const logged = lines.map((l) => JSON.stringify(l)).join('\n');
    expect(logged).toContain('new heads socket closed');
    expect(logged).toContain(`ws://user:***@127.0.0.1:${port}`);
    expect(logged).not.toContain('s3cret');
  }, 120_000);
});
