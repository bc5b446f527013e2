import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { startBinanceSimulator } from '../collectors/exchanges/binance/simulator/index.js';
import { maskSecrets } from '../common/sanitize.js';
import { collector, daemonTestbed, startCollectorDaemon } from './support/cli.js';
import { freePort, RedisServer, SKIP_MESSAGE, timeSeriesTarget } from './support/redis-server.js';
import { writeConfig as writeSchemaValidConfig } from './support/config-files.js';

const { dir, sims, daemons } = daemonTestbed('qc-secrets-');

/** Every secret a config of these tests holds; none may appear in any output. */
const SECRETS = {
  wsPassword: 'wsPw-9f3k1',
  restPassword: 'restPw-7q2m1',
  apiKey: 'apiKey-5x8z1',
  redisPassword: 'redisPw-4t6w1',
  token: 'httpTok-2b9c-0123456789',
};

function expectNoSecret(what: string, text: string): void {
  for (const [name, secret] of Object.entries(SECRETS)) expect(text, `${name} in ${what}`).not.toContain(secret);
}

function writeConfig(name: string, body: string): string {
  return writeSchemaValidConfig(join(dir, name), body);
}

describe('maskSecrets', () => {
  it('masks URL passwords and lone tokens, secret query parameters and auth headers, and leaves the rest as it is', () => {
    expect(maskSecrets('ws://user:s3cret@127.0.0.1:9/stream?streams=a')).toBe('ws://user:***@127.0.0.1:9/stream?streams=a');
    expect(maskSecrets('GET http://KEY@h/x and https://KEY:@h')).toBe('GET http://***@h/x and https://***@h');
    expect(maskSecrets('redis://u:p@ss@host:1/0')).toBe('redis://u:***@host:1/0');
    expect(maskSecrets('redis://:pw@host:1')).toBe('redis://:***@host:1');
    expect(maskSecrets('http://a:b@h/?apiKey=zz&x=1&token=t1')).toBe('http://a:***@h/?apiKey=***&x=1&token=***');
    expect(maskSecrets('{"authorization":"Bearer xyz","h":"Authorization: Basic abc"}')).toBe('{"authorization":"***","h":"Authorization: ***"}');
    // JSON around a URL without credentials is left alone, even with an @ further on.
    expect(maskSecrets('{"url":"ws://127.0.0.1:9001","user":"me@x"}')).toBe('{"url":"ws://127.0.0.1:9001","user":"me@x"}');
    // RPC providers' keys in the path; addresses and hashes stay.
    expect(maskSecrets('URL: https://eth-mainnet.g.alchemy.com/v2/Abc123def456ghi789jkl012mno')).toBe('URL: https://eth-mainnet.g.alchemy.com/v2/***');
    expect(maskSecrets('"https://mainnet.infura.io/v3/0123456789abcdef0123456789abcdef" and https://x.quiknode.pro/0123456789abcdef0123456789abcdef01234567/')).toBe(
      '"https://mainnet.infura.io/v3/***" and https://x.quiknode.pro/***/',
    );
    expect(maskSecrets('https://etherscan.io/address/0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f5640')).toBe('https://etherscan.io/address/0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f5640');
  });
});

describe('secrets in the config', { timeout: 120_000 }, () => {
  const timeSeries = timeSeriesTarget();
  if (!timeSeries?.module) console.warn(`${SKIP_MESSAGE} (secrets: the daemon run uses SQLite instead of a password-protected Redis TimeSeries)`);

  it('appear in no log line, status answer, metric or CLI output of a running daemon', async () => {
    const sim = await startBinanceSimulator({ symbols: ['BTC-USDT'], tradesPerSecond: 100, pingIntervalMs: 1_000 });
    sims.push(sim);
    const host = new URL(sim.wsUrl).host;
    let storage = '{ kind: sqlite, path: ./secrets.db }';
    if (timeSeries?.module) {
      const redis = await RedisServer.start({ module: timeSeries.module, password: SECRETS.redisPassword });
      storage = `{ kind: redis-timeseries, url: "redis://default:${SECRETS.redisPassword}@127.0.0.1:${redis.port}" }`;
    }
    const config = writeConfig(
      'secrets.yaml',
      `storage: ${storage}
http: { listen: "127.0.0.1:${await freePort()}", token: "${SECRETS.token}" }
exchanges:
  binance: { wsUrl: "ws://wsuser:${SECRETS.wsPassword}@${host}", restUrl: "http://restuser:${SECRETS.restPassword}@${host}/?apiKey=${SECRETS.apiKey}" }
feeds:
  - { name: btc, exchange: binance, symbol: BTC-USDT, collect: [trades, "klines:1m", liquidity] }
collector: { restart: { initialDelay: 100ms, maxDelay: 500ms } }
`,
    );
    const daemon = await startCollectorDaemon(['--config', config], { LOG_LEVEL: 'debug' });
    daemons.push(daemon);
    let stdout = '';
    daemon.child.stdout.on('data', (d: Buffer) => (stdout += d));
    const auth = { authorization: `Bearer ${SECRETS.token}` };
    const answers: string[] = [];
    const get = async (path: string, headers: Record<string, string> = auth) => {
      const text = await (await fetch(`${daemon.statusUrl}${path}`, { headers })).text();
      answers.push(`${path}: ${text}`);
      return text;
    };

    // Trades stored, and the REST calls (whose URL the ?apiKey= breaks) failed with errors naming it.
    type Status = { collectors: Array<{ id: string; itemsStored: number; lastError: string | null; degraded: string | null }> };
    const reportsRest = (s: Status) => s.collectors.some((c) => `${c.lastError} ${c.degraded}`.includes('restuser:***@'));
    let status: Status = { collectors: [] };
    for (let i = 0; i < 300; i++) {
      status = JSON.parse(await get('/status')) as Status;
      const trades = status.collectors.find((c) => c.id === 'trades:binance');
      if (trades && trades.itemsStored > 0 && reportsRest(status)) break;
      await sleep(50);
    }
    expect(status.collectors.find((c) => c.id === 'trades:binance')!.itemsStored).toBeGreaterThan(0);
    expect(reportsRest(status)).toBe(true);
    for (const path of ['/metrics', '/health', '/health/ready']) await get(path);
    await get('/health/live', {});
    await get('/status', {}); // 401
    const cli = await Promise.all([
      collector(['validate', '-c', config]),
      collector(['status', '-c', config]),
      collector(['status', '-c', config, '--json']),
      collector(['status', '--url', daemon.statusUrl], { COLLECTOR_TOKEN: SECRETS.token }),
      collector(['keys', '-c', config]),
      collector(['fetch', 'trades:binance:BTC-USDT', '-1h', 'now', '-c', config]),
    ]);
    expect(cli[1]!.stdout).toMatch(/trades:binance/);

    daemon.child.kill('SIGINT');
    expect(await daemon.exited).toBe(0);
    const log = daemon.stderr();
    // The URLs were logged and reported, masked.
    expect(log).toContain(`"url":"ws://wsuser:***@${host}`);
    expect(log).toContain('restuser:***@');
    expect(log).toContain('apiKey=***');
    expectNoSecret('daemon stderr', log);
    expectNoSecret('daemon stdout', stdout);
    for (const answer of answers) expectNoSecret(answer.slice(0, 20), answer);
    for (const [i, out] of cli.entries()) expectNoSecret(`cli ${i}`, out.stdout + out.stderr);
  });

  it('appear in no error of any command when Redis is unreachable', async () => {
    const port = await freePort(); // nothing listens there
    const url = `redis://default:${SECRETS.redisPassword}@127.0.0.1:${port}`;
    const config = writeConfig(
      'unreachable.yaml',
      `storage: { kind: redis-timeseries, url: "${url}", password: "${SECRETS.redisPassword}", connectTimeoutMs: 300 }
http: { listen: 127.0.0.1:0, token: "${SECRETS.token}" }
feeds:
  - { name: btc, exchange: binance, symbol: BTC-USDT, collect: [trades] }
`,
    );
    const outs = await Promise.all([
      collector(['run', '-c', config], { LOG_LEVEL: 'debug' }),
      collector(['keys', '-c', config]),
      collector(['fetch', 'trades:binance:BTC-USDT', '-1h', 'now', '-c', config]),
      collector(['status', '--redis', url]),
      collector(['status', '--from-storage', '-c', config]),
      collector(['validate', '-c', config]),
    ]);
    for (const [i, out] of outs.entries()) expectNoSecret(`command ${i}`, out.stdout + out.stderr);
    expect(outs[0]!.code).not.toBe(0);
    expect(outs[0]!.stderr).toContain(`redis://default:***@127.0.0.1:${port}`);
    expect(outs[3]!.stderr).toContain(`redis://default:***@127.0.0.1:${port}`);
  });
});
