/**
 * The files under deploy/ checked against the code, so they cannot drift from it. Each is run as
 * its platform would run it, as far as this machine can: the image's ENTRYPOINT/CMD, ENV,
 * HEALTHCHECK and STOPSIGNAL, the systemd unit's ExecStart and KillSignal, the Kubernetes
 * containers' command, env and probes, each against a daemon collecting from a simulator (the
 * file's machine paths mapped onto a temp folder, its port moved to a free one). Images cannot be
 * built here (no registry), so the Dockerfile's build steps are held to the commands CI runs.
 * Every metric the alert rules and the dashboard use must be in that daemon's live /metrics.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { startBinanceSimulator } from '../collectors/exchanges/binance/simulator/index.js';
import { configSchema } from '../src/config/schema.js';
import type { SeriesSchema } from '../storage/catalog.js';
import { keyLabels } from '../storage/redis-timeseries/layout.js';
import { daemonTestbed, REPO, runProcess, startDaemonProcess, type RunningDaemon } from './support/cli.js';
import {
  dockerEnv,
  execForm,
  instructionArgs,
  mapPaths,
  movePort,
  parseDockerfile,
  parseExposition,
  parseUnit,
  promqlParts,
  runnableConfig,
  unitEnv,
  unitValue,
} from './support/deploy-files.js';
import { freePort, RedisServer, SKIP_MESSAGE, timeSeriesTarget, withRedis } from './support/redis-server.js';
import { writeConfig } from './support/config-files.js';

const DEPLOY = join(REPO, 'deploy');
const read = (path: string): string => readFileSync(join(REPO, path), 'utf8');
const bed = daemonTestbed('qc-deploy-');

const defaults = configSchema.parse({ feeds: [{ name: 'x', exchange: 'binance', symbol: 'BTC-USDT', collect: ['trades'] }] }).http;
if (!defaults) throw new Error('the config schema has no default http.listen');
/** The daemon's default status port: every deploy file must use it. */
const PORT = defaults.listen.port;
const TOKEN = 'deploy-test-token-5f0c';
const auth = { authorization: `Bearer ${TOKEN}` };
/** Labels Prometheus adds to every series of a target. */
const TARGET_LABELS = ['job', 'instance'];
/** What a bad config exits with (src/cli/errors.ts): the unit must not restart on it. */
const CONFIG_ERROR_EXIT = 2;

let simulators: Record<string, { wsUrl: string; restUrl: string }> = {};
/** `node` in a deploy file's command is this Node. */
const withThisNode = (argv: string[]): [string, string[]] => [argv[0] === 'node' ? process.execPath : argv[0]!, argv.slice(1)];

/** Polls the daemon's /status until every collector has stored something. */
async function untilEveryCollectorStored(statusUrl: string): Promise<{ collectors: Array<{ id: string; itemsStored: number }> }> {
  let last: unknown;
  for (let i = 0; i < 300; i++) {
    const status = (await (await fetch(`${statusUrl}/status`, { headers: auth })).json()) as { collectors: Array<{ id: string; itemsStored: number }> };
    last = status;
    if (status.collectors.length > 0 && status.collectors.every((c) => c.itemsStored > 0)) return status;
    await sleep(100);
  }
  throw new Error(`not every collector stored data: ${JSON.stringify(last)}`);
}

/** A folder of the test standing for one of a deploy file's machine paths. */
function folder(name: string): string {
  const path = join(bed.dir, name);
  mkdirSync(path, { recursive: true });
  return path;
}

// ---------------------------------------------------------------------------------------------
// The image: deploy/Dockerfile
// ---------------------------------------------------------------------------------------------

const stages = parseDockerfile(read('deploy/Dockerfile'));
const buildStage = stages[0]!;
const runtime = stages.at(-1)!;
const imageEnv = dockerEnv(runtime);
const imageWorkdir = instructionArgs(runtime, 'WORKDIR').at(-1)!;
const imageCommand = [...execForm(instructionArgs(runtime, 'ENTRYPOINT').at(-1)!), ...execForm(instructionArgs(runtime, 'CMD').at(-1)!)];
const imageVolumes = instructionArgs(runtime, 'VOLUME').flatMap((v) => execForm(v));

/** The image's paths as the test lays them out: /app is this checkout, the volumes temp folders. */
function imagePaths(root: string): Array<[string, string]> {
  return [[imageWorkdir, REPO], ...imageVolumes.map((v): [string, string] => [v, join(root, v.replace(/\//g, '_'))])];
}

/**
 * The daemon the image runs, started from its ENTRYPOINT + CMD and ENV with the image's config;
 * the rules, the dashboard, the probes and compose's scrape are checked against it.
 */
let image: { daemon: RunningDaemon; paths: Array<[string, string]>; port: number; metrics: string };

beforeAll(async () => {
  const sim = await startBinanceSimulator({ symbols: ['BTC-USDT', 'ETH-USDT'], tradesPerSecond: 20 });
  bed.sims.push(sim);
  simulators = { binance: { wsUrl: sim.wsUrl, restUrl: sim.restUrl } };

  const root = folder('image');
  const paths = imagePaths(root);
  for (const [, to] of paths) mkdirSync(to, { recursive: true });
  const port = await freePort();
  const [source, target] = instructionArgs(runtime, 'COPY').find((a) => !a.startsWith('--from'))!.split(' ');
  writeConfig(mapPaths(target!, paths), runnableConfig(read(source!), { defaultPort: PORT, port, simulators }));
  const env = Object.fromEntries(Object.entries(imageEnv).map(([k, v]) => [k, mapPaths(v, paths)]));
  const [command, args] = withThisNode(imageCommand);
  const daemon = await startDaemonProcess(command, args, { cwd: mapPaths(imageWorkdir, paths), env: { ...env, COLLECTOR_TOKEN: TOKEN } });
  bed.daemons.push(daemon);
  await untilEveryCollectorStored(daemon.statusUrl);
  const metrics = await (await fetch(`${daemon.statusUrl}/metrics`, { headers: auth })).text();
  image = { daemon, paths, port, metrics };
}, 60_000);

describe('the image (deploy/Dockerfile)', () => {
  it('builds with the commands CI runs: `npm ci` (whose prepare script builds dist/), then drops the dev dependencies', () => {
    const ciInstall = /^npm ci\b.*$/m.exec(read('.ci/run'))![0];
    const runs = instructionArgs(buildStage, 'RUN');
    expect(runs[0]).toBe(ciInstall);
    expect(runs.slice(1)).toEqual([expect.stringMatching(/^npm prune --omit=dev\b/)]);
    // It installs from the lock file, never from this machine's node_modules or dist.
    const ignored = read('deploy/Dockerfile.dockerignore').split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist']));
    expect(instructionArgs(buildStage, 'COPY')).toEqual(['. .']);
    // What the README promises and the image relies on: `npm ci` builds.
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string>; engines: { node: string } };
    expect(pkg.scripts.prepare).toBe('npm run build');
    expect(read('README.md')).toContain('`npm ci` also builds the TypeScript (the `prepare` script)');
    // Both stages run a Node the package supports.
    const minNode = Number(/>=\s*(\d+)/.exec(pkg.engines.node)![1]);
    for (const stage of stages) expect(Number(/^node:(\d+)/.exec(stage.from)?.[1]), stage.from).toBeGreaterThanOrEqual(minNode);
  });

  it('copies the built package into the runtime stage, and the daemon needs nothing of it but the production dependencies', () => {
    const copied = instructionArgs(runtime, 'COPY')
      .filter((a) => a.startsWith(`--from=${buildStage.name}`))
      .map((a) => a.split(' ')[1]!.replace(/^\/app\//, ''));
    expect(copied.sort()).toEqual(['bin', 'config', 'dist', 'node_modules', 'package.json']);
    // Every package the daemon imports (from bin/collector.js through dist/) is a dependency, not a dev one.
    const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string> };
    const missing = [...bareImportsFrom(join(REPO, 'bin', 'collector.js'))].filter((name) => !builtinModules.includes(name) && !(name in pkg.dependencies));
    expect(missing).toEqual([]);
  });

  it('runs as a user that is not root, with the config and the data on volumes and the default port exposed', () => {
    expect(instructionArgs(runtime, 'USER').at(-1)).not.toMatch(/^(root|0)(:|$)/);
    expect(imageVolumes).toContain(dirname(imageEnv.COLLECTOR_CONFIG!));
    // The config it starts with is deploy/config.yaml, copied where COLLECTOR_CONFIG points.
    expect(instructionArgs(runtime, 'COPY').filter((a) => !a.startsWith('--from'))).toEqual([`deploy/config.yaml ${imageEnv.COLLECTOR_CONFIG}`]);
    expect(imageVolumes).toContain(imageEnv.COLLECTOR_DATA_DIR);
    expect(instructionArgs(runtime, 'EXPOSE')).toEqual([String(PORT)]);
    // The command is `collector run` as `npm start` runs it, with the config from COLLECTOR_CONFIG.
    const start = (JSON.parse(read('package.json')) as { scripts: { start: string } }).scripts.start;
    expect(start.startsWith(imageCommand.join(' '))).toBe(true);
  });

  it('stores what it collects under its data volume', () => {
    const data = mapPaths(imageEnv.COLLECTOR_DATA_DIR!, image.paths);
    expect(readdirSync(data)).toContain('collector.db');
  });

  it('its HEALTHCHECK passes against the running daemon, on the liveness path, without the token', async () => {
    const healthcheck = instructionArgs(runtime, 'HEALTHCHECK').at(-1)!;
    const argv = execForm(/\bCMD (.*)$/.exec(healthcheck)![1]!);
    expect(argv.join(' ')).toContain(`127.0.0.1:${PORT}/health/live`);
    const [command, args] = withThisNode(argv.map((a) => movePort(a, PORT, image.port)));
    expect(await runProcess(command, args)).toMatchObject({ code: 0 });
  });
});

/** Bare module names imported by a file and the local files it imports, transitively. */
function bareImportsFrom(entry: string): Set<string> {
  const bare = new Set<string>();
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|(?:^|\n)\s*import\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const spec = match[1] ?? match[2] ?? match[3];
      if (spec === undefined) continue;
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec));
      else if (!spec.startsWith('node:')) bare.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  };
  visit(entry);
  return bare;
}

// ---------------------------------------------------------------------------------------------
// systemd: deploy/systemd/quoting-collector.service
// ---------------------------------------------------------------------------------------------

const UNIT_FILE = 'deploy/systemd/quoting-collector.service';
const unitText = read(UNIT_FILE);
const unit = parseUnit(unitText);
const INSTALL_DIR = unitValue(unit, 'Service', 'WorkingDirectory');
const NODE_BIN = unitValue(unit, 'Service', 'ExecStart').split(' ')[0]!;

describe('the systemd unit (deploy/systemd/quoting-collector.service)', () => {
  const hasAnalyze = existsSync('/usr/bin/systemd-analyze') || existsSync('/bin/systemd-analyze');
  if (!hasAnalyze) console.warn('SKIPPED systemd-analyze verify of deploy/systemd/quoting-collector.service: systemd-analyze not found (apt-get install systemd)');

  it('is a simple service, restarted always but not on a bad config, with the hardening asked for', () => {
    const service = (key: string) => unitValue(unit, 'Service', key);
    expect(service('Type')).toBe('simple');
    expect(service('Restart')).toBe('always');
    expect(service('RestartPreventExitStatus')).toBe(String(CONFIG_ERROR_EXIT));
    expect(service('NoNewPrivileges')).toBe('yes');
    expect(service('ProtectSystem')).toBe('strict');
    expect(service('PrivateTmp')).toBe('yes');
    // The only writable path is where the config puts the data.
    expect(service('ReadWritePaths')).toBe(unitEnv(unit).COLLECTOR_DATA_DIR);
    // systemd waits longer than the daemon's own shutdown before it kills.
    const shutdown = (parseYaml(read('deploy/config.yaml')) as { collector: { shutdownTimeout: string } }).collector.shutdownTimeout;
    expect(Number.parseInt(service('TimeoutStopSec'))).toBeGreaterThan(Number.parseInt(shutdown));
  });

  it.skipIf(!hasAnalyze)('passes `systemd-analyze verify` (its binary and install folder pointed at this Node and checkout)', async () => {
    // verify insists that ExecStart's binary exists: a copy names this machine's Node and checkout.
    const copy = join(folder('systemd-verify'), basename(UNIT_FILE));
    writeFileSync(copy, mapPaths(unitText, [[NODE_BIN, process.execPath], [INSTALL_DIR, REPO]]));
    const result = await runProcess('systemd-analyze', ['verify', '--man=no', copy]);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  describe('its ExecStart, with the config as deploy/config.yaml', () => {
    const root = folder('systemd');
    const configPath = /--config (\S+)/.exec(unitValue(unit, 'Service', 'ExecStart'))![1]!;
    const paths: Array<[string, string]> = [
      [NODE_BIN, process.execPath],
      [INSTALL_DIR, REPO],
      [dirname(configPath), join(root, 'etc')],
      [unitValue(unit, 'Service', 'ReadWritePaths'), join(root, 'state')],
    ];
    const start = async (env: NodeJS.ProcessEnv) => {
      const [command, ...args] = mapPaths(unitValue(unit, 'Service', 'ExecStart'), paths).split(' ');
      const unitEnvironment = Object.fromEntries(Object.entries(unitEnv(unit)).map(([k, v]) => [k, mapPaths(v, paths)]));
      return { command: command!, args, options: { cwd: mapPaths(INSTALL_DIR, paths), env: { ...unitEnvironment, ...env } } };
    };

    beforeAll(async () => {
      for (const [, to] of paths.slice(2)) mkdirSync(to, { recursive: true });
      writeConfig(mapPaths(configPath, paths), runnableConfig(read('deploy/config.yaml'), { defaultPort: PORT, port: await freePort(), simulators }));
    });

    it('exits with the config error code when the token is missing from its EnvironmentFile', async () => {
      const { command, args, options } = await start({ COLLECTOR_TOKEN: undefined });
      const result = await runProcess(command, args, options);
      expect(result.stderr).toContain('COLLECTOR_TOKEN');
      expect(result.code).toBe(CONFIG_ERROR_EXIT);
    });

    it('runs the daemon writing only to ReadWritePaths, and KillSignal stops it cleanly (exit 0)', async () => {
      const { command, args, options } = await start({ COLLECTOR_TOKEN: TOKEN });
      const daemon = await startDaemonProcess(command, args, options);
      bed.daemons.push(daemon);
      await untilEveryCollectorStored(daemon.statusUrl);
      expect(readdirSync(join(root, 'state'))).toContain('collector.db');
      daemon.child.kill(unitValue(unit, 'Service', 'KillSignal') as NodeJS.Signals);
      expect(await daemon.exited).toBe(0);
    }, 60_000);
  });
});

// ---------------------------------------------------------------------------------------------
// Kubernetes: deploy/kubernetes/ (Deployment) and deploy/kubernetes/sharded/ (StatefulSet)
// ---------------------------------------------------------------------------------------------

interface K8sContainer {
  command?: string[];
  args?: string[];
  env: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string; optional?: boolean } } }>;
  ports: Array<{ name: string; containerPort: number }>;
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { exec: { command: string[] } };
  resources: { requests: { cpu: string; memory: string }; limits: { memory: string } };
  volumeMounts: Array<{ name: string; mountPath: string }>;
}
interface K8sWorkload {
  kind: string;
  metadata: { name: string };
  spec: {
    replicas: number;
    template: { spec: { containers: K8sContainer[]; volumes: Array<{ name: string; configMap?: { name: string } }>; securityContext: { runAsNonRoot: boolean } } };
  };
}
type K8sObject = { kind: string; metadata: { name: string }; data?: Record<string, string>; spec?: { ports?: Array<{ port: number; targetPort: string }> } };

/** The files a kustomization lists beside it. */
const kustomized = (dir: string) => (parseYaml(read(join(dir, 'kustomization.yaml'))) as { resources: string[] }).resources;

/** The manifests a kustomization lists, parsed (a YAML error throws, naming the file). */
function kustomization(dir: string): K8sObject[] {
  return kustomized(dir).flatMap((file) =>
    parseAllDocuments(read(join(dir, file))).map((doc) => {
      if (doc.errors.length) throw new Error(`${dir}/${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
      return doc.toJS() as K8sObject;
    }),
  );
}

const deploymentObjects = kustomization('deploy/kubernetes');
const shardedObjects = kustomization('deploy/kubernetes/sharded');
const workload = (objects: K8sObject[], kind: string) => objects.find((o) => o.kind === kind) as unknown as K8sWorkload;
const deployment = workload(deploymentObjects, 'Deployment');
const statefulSet = workload(shardedObjects, 'StatefulSet');

/** A pod's config file: the ConfigMap key mounted where the container's COLLECTOR_CONFIG points. */
function podConfig(objects: K8sObject[], w: K8sWorkload): { path: string; text: string } {
  const container = w.spec.template.spec.containers[0]!;
  const path = container.env.find((e) => e.name === 'COLLECTOR_CONFIG')!.value!;
  const mount = container.volumeMounts.find((m) => m.mountPath === dirname(path))!;
  expect(mount, `a volume is mounted at ${dirname(path)}`).toBeDefined();
  const configMap = w.spec.template.spec.volumes.find((v) => v.name === mount.name)!.configMap!.name;
  const text = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === configMap)?.data?.[basename(path)];
  expect(text, `ConfigMap ${configMap} has ${basename(path)}`).toBeDefined();
  return { path, text: text! };
}

/** A container's environment with its Secret references filled from `secrets` (optional ones left out when absent). */
function podEnv(container: K8sContainer, secrets: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of container.env) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.secretKeyRef) {
      const value = secrets[e.valueFrom.secretKeyRef.key];
      if (value !== undefined) env[e.name] = value;
      else expect(e.valueFrom.secretKeyRef.optional, `secret key ${e.valueFrom.secretKeyRef.key}`).toBe(true);
    }
  }
  return env;
}

/** How a pod starts: the container's command (or the image's ENTRYPOINT) with its args (or the image's CMD). */
function podCommand(container: K8sContainer): string[] {
  const entrypoint = execForm(instructionArgs(runtime, 'ENTRYPOINT').at(-1)!);
  return [...(container.command ?? entrypoint), ...(container.args ?? execForm(instructionArgs(runtime, 'CMD').at(-1)!))];
}

/** Runs a pod's container here: its command, env (token and `secrets`), its config (made runnable) where COLLECTOR_CONFIG points. */
async function startPod(objects: K8sObject[], w: K8sWorkload, ordinal: number, secrets: Record<string, string>): Promise<{ daemon: RunningDaemon; port: number }> {
  const container = w.spec.template.spec.containers[0]!;
  const root = folder(`pod-${w.metadata.name}-${ordinal}`);
  const { path, text } = podConfig(objects, w);
  const port = await freePort();
  const paths: Array<[string, string]> = [[dirname(path), root], [imageWorkdir, REPO]];
  writeConfig(mapPaths(path, paths), runnableConfig(text, { defaultPort: PORT, port, simulators }));
  const env = Object.fromEntries(Object.entries(podEnv(container, { token: TOKEN, ...secrets })).map(([k, v]) => [k, mapPaths(v, paths)]));
  const [command, args] = withThisNode(podCommand(container));
  const daemon = await startDaemonProcess(command, args, { cwd: REPO, env: { ...env, HOSTNAME: `${w.metadata.name}-${ordinal}` } });
  bed.daemons.push(daemon);
  return { daemon, port };
}

/** Runs a container's readiness probe command against a daemon on `port`. */
async function readinessProbe(container: K8sContainer, port: number, env: NodeJS.ProcessEnv) {
  const [command, args] = withThisNode(container.readinessProbe.exec.command.map((a) => movePort(a, PORT, port)));
  return runProcess(command, args, { env });
}

describe.each([
  { name: 'Deployment', dir: 'deploy/kubernetes', objects: deploymentObjects, w: deployment },
  { name: 'StatefulSet', dir: 'deploy/kubernetes/sharded', objects: shardedObjects, w: statefulSet },
])('the Kubernetes $name', ({ dir, objects, w }) => {
  const container = w.spec.template.spec.containers[0]!;

  it('is applied with every manifest beside it (kubectl apply -k)', () => {
    const present = readdirSync(join(REPO, dir)).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect(kustomized(dir).sort()).toEqual(present.sort());
  });

  it('serves the daemon port, named for its Service and probes', () => {
    expect(container.ports).toEqual([{ name: 'http', containerPort: PORT }]);
    const services = objects.filter((o) => o.kind === 'Service');
    expect(services.length).toBeGreaterThan(0);
    for (const s of services) expect(s.spec!.ports).toEqual([expect.objectContaining({ port: PORT, targetPort: 'http' })]);
    expect(container.livenessProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
    expect(w.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
  });

  it('takes the token from a Secret and its config from a ConfigMap that validates', async () => {
    expect(container.env.find((e) => e.name === 'COLLECTOR_TOKEN')?.valueFrom?.secretKeyRef).toMatchObject({ name: 'quoting-collector', key: 'token' });
    const { text } = podConfig(objects, w);
    const file = join(folder(`validate-${w.metadata.name}`), 'config.yaml');
    writeConfig(file, text);
    const env = { ...podEnv(container, { token: TOKEN, 'redis-url': 'redis://redis:6379' }), HOSTNAME: `${w.metadata.name}-0`, COLLECTOR_SHARD: '1/1', COLLECTOR_CONFIG: file };
    const result = await runProcess(process.execPath, [join(REPO, 'bin', 'collector.js'), 'validate'], { env });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('probes the daemon on its real paths: liveness without the token, readiness (exec, with the token) ready', async () => {
    for (const path of [container.livenessProbe.httpGet.path]) {
      expect((await fetch(`http://127.0.0.1:${image.port}${path}`)).status).toBe(200);
    }
    expect(container.readinessProbe.exec.command.join(' ')).toContain(`127.0.0.1:${PORT}/health/ready`);
    expect(await readinessProbe(container, image.port, { COLLECTOR_TOKEN: TOKEN })).toMatchObject({ code: 0 });
    // It is the token that lets it in: without it the same probe fails.
    expect(await readinessProbe(container, image.port, { COLLECTOR_TOKEN: 'wrong' })).toMatchObject({ code: 1 });
  });

  it('requests at least the memory the daemon reached in this test, and limits above it', () => {
    const peakKiB = Number(/VmHWM:\s*(\d+) kB/.exec(readFileSync(`/proc/${image.daemon.child.pid}/status`, 'utf8'))![1]);
    const mebibytes = (q: string) => Number(/^(\d+)Mi$/.exec(q)![1]) * 1024;
    expect(mebibytes(container.resources.requests.memory)).toBeGreaterThan(peakKiB);
    expect(mebibytes(container.resources.limits.memory)).toBeGreaterThan(mebibytes(container.resources.requests.memory));
    expect(container.resources.requests.cpu).toMatch(/^\d+m$/);
  });
});

describe('the StatefulSet shards', () => {
  const container = statefulSet.spec.template.spec.containers[0]!;

  it('counts as many shards as replicas, and pod k runs shard k+1 (1-based)', async () => {
    expect(container.env.find((e) => e.name === 'COLLECTOR_SHARDS')?.value).toBe(String(statefulSet.spec.replicas));
    const { text } = podConfig(shardedObjects, statefulSet);
    const file = join(folder('shards'), 'config.yaml');
    writeConfig(file, text);
    const env = { ...podEnv(container, { token: TOKEN, 'redis-url': 'redis://redis:6379' }), COLLECTOR_CONFIG: file };
    // The container's own command, with `validate` for args: it prints the shard the pod would run.
    const [command, ...args] = container.command!;
    for (let ordinal = 0; ordinal < statefulSet.spec.replicas; ordinal++) {
      const result = await runProcess(command!, [...args, 'validate'], { env: { ...env, HOSTNAME: `${statefulSet.metadata.name}-${ordinal}` } });
      expect(result.stderr).toBe('');
      expect(result.stdout).toContain(`cluster: static shard ${ordinal + 1}/${statefulSet.spec.replicas},`);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Prometheus rules, the Grafana dashboard, and docker-compose.yml
// ---------------------------------------------------------------------------------------------

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: { summary: string };
}
const rules = (parseYaml(read('deploy/prometheus/alerts.yml')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);

interface Target {
  datasource: { type: string; uid: string };
  expr?: string;
  command?: string;
  filter?: string;
  legend?: string;
  aggregation?: string;
  bucket?: number;
}
interface Panel {
  title: string;
  type: string;
  datasource?: { type: string; uid: string };
  targets?: Target[];
}
const dashboard = JSON.parse(read('deploy/grafana/dashboard.json')) as {
  uid: string;
  panels: Panel[];
  templating: { list: Array<{ datasource: { type: string; uid: string }; query: { query: string } }> };
};
const targets = dashboard.panels.flatMap((p) => p.targets ?? []);
const promExprs = [
  ...targets.filter((t) => t.datasource.type === 'prometheus').map((t) => t.expr!),
  // label_values(<selector>, <label>): the selector is the expression.
  ...dashboard.templating.list.map((v) => /^label_values\((.*),\s*\w+\)$/.exec(v.query.query)![1]!),
];
const redisTargets = targets.filter((t) => t.datasource.type === 'redis-datasource');

const compose = parseYaml(read('deploy/docker-compose.yml')) as {
  services: Record<string, { build?: { context: string; dockerfile: string }; image?: string; environment?: Record<string, string>; volumes?: string[]; ports?: string[]; secrets?: string[]; command?: string[]; depends_on?: unknown }>;
  secrets: Record<string, { environment?: string }>;
};
const prometheusConfig = parseYaml(read('deploy/prometheus/prometheus.yml')) as {
  rule_files: string[];
  scrape_configs: Array<{ job_name: string; metrics_path: string; authorization: { type: string; credentials_file: string }; static_configs: Array<{ targets: string[] }> }>;
};
const JOB = prometheusConfig.scrape_configs[0]!.job_name;

describe('alert rules (deploy/prometheus/alerts.yml) and the dashboard (deploy/grafana/dashboard.json)', () => {
  it('cover what an operator must hear about', () => {
    for (const rule of rules) {
      expect(rule, rule.alert).toMatchObject({ alert: expect.any(String), expr: expect.any(String), labels: { severity: expect.stringMatching(/^(critical|warning|info)$/) } });
      expect(rule.annotations.summary, rule.alert).toBeTruthy();
    }
    const used = new Set(rules.flatMap((r) => promqlParts(r.expr).selectors.map((s) => s.metric)));
    for (const metric of ['up', 'collector_up', 'collector_last_data_age_seconds', 'collector_degraded', 'collector_restarts_total', 'collector_gaps_total', 'collector_dropped_total', 'storage_failing', 'storage_buffered_samples', 'process_start_time_seconds']) {
      expect(used, metric).toContain(metric);
    }
    expect(rules.some((r) => r.expr.includes('collector_dropped_total{reason="unparsed"}'))).toBe(true);
  });

  it('use only metrics, labels and label values the running daemon exports', () => {
    const live = parseExposition(image.metrics);
    const problems: string[] = [];
    for (const expr of [...rules.map((r) => r.expr), ...promExprs]) {
      const { selectors, groupingLabels } = promqlParts(expr);
      expect(selectors.length, expr).toBeGreaterThan(0);
      const labelsOf = (metric: string) => new Set([...TARGET_LABELS, ...(live.get(metric) ?? []).flatMap((s) => Object.keys(s))]);
      for (const { metric, matchers } of selectors) {
        // `up` is Prometheus' own series for each target: only as the compose job's.
        if (metric === 'up') {
          if (!matchers.some((m) => m.label === 'job' && m.op === '=' && m.value === JOB)) problems.push(`${expr}: up without job="${JOB}"`);
          continue;
        }
        if (!live.has(metric)) {
          problems.push(`${expr}: ${metric} is not in /metrics`);
          continue;
        }
        for (const m of matchers) {
          if (!labelsOf(metric).has(m.label)) problems.push(`${expr}: ${metric} has no label ${m.label}`);
          if (m.label === 'job') {
            if (m.value !== JOB) problems.push(`${expr}: job="${m.value}", but Prometheus scrapes the daemon as ${JOB}`);
            continue;
          }
          if (m.value.includes('$') || TARGET_LABELS.includes(m.label)) continue;
          const values = new Set((live.get(metric) ?? []).map((s) => s[m.label]));
          const wanted = m.op === '=' ? [m.value] : m.op === '=~' && /^[\w|:-]+$/.test(m.value) ? m.value.split('|') : [];
          for (const v of wanted) if (!values.has(v)) problems.push(`${expr}: no ${metric}{${m.label}="${v}"} in /metrics`);
        }
      }
      const labels = new Set(selectors.flatMap((s) => [...labelsOf(s.metric)]));
      for (const l of groupingLabels) if (!labels.has(l)) problems.push(`${expr}: groups by ${l}, which none of its metrics has`);
    }
    expect(problems).toEqual([]);
  });

  it("chart Redis TimeSeries series by labels the storage sets (TS.MRANGE filters match this daemon's series)", async () => {
    expect(redisTargets.length).toBeGreaterThan(0);
    const keys = JSON.parse((await runProcess(process.execPath, [join(REPO, 'bin', 'collector.js'), 'keys', '-f', 'json'], { env: { COLLECTOR_TOKEN: TOKEN, COLLECTOR_CONFIG: mapPaths(imageEnv.COLLECTOR_CONFIG!, image.paths), COLLECTOR_DATA_DIR: mapPaths(imageEnv.COLLECTOR_DATA_DIR!, image.paths) } })).stdout) as SeriesSchema[];
    // The labels redis-timeseries puts on each field's key, from the series this daemon declared.
    const keyLabelSets = keys.flatMap((s) => Object.keys(s.fields).map((field) => Object.fromEntries(keyLabels(s, field))));
    for (const t of redisTargets) {
      expect(t.command).toBe('ts.mrange');
      const filter = t.filter!.split(' ').map((f) => /^(\w+)=(\S+)$/.exec(f)!.slice(1) as [string, string]);
      const matching = keyLabelSets.filter((labels) => filter.every(([k, v]) => labels[k] === v));
      expect(matching.length, t.filter).toBeGreaterThan(0);
      expect(matching[0], `legend label ${t.legend}`).toHaveProperty(t.legend!);
    }
  });
});

describe('docker-compose.yml', () => {
  const service = (name: string) => {
    const s = compose.services[name];
    if (!s) throw new Error(`docker-compose.yml has no service ${name}`);
    return s;
  };
  /** `./x:/y[:ro]` bind mounts of a service: compose-relative source (resolved) → target. */
  const binds = (name: string) =>
    (service(name).volumes ?? []).filter((v) => v.startsWith('.')).map((v) => {
      const [source, target] = v.split(':');
      return { source: resolve(DEPLOY, source!), target: target! };
    });

  it('builds the collector from deploy/Dockerfile with the repository as context, and every file it mounts exists', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['collector', 'grafana', 'prometheus', 'redis']);
    const build = service('collector').build!;
    expect(resolve(DEPLOY, build.context)).toBe(REPO);
    expect(resolve(DEPLOY, build.context, build.dockerfile)).toBe(join(DEPLOY, 'Dockerfile'));
    for (const name of Object.keys(compose.services)) for (const { source } of binds(name)) expect(existsSync(source), source).toBe(true);
    expect(service('collector').ports).toEqual([`127.0.0.1:${PORT}:${PORT}`]);
    expect(service('redis').image).toMatch(/^redis\/redis-stack-server:/);
  });

  it("mounts a config over the image's that validates, writing to the Redis Stack service", async () => {
    const mount = binds('collector').find((b) => b.target === imageEnv.COLLECTOR_CONFIG)!;
    expect(mount, `a config mounted at ${imageEnv.COLLECTOR_CONFIG}`).toBeDefined();
    const result = await runProcess(process.execPath, [join(REPO, 'bin', 'collector.js'), 'validate', '-c', mount.source], { env: { COLLECTOR_TOKEN: TOKEN } });
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('storage: redis-timeseries (url=redis://redis:6379');
    expect(result.stdout).toContain(`status server: http://0.0.0.0:${PORT} (token required)`);
    expect(service('collector').environment).toHaveProperty('COLLECTOR_TOKEN');
  });

  it('has Prometheus scrape /metrics with the token and load the alert rules', async () => {
    const scrape = prometheusConfig.scrape_configs[0]!;
    expect(scrape.static_configs[0]!.targets).toEqual([`collector:${PORT}`]);
    expect((await fetch(`http://127.0.0.1:${image.port}${scrape.metrics_path}`, { headers: auth })).status).toBe(200);
    // The token reaches Prometheus as the compose secret, from the variable the collector reads.
    const [secret] = service('prometheus').secrets!;
    expect(compose.secrets[secret!]).toEqual({ environment: 'COLLECTOR_TOKEN' });
    expect(scrape.authorization).toEqual({ type: 'Bearer', credentials_file: `/run/secrets/${secret}` });
    const mounted = Object.fromEntries(binds('prometheus').map((b) => [b.target, b.source]));
    expect(mounted['/etc/prometheus/prometheus.yml']).toBe(join(DEPLOY, 'prometheus', 'prometheus.yml'));
    expect(service('prometheus').command).toContain('--config.file=/etc/prometheus/prometheus.yml');
    expect(prometheusConfig.rule_files.map((f) => mounted[f])).toEqual([join(DEPLOY, 'prometheus', 'alerts.yml')]);
  });

  it("has Grafana provisioned with the dashboard and the data sources it names (Prometheus, the Redis datasource plugin)", () => {
    const mounted = Object.fromEntries(binds('grafana').map((b) => [b.target, b.source]));
    const provisioning = mounted['/etc/grafana/provisioning']!;
    expect(provisioning).toBe(join(DEPLOY, 'grafana', 'provisioning'));
    const datasources = (parseYaml(readFileSync(join(provisioning, 'datasources', 'datasources.yml'), 'utf8')) as { datasources: Array<{ uid: string; type: string; url: string }> }).datasources;
    const used = [...dashboard.panels.flatMap((p) => [p.datasource, ...(p.targets ?? []).map((t) => t.datasource)]), ...dashboard.templating.list.map((v) => v.datasource)].filter((d) => d !== undefined);
    for (const d of used) expect(datasources, JSON.stringify(d)).toContainEqual(expect.objectContaining({ uid: d.uid, type: d.type }));
    expect(datasources.find((d) => d.type === 'prometheus')!.url).toBe('http://prometheus:9090');
    expect(datasources.find((d) => d.type === 'redis-datasource')!.url).toBe('redis://redis:6379');
    expect(service('grafana').environment!.GF_INSTALL_PLUGINS).toContain('redis-datasource');
    const provider = (parseYaml(readFileSync(join(provisioning, 'dashboards', 'dashboards.yml'), 'utf8')) as { providers: Array<{ options: { path: string } }> }).providers[0]!;
    expect(mounted[`${provider.options.path}/dashboard.json`]).toBe(join(DEPLOY, 'grafana', 'dashboard.json'));
  });
});

// ---------------------------------------------------------------------------------------------
// With Redis TimeSeries: the Kubernetes pods for real, and the dashboard's TS.MRANGE queries
// ---------------------------------------------------------------------------------------------

const timeSeries = timeSeriesTarget();
if (!timeSeries) console.warn(`${SKIP_MESSAGE} (the Kubernetes pods on Redis TimeSeries, the dashboard's TS.MRANGE panels)`);

describe.skipIf(!timeSeries)('the Kubernetes pods on Redis TimeSeries', () => {
  let redisUrl = '';
  beforeAll(async () => {
    redisUrl = timeSeries!.url ?? (await RedisServer.start({ module: timeSeries!.module })).url;
  });

  it("a Deployment pod gets ready, and the dashboard's TS.MRANGE queries (as the Redis datasource sends them) chart its series", async () => {
    const { daemon, port } = await startPod(deploymentObjects, deployment, 0, { 'redis-url': redisUrl });
    await untilEveryCollectorStored(daemon.statusUrl);
    expect(await readinessProbe(deployment.spec.template.spec.containers[0]!, port, { COLLECTOR_TOKEN: TOKEN })).toMatchObject({ code: 0 });
    await withRedis(redisUrl, async (client) => {
      for (const t of redisTargets) {
        const reply = (await client.sendCommand([
          'TS.MRANGE', String(Date.now() - 3_600_000), String(Date.now()), 'AGGREGATION', t.aggregation!, String(t.bucket), 'WITHLABELS', 'FILTER', ...t.filter!.split(' '),
        ])) as Array<[string, Array<[string, string]>, unknown[]]>;
        expect(reply.length, t.filter).toBeGreaterThan(0);
        for (const [, labels, samples] of reply) {
          expect(labels.map(([k]) => k)).toContain(t.legend);
          expect(samples.length).toBeGreaterThan(0);
        }
      }
    });
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
  }, 60_000);

  it('a StatefulSet pod runs the shard of its ordinal, under its pod name', async () => {
    const { daemon } = await startPod(shardedObjects, statefulSet, 1, { 'redis-url': redisUrl });
    const status = (await (await fetch(`${daemon.statusUrl}/status`, { headers: auth })).json()) as { cluster: { mode: string; shard: string; node: string } };
    expect(status.cluster).toMatchObject({ mode: 'static', shard: `2/${statefulSet.spec.replicas}`, node: `${statefulSet.metadata.name}-1` });
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
  }, 60_000);
});

// Last: the image's daemon serves the checks above until here.
describe('the image stops', () => {
  it('cleanly on its STOPSIGNAL: exit 0', async () => {
    const signal = instructionArgs(runtime, 'STOPSIGNAL').at(-1) as NodeJS.Signals;
    image.daemon.child.kill(signal);
    expect(await image.daemon.exited).toBe(0);
  });
});

