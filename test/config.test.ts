import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config/errors.js';
import { loadConfig } from '../src/config/load.js';
import { createContainer } from '../src/container.js';

const dir = mkdtempSync(join(tmpdir(), 'qc-config-'));
let n = 0;
function configFile(yaml: string): string {
  const file = join(dir, `c${n++}.yaml`);
  writeFileSync(file, yaml);
  return file;
}

async function problems(yaml: string, env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  const file = configFile(yaml);
  try {
    await loadConfig(file, createContainer(), env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message.split('\n').every((l) => l.startsWith(`${file}: `))).toBe(true);
    return (err as ConfigError).problems;
  }
  throw new Error('config was accepted');
}

describe('config', () => {
  it('loads the issue example: defaults, durations in ms, storage path relative to the file', async () => {
    const file = configFile(`
storage: { kind: sqlite, path: ./data/collector.db }
http: { listen: 127.0.0.1:9464 }
exchanges:
  binance: { wsUrl: "ws://127.0.0.1:1234", restUrl: "http://127.0.0.1:1234" }
feeds:
  - { name: btc-usdt-vwap, kind: trades-vwap, exchange: binance, symbol: BTC-USDT, window: 1m }
  - { name: btc-usdt, exchange: binance, symbol: BTC-USDT, collect: [trades], history: 30d, staleAfter: 60s }
`);
    const config = await loadConfig(file, createContainer());
    expect(config.http).toEqual({ listen: { host: '127.0.0.1', port: 9464 } });
    expect(config.feeds[0]).toMatchObject({ name: 'btc-usdt-vwap', kind: 'trades-vwap', window: 60_000 });
    expect(config.feeds[1]).toMatchObject({ historyMs: 30 * 86_400_000, staleAfterMs: 60_000, collect: ['trades'] });
    expect(config.collector.restart).toEqual({ initialDelay: 1_000, maxDelay: 60_000, resetAfter: 60_000 });
    expect(config.storage).toMatchObject({ kind: 'sqlite', path: './data/collector.db' });
  });

  it('names the path of each bad field and what was expected', async () => {
    const p = await problems(`
http: { listen: "nowhere" }
feeds:
  - { name: a, kind: trades-vwap, exchange: binance, symbol: btcusdt, window: 1 minute }
  - { name: b, exchange: binance, symbol: BTC-USDT }
  - { name: c, kind: trades-vwap, exchange: binance, symbol: BTC-USDT, windw: 1m }
  - { name: c, exchange: binance, symbol: BTC-USDT, collect: [trades], staleAfter: soon }
`);
    expect(p).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^http\.listen: expected host:port/),
        expect.stringMatching(/^feeds\[0\]\.symbol: expected BASE-QUOTE/),
        expect.stringMatching(/^feeds\[3\]\.staleAfter: bad duration "soon"/),
      ]),
    );
    expect(await problems(`feeds: [{ name: b, exchange: binance, symbol: BTC-USDT }]`)).toEqual([
      'feeds[0]: a feed needs a pricing kind (kind: trades-vwap, ...) or a collect list, or both',
    ]);
    expect((await problems(`feeds: [{ name: c, kind: trades-vwap, exchange: binance, symbol: BTC-USDT, windw: 1m }]`))[0]).toMatch(
      /^feeds\[0\]: Unrecognized key: "windw"/,
    );
    expect((await problems(`feeds: [{ name: a, kind: trades-vwap, exchange: binance, symbol: BTC-USDT, window: 1 minute }]`))[0]).toMatch(
      /^feeds\[0\]\.window: bad duration "1 minute"/,
    );
  });

  it('rejects unknown feed, collector and storage kinds, listing the known ones', async () => {
    expect(await problems(`storage: { kind: postgres }`)).toEqual([
      'storage.kind: unknown storage kind "postgres"; known: sqlite, memory, redis-timeseries',
    ]);
    const p = await problems(`
feeds:
  - { name: a, kind: twap, exchange: binance, symbol: BTC-USDT }
  - { name: b, exchange: binance, symbol: BTC-USDT, collect: [trades, "orderbook:full"] }
`);
    expect(p[0]).toMatch(/^feeds\[0\]\.kind: unknown feed kind "twap"; known: trades-vwap, kline-close, book-mid, dex-price, dex-twap, collect/);
    expect(p[1]).toMatch(/^feeds\[1\]: collect "orderbook:full": unknown collector kind "orderbook"; known: trades/);
  });

  it('rejects unknown top-level keys, bad YAML with its line, duplicate feed names, unknown storage fields', async () => {
    expect(await problems(`stroage: { kind: sqlite }`)).toEqual(['(root): Unrecognized key: "stroage"']);
    expect((await problems(`feeds: [ { name: a,\n  kind: `))[0]).toMatch(/^YAML syntax: .*line \d+/);
    expect(
      await problems(`feeds:\n  - { name: a, exchange: binance, symbol: BTC-USDT, collect: [trades] }\n  - { name: a, exchange: binance, symbol: ETH-USDT, collect: [trades] }`),
    ).toEqual(['feeds[1].name: duplicate feed name "a"']);
    expect((await problems(`storage: { kind: sqlite, file: x.db }`))[0]).toMatch(/^storage: Unrecognized key: "file"/);
  });

  it('substitutes ${ENV} and ${ENV:-default}, and names a missing variable by path', async () => {
    const file = configFile(`exchanges:\n  binance: { wsUrl: "ws://\${HOST}:\${PORT:-9000}" }\n`);
    const config = await loadConfig(file, createContainer(), { HOST: '127.0.0.1' });
    expect(config.exchanges.binance!.wsUrl).toBe('ws://127.0.0.1:9000');
    expect(await problems(`storage: { kind: sqlite, path: "\${DATA_DIR}/c.db" }`)).toEqual([
      'storage.path: environment variable DATA_DIR is not set',
    ]);
  });

  it('cluster: refuses a storage other machines cannot reach, and a block with neither leases nor a shard', async () => {
    const feed = 'feeds:\n  - { name: a, exchange: binance, symbol: BTC-USDT, collect: [trades] }\n';
    expect(await problems(`storage: { kind: sqlite, path: ./x.db }\ncluster: { url: "redis://127.0.0.1:6379" }\n${feed}`)).toEqual([
      expect.stringMatching(/^cluster: needs a storage every daemon can reach, but storage\.kind sqlite keeps its data .*use storage\.kind redis-timeseries/),
    ]);
    expect(await problems(`storage: { kind: memory }\ncluster: { shard: 1/2 }\n${feed}`)).toEqual([expect.stringMatching(/^cluster: needs a storage every daemon can reach/)]);
    const redis = 'storage: { kind: redis-timeseries, url: "redis://127.0.0.1:6379" }\n';
    expect(await problems(`${redis}cluster: { node: a }\n${feed}`)).toEqual([expect.stringMatching(/^cluster: expected url \(leases in Redis\) or shard/)]);
    expect(await problems(`${redis}cluster: { shard: 4/3 }\n${feed}`)).toEqual([expect.stringMatching(/^cluster\.shard: the index must be at most the count/)]);
    expect(await problems(`${redis}cluster: { url: "redis://x:1", leaseTtl: 100ms }\n${feed}`)).toEqual([expect.stringMatching(/leaseTtl: expected at least 1s/)]);
    const config = await loadConfig(configFile(`${redis}cluster: { url: "redis://127.0.0.1:6379", leaseTtl: 5s }\n${feed}`), createContainer());
    expect(config.cluster).toEqual({ url: 'redis://127.0.0.1:6379', redisCluster: false, leaseTtl: 5_000, unitSymbols: 50 });
  });

  it('says when the file cannot be read', async () => {
    await expect(loadConfig(join(dir, 'missing.yaml'), createContainer())).rejects.toThrow(/missing\.yaml: cannot read the config file: ENOENT/);
  });
});
