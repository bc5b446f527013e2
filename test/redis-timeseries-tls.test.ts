import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, SKIP_MESSAGE, timeSeriesTarget } from './support/redis-server.js';
import { collector } from './support/cli.js';
import { A_FEED, writeConfig } from './support/config-files.js';

const target = timeSeriesTarget();
const dir = mkdtempSync(join(tmpdir(), 'qc-tls-'));
let server: ChildProcess | undefined;
afterAll(() => {
  server?.kill('SIGKILL');
});

/** Whether this machine can make a certificate and redis-server speaks TLS (Debian's does). */
function tlsAvailable(): string | undefined {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    return 'openssl not found';
  }
  return undefined;
}

const skip = !target?.module ? `${SKIP_MESSAGE} (TLS needs a module file to load into a server of our own)` : tlsAvailable();
if (skip) console.warn(`SKIPPED rediss:// end to end: ${skip}`);

describe.skipIf(skip !== undefined)('redis-timeseries over TLS (rediss://)', () => {
  it('stores through rediss:// and reads back from another process that trusts the server certificate (NODE_EXTRA_CA_CERTS)', async () => {
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const port = await freePort();
    server = spawn('redis-server', ['--port', '0', '--tls-port', String(port), '--tls-cert-file', cert, '--tls-key-file', key, '--tls-ca-cert-file', cert, '--tls-auth-clients', 'no', '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1', '--dir', dir, '--loadmodule', target!.module!], { stdio: 'ignore' });
    const config = join(dir, 'tls.yaml');
    writeConfig(config, `storage: { kind: redis-timeseries, url: "rediss://127.0.0.1:${port}" }\n${A_FEED}`);
    const env = { NODE_EXTRA_CA_CERTS: cert };

    // Up when `keys` answers; until then the server is still starting.
    let keys = await collector(['keys', '-c', config], env);
    for (let i = 0; i < 50 && keys.code !== 0; i++) {
      await sleep(100);
      keys = await collector(['keys', '-c', config], env);
    }
    expect(keys.stderr).toBe('');
    expect(keys.stdout).toMatch(/no series stored yet/);

    const script = `
      const { RedisTimeSeriesStorage } = await import(${JSON.stringify(join(import.meta.dirname, '..', 'dist', 'storage', 'redis-timeseries', 'storage.js'))});
      const s = await RedisTimeSeriesStorage.open({ url: 'rediss://127.0.0.1:${port}' });
      await s.store('tls:probe', { price: 0.1, amount: 2 }, 1000);
      await s.close();`;
    execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ...env } });
    const fetched = await collector(['fetch', 'tls:probe', '0', 'now', '-c', config, '-f', 'json'], env);
    expect(fetched.stderr).toBe('');
    expect(JSON.parse(fetched.stdout)).toEqual([[1000, { price: 0.1, amount: 2 }]]);

    // Without trusting the certificate, TLS refuses the server: said in one line, no stack.
    const untrusted = await collector(['keys', '-c', config]);
    expect(untrusted.code).not.toBe(0);
    expect(untrusted.stderr).toMatch(/^collector: .*(certificate|self.signed)/im);
    expect(untrusted.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});
