import type { Server } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { RestartPolicy } from '../src/backoff.js';
import { loadConfig } from '../src/config/load.js';
import { ConfigError } from '../src/config/errors.js';
import { createContainer } from '../src/container.js';
import { DataCollector } from '../src/data-collector.js';
import { DEFAULT_HEALTH_POLICY, type HealthPolicy, type HealthReport } from '../src/health.js';
import { startStatusServer } from '../src/http/status-server.js';
import { MemoryStorage } from '../storage/memory.js';
import { errorOf } from './support/assertions.js';
import { collector } from './support/cli.js';
import { ScriptedCollector } from './support/scripted-collector.js';
import { A_FEED, writeConfig } from './support/config-files.js';

const dir = mkdtempSync(join(tmpdir(), 'qc-status-server-'));
const running: Array<{ dc: DataCollector; server: Server }> = [];
afterEach(async () => {
  for (const { dc, server } of running.splice(0)) {
    await dc.stop(2_000);
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A DataCollector over memory storage, served on a free loopback port. */
async function serve(collectors: ScriptedCollector[], options: { health?: Partial<HealthPolicy>; token?: string; restart?: Partial<RestartPolicy> } = {}) {
  const dc = new DataCollector(collectors, new MemoryStorage(), {
    restart: { initialDelayMs: 10, maxDelayMs: 40, resetAfterMs: 10_000, ...options.restart },
    watchdogIntervalMs: 20,
  });
  const { server, url } = await startStatusServer(dc, '127.0.0.1', 0, { token: options.token, health: { ...DEFAULT_HEALTH_POLICY, ...options.health } });
  running.push({ dc, server });
  dc.start();
  return { dc, url };
}

async function get(url: string, headers: Record<string, string> = {}): Promise<{ code: number; body: HealthReport & Record<string, unknown>; res: Response }> {
  const res = await fetch(url, { headers });
  return { code: res.status, body: (await res.json()) as never, res };
}

/** Polls `url` until `check` holds for its answer (fails after 15 s). */
async function until(url: string, check: (a: Awaited<ReturnType<typeof get>>) => boolean): Promise<Awaited<ReturnType<typeof get>>> {
  let last: Awaited<ReturnType<typeof get>> | undefined;
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; await sleep(20)) {
    last = await get(url);
    if (check(last)) return last;
  }
  throw new Error(`no answer of ${url} matched; last: ${JSON.stringify(last?.body)}`);
}

describe('/health', () => {
  it('is degraded with the reason while a collector fails beyond the grace, ready while others deliver, and ok once it delivers again', async () => {
    const steady = new ScriptedCollector('steady', [{ samples: 1_000_000, everyMs: 5, then: 'run-until-abort' }]);
    // Fails once, waits out a backoff longer than the grace, then delivers.
    const flaky = new ScriptedCollector('flaky', [{ then: { throw: 'exchange said no to wss://u:pw-s3cret@ex.example/ws' } }, { samples: 1_000_000, everyMs: 5, then: 'run-until-abort' }]);
    const { url } = await serve([steady, flaky], { health: { graceMs: 100 }, restart: { initialDelayMs: 1_500, maxDelayMs: 1_500 } });

    const degraded = await until(`${url}/health`, (a) => a.body.status === 'degraded');
    expect(degraded.code).toBe(200);
    expect(degraded.body.reasons).toEqual([expect.stringMatching(/^collector flaky failing for \S+ \(since \S+Z, backing off\): exchange said no to wss:\/\/u:\*\*\*@ex\.example\/ws$/)]);
    expect(degraded.body).toMatchObject({ failed: [], degraded: [], delivering: true });
    expect(JSON.stringify(degraded.body)).not.toContain('pw-s3cret');
    expect((await get(`${url}/health/ready`)).code).toBe(200); // degraded, but steady delivers
    const status = (await get(`${url}/status`)).body as unknown as { collectors: Array<{ id: string; failingSince: string | null }> };
    expect(status.collectors.find((c) => c.id === 'flaky')!.failingSince).toMatch(/Z$/);

    const ok = await until(`${url}/health`, (a) => a.body.status === 'ok');
    expect(ok.body).toMatchObject({ status: 'ok', reasons: [], failed: [], degraded: [] });
    const after = (await get(`${url}/status`)).body as unknown as { collectors: Array<{ id: string; failingSince: string | null }> };
    expect(after.collectors.find((c) => c.id === 'flaky')!.failingSince).toBeNull();
  });

  it('is unhealthy (503) and not ready when no collector stored anything within noDataFor; live all along', async () => {
    const silent = new ScriptedCollector('silent', [{ then: 'heartbeats' }]);
    const { url } = await serve([silent], { health: { noDataForMs: 300 } });
    const unhealthy = await until(`${url}/health`, (a) => a.code === 503);
    expect(unhealthy.body).toMatchObject({ status: 'unhealthy', delivering: false, reasons: ['no collector stored data in the last 300ms'] });
    expect((await get(`${url}/health/ready`)).code).toBe(503);
    expect(await get(`${url}/health/live`)).toMatchObject({ code: 200, body: { status: 'live' } });
  });

  it('is degraded when a collector failed for good, unhealthy when every one has', async () => {
    const quits = new ScriptedCollector('quits', [{ then: { throw: 'not listed' } }]);
    const steady = new ScriptedCollector('steady', [{ samples: 1_000_000, everyMs: 5, then: 'run-until-abort' }]);
    const { url } = await serve([quits, steady], { restart: { maxRestarts: 0 } });
    const degraded = await until(`${url}/health`, (a) => a.body.failed.length > 0);
    expect(degraded).toMatchObject({ code: 200, body: { status: 'degraded', failed: ['quits'], reasons: ['collector quits failed: not listed'] } });

    const alone = await serve([new ScriptedCollector('alone', [{ then: { throw: 'not listed' } }])], { restart: { maxRestarts: 0 } });
    const unhealthy = await until(`${alone.url}/health`, (a) => a.code === 503);
    expect(unhealthy.body.reasons).toContain('every collector has failed');
  });
});

describe('http.token', () => {
  const token = 'tok-0123456789abcdef';

  it('asks every path but /health/live for the bearer token: 401 with WWW-Authenticate and no data without it or with a wrong one', async () => {
    const steady = new ScriptedCollector('steady', [{ samples: 1_000_000, everyMs: 5, then: 'run-until-abort' }]);
    const { url } = await serve([steady], { token });
    for (const path of ['/health', '/health/ready', '/status', '/metrics', '/nope']) {
      for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: `Bearer ${token}x` }, { authorization: `Basic ${token}` }] as Array<Record<string, string>>) {
        const res = await fetch(`${url}${path}`, { headers });
        const text = await res.text();
        expect(res.status, `${path} ${JSON.stringify(headers)}`).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
        expect(text).not.toMatch(/steady|collector_|ok/);
      }
    }
    const auth = { authorization: `Bearer ${token}` };
    expect((await fetch(`${url}/status`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${url}/metrics`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${url}/health`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${url}/health/live`)).status).toBe(200);
  });

  it('collector status sends the token from the config, or $COLLECTOR_TOKEN with --url; without it exits 2 saying so', async () => {
    const steady = new ScriptedCollector('steady', [{ samples: 1_000_000, everyMs: 5, then: 'run-until-abort' }]);
    const { url } = await serve([steady], { token });
    const config = join(dir, 'token.yaml');
    writeConfig(config, `storage: { kind: memory }\nhttp: { listen: "${new URL(url).host}", token: "\${QC_TOKEN}" }\n${A_FEED}`);
    const fromConfig = await collector(['status', '-c', config], { QC_TOKEN: token });
    expect(fromConfig.stderr).toBe('');
    expect(fromConfig.stdout).toMatch(/steady\s+running/);
    const fromEnv = await collector(['status', '--url', url, '--json'], { COLLECTOR_TOKEN: token });
    expect(JSON.parse(fromEnv.stdout)).toMatchObject({ collectors: [{ id: 'steady' }] });
    const without = await collector(['status', '--url', url], { COLLECTOR_TOKEN: '' });
    expect(without.code).toBe(2);
    expect(without.stderr).toMatch(/wants a token: set http\.token in the config or \$COLLECTOR_TOKEN/);
    expect(without.stdout).toBe('');
  });

  it('is required when http.listen is not a loopback address: the config is refused naming http.token (exit 2)', async () => {
    const write = (name: string, http: string) => {
      const file = join(dir, name);
      writeConfig(file, `storage: { kind: memory }\nhttp: ${http}\n${A_FEED}`);
      return file;
    };
    const open = write('open.yaml', '{ listen: 0.0.0.0:9464 }');
    const out = await collector(['validate', '-c', open]);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/open\.yaml: http\.token: required when http\.listen \(0\.0\.0\.0:9464\) is not a loopback address/);
    const run = await collector(['run', '-c', open]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/http\.token: required/);

    for (const listen of ['"[::]:9464"', '192.168.1.10:9464', 'collector.example:9464']) {
      const err = await errorOf(loadConfig(write('off.yaml', `{ listen: ${listen} }`), createContainer()));
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).toMatch(/http\.token: required/);
    }
    for (const listen of ['127.0.0.1:9464', '127.3.2.1:9464', 'localhost:9464', '"[::1]:9464"']) {
      await expect(loadConfig(write('loop.yaml', `{ listen: ${listen} }`), createContainer())).resolves.toBeDefined();
    }
    const guarded = await collector(['validate', '-c', write('guarded.yaml', '{ listen: 0.0.0.0:9464, token: "${QC_TOKEN}" }')], { QC_TOKEN: token });
    expect(guarded.code).toBe(0);
    expect(guarded.stdout).toMatch(/status server: http:\/\/0\.0\.0\.0:9464 \(token required\)/);
    expect(guarded.stdout).not.toContain(token);
    const empty = await collector(['validate', '-c', write('empty.yaml', '{ listen: 0.0.0.0:9464, token: "${QC_TOKEN:-}" }')]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/http\.token: expected a non-empty token/);
  });
});
