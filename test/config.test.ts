import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config/errors.js';
import { loadConfig } from '../src/config/load.js';
import { createContainer } from '../src/container.js';
import { builtInExchanges } from '../collectors/exchanges/index.js';
import { collector, REPO } from './support/cli.js';
import { A_FEED, SCHEMA_FILE, schemaProblems, writeConfig } from './support/config-files.js';

const dir = mkdtempSync(join(tmpdir(), 'qc-config-'));
let n = 0;
/** A config file written as it is: most here are meant to be refused. */
function configFile(yaml: string): string {
  const file = join(dir, `c${n++}.yaml`);
  writeFileSync(file, yaml);
  return file;
}

/** A config file the JSON Schema accepts. */
function validConfigFile(yaml: string): string {
  return writeConfig(join(dir, `c${n++}.yaml`), yaml);
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
    const file = validConfigFile(`
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
    expect(await problems(`storage: { kind: postgres }\n${A_FEED}`)).toEqual([
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
    expect(await problems(`stroage: { kind: sqlite }\n${A_FEED}`)).toEqual(['(root): Unrecognized key: "stroage"']);
    expect((await problems(`feeds: [ { name: a,\n  kind: `))[0]).toMatch(/^YAML syntax: .*line \d+/);
    expect(
      await problems(`feeds:\n  - { name: a, exchange: binance, symbol: BTC-USDT, collect: [trades] }\n  - { name: a, exchange: binance, symbol: ETH-USDT, collect: [trades] }`),
    ).toEqual(['feeds[1].name: duplicate feed name "a"']);
    expect((await problems(`storage: { kind: sqlite, file: x.db }\n${A_FEED}`))[0]).toMatch(/^storage: Unrecognized key: "file"/);
  });

  it('substitutes ${ENV} and ${ENV:-default}, and names a missing variable by path', async () => {
    const file = validConfigFile(`exchanges:\n  binance: { wsUrl: "ws://\${HOST}:\${PORT:-9000}" }\n${A_FEED}`);
    const config = await loadConfig(file, createContainer(), { HOST: '127.0.0.1' });
    expect(config.exchanges.binance!.wsUrl).toBe('ws://127.0.0.1:9000');
    expect(await problems(`storage: { kind: sqlite, path: "\${DATA_DIR}/c.db" }\n${A_FEED}`)).toEqual([
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
    const config = await loadConfig(validConfigFile(`${redis}cluster: { url: "redis://127.0.0.1:6379", leaseTtl: 5s }\n${feed}`), createContainer());
    expect(config.cluster).toEqual({ url: 'redis://127.0.0.1:6379', redisCluster: false, leaseTtl: 5_000, unitSymbols: 50 });
  });

  it('says when the file cannot be read', async () => {
    await expect(loadConfig(join(dir, 'missing.yaml'), createContainer())).rejects.toThrow(/missing\.yaml: cannot read the config file: ENOENT/);
  });
});

// Configs a hostile user tried (issue 15): each is refused naming the field, exit 2 from the CLI.
const KNOWN_EXCHANGES = [...builtInExchanges.names].sort().join(', ');
const HOLES: Array<{ what: string; yaml: string; problem: string }> = [
  { what: 'a port out of range', yaml: `http: { listen: 127.0.0.1:99999 }\n${A_FEED}`, problem: 'http.listen: port 99999 is out of range: expected 0 to 65535 (0 picks a free port)' },
  {
    what: 'an override of an exchange that does not exist',
    yaml: `exchanges:\n  binnance: { wsUrl: "ws://127.0.0.1:9001" }\n${A_FEED}`,
    problem: `exchanges.binnance: unknown exchange "binnance"; known: ${KNOWN_EXCHANGES}`,
  },
  { what: 'an empty file', yaml: '', problem: `feeds: no feeds: the config collects nothing; add one, e.g. - { name: btc-usdt, exchange: binance, symbol: BTC-USDT, collect: [trades] }` },
  { what: 'an empty feeds list', yaml: 'storage: { kind: memory }\nfeeds: []\n', problem: 'feeds: no feeds: the config collects nothing;' },
  { what: 'staleAfter 0s', yaml: 'feeds: [{ name: a, exchange: binance, symbol: BTC-USDT, collect: [trades], staleAfter: 0s }]', problem: 'feeds[0].staleAfter: bad duration "0s": expected more than 0' },
  {
    what: 'a restart maxDelay under its initialDelay',
    yaml: `collector: { restart: { initialDelay: 5s, maxDelay: 500ms } }\n${A_FEED}`,
    problem: 'collector.restart.maxDelay: 500ms is less than initialDelay (5s): the delay starts at initialDelay and doubles up to maxDelay',
  },
  {
    what: 'a YAML alias bomb',
    yaml: `a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n`,
    problem: 'YAML: Excessive alias count indicates a resource exhaustion attack',
  },
];

describe('config holes', () => {
  it.each(HOLES)('refuses $what, naming the field', async ({ yaml, problem }) => {
    const found = await problems(yaml);
    expect(found).toHaveLength(1);
    expect(found[0]!.startsWith(problem)).toBe(true);
  });

  it('the CLI exits 2 on each, naming the file and the field, and runs nothing', { timeout: 60_000 }, async () => {
    for (const { what, yaml, problem } of HOLES) {
      const file = configFile(yaml);
      const out = await collector(['validate', '-c', file]);
      expect(out.code, what).toBe(2);
      expect(out.stderr.startsWith(`collector: ${file}: ${problem}`), `${what}: ${out.stderr}`).toBe(true);
      expect(out.stdout, what).toBe('');
    }
    const empty = await collector(['run', '-c', configFile('')]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/^collector: \S+\.yaml: feeds: no feeds/);
    // Beyond a timer's reach the daemon would stop as soon as it started.
    const long = await collector(['run', '-c', 'config/default.yaml', '--duration', '30d']);
    expect([long.code, long.stderr]).toEqual([2, 'collector: --duration: expected at most 24d, got 30d\n']);
    const anyPort = validConfigFile(`http: { listen: 127.0.0.1:0 }\n${A_FEED}`);
    const status = await collector(['status', '-c', anyPort]);
    expect([status.code, status.stderr]).toEqual([2, `collector: ${anyPort}: http.listen port 0 is a free port picked at start; pass --url (the daemon prints it)\n`]);
  });

  it('refuses other durations, URLs and aliases nothing could run with', async () => {
    const feed = (extra: string) => `feeds: [{ name: a, kind: trades-vwap, exchange: binance, symbol: BTC-USDT, ${extra} }]`;
    const cases: Array<[string, string]> = [
      [feed('staleAfter: -5'), 'feeds[0].staleAfter: bad duration -5: expected more than 0'],
      [feed('history: -1d'), 'feeds[0].history: bad duration "-1d": expected a number and a unit'],
      [feed('window: 0m'), 'feeds[0].window: bad duration "0m": expected more than 0'],
      [feed('staleAfter: 0.1ms'), 'feeds[0].staleAfter: bad duration "0.1ms": expected more than 0'],
      [`collector: { shutdownTimeout: 30d }\n${A_FEED}`, 'collector.shutdownTimeout: bad duration "30d": expected at most 24d'],
      [`collector: { restart: { initialDelay: 0s } }\n${A_FEED}`, 'collector.restart.initialDelay: bad duration "0s": expected more than 0'],
      [`health: { noDataFor: 0 }\n${A_FEED}`, 'health.noDataFor: bad duration 0: expected more than 0'],
      [`exchanges:\n  binance: { wsUrl: "http://127.0.0.1:9001" }\n${A_FEED}`, 'exchanges.binance.wsUrl: expected a ws:// or wss:// URL'],
      [`exchanges:\n  binance: { restUrl: "ws://127.0.0.1:9001" }\n${A_FEED}`, 'exchanges.binance.restUrl: expected a http:// or https:// URL'],
      ['feeds:\n  - *nowhere\n', 'YAML: Unresolved alias'],
      ['feeds:\n', 'feeds: no feeds'],
    ];
    for (const [yaml, problem] of cases) expect((await problems(yaml))[0], yaml).toMatch(new RegExp(`^${problem.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  });

  it('accepts port 0 (a free port), every port up to 65535, and an override of an exchange only a plugin knows', async () => {
    for (const listen of ['127.0.0.1:0', '127.0.0.1:65535', '"[::1]:443"']) {
      const config = await loadConfig(validConfigFile(`http: { listen: ${listen} }\n${A_FEED}`), createContainer());
      expect(config.http && config.http.listen.port).toBe(Number(/(\d+)"?$/.exec(listen)![1]));
    }
    const plugin = JSON.stringify(join(import.meta.dirname, 'support/clock-plugin.js'));
    const file = validConfigFile(
      `plugins: [${plugin}]\nexchanges:\n  local: { wsUrl: "ws://127.0.0.1:1" }\nfeeds:\n  - { name: t, exchange: local, symbol: A-B, collect: [clock] }\n`,
    );
    expect((await loadConfig(file, createContainer())).exchanges).toEqual({ local: { wsUrl: 'ws://127.0.0.1:1' } });
  });
});

describe('the JSON Schema of the config (collector schema)', () => {
  it('is committed as config/schema.json exactly as collector schema prints it', async () => {
    const out = await collector(['schema']);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    // On a difference: npx collector schema > config/schema.json
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(out.stdout);
  });

  it('every example config (and the README reference) names it for editors and validates against it', () => {
    // Each example with the schema's path relative to it; the configs the deploy files run are examples too.
    const examples: Array<[file: string, schema: string]> = [
      ...readdirSync(join(REPO, 'config')).filter((f) => f.endsWith('.yaml')).map((f): [string, string] => [`config/${f}`, './schema.json']),
      ['deploy/config.yaml', '../config/schema.json'],
      ['deploy/compose/collector.yaml', '../../config/schema.json'],
    ];
    expect(examples.length).toBeGreaterThan(3);
    for (const [name, schema] of examples) {
      const text = readFileSync(join(REPO, name), 'utf8');
      expect(text.split('\n')[0], name).toBe(`# yaml-language-server: $schema=${schema}`);
      expect(schemaProblems(text), name).toEqual([]);
    }
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const reference = /## Configuration\n\n```yaml\n([\s\S]*?)```/.exec(readme)![1]!;
    expect(schemaProblems(reference)).toEqual([]);
  });

  it("checks each known kind's own fields, and leaves a plugin's kinds to the plugin", () => {
    expect(schemaProblems(`storage: { kind: sqlite, file: x.db }\n${A_FEED}`)).not.toEqual([]);
    expect(schemaProblems(`storage: { kind: redis-timeseries, url: "redis://h:1", publish: yes }\n${A_FEED}`)).not.toEqual([]);
    expect(schemaProblems('feeds: [{ name: a, kind: trades-vwap, exchange: binance, symbol: BTC-USDT, windw: 1m }]')).not.toEqual([]);
    expect(schemaProblems('feeds: [{ name: a, exchange: binance, symbol: BTC-USDT, collect: [trades], window: 1m }]')).not.toEqual([]);
    expect(schemaProblems('feeds: [{ name: a, kind: book-mid, exchange: binance, symbol: BTC-USDT, maxAge: 10s }]')).toEqual([]);
    expect(schemaProblems('storage: { kind: tagged, tag: blue }\nfeeds: [{ name: a, kind: clock-count, exchange: local, symbol: A-B, windowMs: 5 }]')).toEqual([]);
  });

  it('accepts ${ENV} placeholders wherever the runtime substitutes them', async () => {
    const yaml = `http: { listen: "\${LISTEN}", token: "\${TOKEN}" }
storage: { kind: redis-timeseries, url: "\${REDIS_URL:-redis://127.0.0.1:6379}" }
exchanges:
  binance: { wsUrl: "\${BINANCE_WS}", restUrl: "http://\${HOST}:9001" }
feeds:
  - { name: "\${FEED:-btc}", exchange: binance, symbol: "\${SYMBOL}", collect: [trades], staleAfter: "\${STALE:-30s}" }
log: { level: "\${LEVEL:-info}" }
`;
    const config = await loadConfig(validConfigFile(yaml), createContainer(), {
      LISTEN: '127.0.0.1:0',
      TOKEN: 't',
      BINANCE_WS: 'ws://127.0.0.1:9001',
      HOST: '127.0.0.1',
      SYMBOL: 'ETH-USDT',
    });
    expect(config.feeds[0]).toMatchObject({ name: 'btc', symbol: 'ETH-USDT', staleAfterMs: 30_000 });
    expect(config.exchanges.binance).toEqual({ wsUrl: 'ws://127.0.0.1:9001', restUrl: 'http://127.0.0.1:9001' });
  });

  it('refuses what the runtime refuses where a schema can tell', () => {
    // An exchange's existence and a comparison of two fields are the runtime's; aliases are the YAML parser's.
    for (const hole of HOLES.filter((h) => !/exchange|maxDelay|YAML/.test(h.what))) {
      expect(schemaProblems(hole.yaml), hole.what).not.toEqual([]);
    }
  });
});
