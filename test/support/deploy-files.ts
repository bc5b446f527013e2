/**
 * Readers for the files under deploy/, so test/deploy.test.ts can run what they say against the
 * daemon: Dockerfile instructions, systemd unit settings, the metric names and label matchers of
 * a PromQL expression, a Prometheus exposition, and the mapping of a file's machine paths (the
 * image's /app, the unit's /opt/quoting-collector, ...) onto a test's folders.
 */
import { parseDocument } from 'yaml';

/** One instruction of a Dockerfile, its continuation lines joined. */
export interface DockerInstruction {
  keyword: string;
  args: string;
}

/** One build stage: its base image, its name (`AS name`) and its instructions after FROM. */
export interface DockerStage {
  from: string;
  name?: string;
  instructions: DockerInstruction[];
}

export function parseDockerfile(text: string): DockerStage[] {
  const stages: DockerStage[] = [];
  const logical = text.replace(/\\\n\s*/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  for (const line of logical) {
    const [, keyword, args] = /^(\S+)\s*(.*)$/.exec(line)!;
    if (keyword!.toUpperCase() === 'FROM') {
      const [from, as, name] = args!.split(/\s+/);
      stages.push({ from: from!, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else {
      if (stages.length === 0) throw new Error(`Dockerfile: ${keyword} before FROM`);
      stages.at(-1)!.instructions.push({ keyword: keyword!.toUpperCase(), args: args!.trim() });
    }
  }
  return stages;
}

/** The arguments of each `keyword` instruction of a stage. */
export function instructionArgs(stage: DockerStage, keyword: string): string[] {
  return stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
}

/** An exec-form argument list (`["node", "x"]`) as an argv; the shell form runs under /bin/sh -c. */
export function execForm(args: string): string[] {
  return args.startsWith('[') ? (JSON.parse(args) as string[]) : ['/bin/sh', '-c', args];
}

/** `ENV a=1 b=2` instructions of a stage as one environment. */
export function dockerEnv(stage: DockerStage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const args of instructionArgs(stage, 'ENV')) {
    for (const pair of args.split(/\s+/)) {
      const i = pair.indexOf('=');
      if (i <= 0) throw new Error(`Dockerfile: ENV ${args}: expected key=value pairs`);
      env[pair.slice(0, i)] = pair.slice(i + 1);
    }
  }
  return env;
}

/** A systemd unit file's settings: section → key → values in order (a key may repeat). */
export type UnitFile = Map<string, Map<string, string[]>>;

export function parseUnit(text: string): UnitFile {
  const unit: UnitFile = new Map();
  let section: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = new Map();
      unit.set(header[1]!, section);
      continue;
    }
    const i = line.indexOf('=');
    if (!section || i <= 0) throw new Error(`unit file: cannot read line ${JSON.stringify(line)}`);
    const key = line.slice(0, i);
    section.set(key, [...(section.get(key) ?? []), line.slice(i + 1)]);
  }
  return unit;
}

/** The one value of a unit setting; throws when it is missing or given twice. */
export function unitValue(unit: UnitFile, section: string, key: string): string {
  const values = unit.get(section)?.get(key) ?? [];
  if (values.length !== 1) throw new Error(`[${section}] ${key}: expected one value, found ${values.length}`);
  return values[0]!;
}

/** `Environment=A=1` settings of a unit's [Service] as one environment. */
export function unitEnv(unit: UnitFile): Record<string, string> {
  return Object.fromEntries((unit.get('Service')?.get('Environment') ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

/** A series selector in a PromQL expression: the metric and its label matchers. */
export interface PromSelector {
  metric: string;
  matchers: Array<{ label: string; op: '=' | '!=' | '=~' | '!~'; value: string }>;
}

const PROMQL_KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan', 'atan2']);

/**
 * The series selectors of a PromQL expression (metric names with their matchers) and the label
 * names it groups or matches on (`by (...)`, `on (...)`, ...). Enough PromQL for rules and
 * dashboards (no `{__name__=...}` selectors; those throw).
 */
export function promqlParts(expr: string): { selectors: PromSelector[]; groupingLabels: string[] } {
  const groupingLabels: string[] = [];
  let rest = expr.replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g, (_m, labels: string) => {
    groupingLabels.push(...labels.split(',').map((l) => l.trim()).filter(Boolean));
    return ' ';
  });
  // Ranges and subqueries ([5m], [$__rate_interval], [1h:1m]) hold no names.
  rest = rest.replace(/\[[^\]]*\]/g, ' ');
  const selectors: PromSelector[] = [];
  rest = rest.replace(/([A-Za-z_:][A-Za-z0-9_:]*)?\s*\{([^}]*)\}/g, (_m, metric: string | undefined, body: string) => {
    if (!metric) throw new Error(`${expr}: a selector without a metric name`);
    const matchers = [...body.matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)].map(([, label, op, value]) => ({
      label: label!,
      op: op as PromSelector['matchers'][number]['op'],
      value: value!,
    }));
    selectors.push({ metric, matchers });
    return ' ';
  });
  rest = rest.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, ' ');
  for (const [, number, name, call] of rest.matchAll(/(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?:ms|s|m|h|d|w|y)?)|([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?/g)) {
    if (number !== undefined || call !== undefined || PROMQL_KEYWORDS.has(name!.toLowerCase())) continue;
    selectors.push({ metric: name!, matchers: [] });
  }
  return { selectors, groupingLabels };
}

/** A Prometheus text exposition: each metric name (TYPE lines and sample names) → its samples' labels. */
export function parseExposition(text: string): Map<string, Array<Record<string, string>>> {
  const metrics = new Map<string, Array<Record<string, string>>>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) /.exec(line);
    if (type) {
      if (!metrics.has(type[1]!)) metrics.set(type[1]!, []);
      continue;
    }
    const sample = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? \S+/.exec(line);
    if (!sample) continue;
    const labels = Object.fromEntries([...(sample[2] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => [k!, v!]));
    metrics.set(sample[1]!, [...(metrics.get(sample[1]!) ?? []), labels]);
  }
  return metrics;
}

/**
 * Replaces each machine path of a deploy file (`/app`, `/etc/quoting-collector`, ...) by the
 * test's folder standing for it, where the path is whole (followed by `/`, a quote, space or end).
 */
export function mapPaths(text: string, paths: ReadonlyArray<readonly [from: string, to: string]>): string {
  return paths.reduce((s, [from, to]) => s.replace(new RegExp(`${from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=$|[/\\s"':])`, 'g'), to), text);
}

/** Replaces the port `:<from>` (not a longer number) by `:<to>`, as in `127.0.0.1:9464/health/live`. */
export function movePort(text: string, from: number, to: number): string {
  return text.replace(new RegExp(`:${from}(?!\\d)`, 'g'), `:${to}`);
}

/**
 * A deploy config made runnable in a test: the status server moved to `port` (after checking it
 * listens on `defaultPort`) and every exchange its feeds name pointed at a local simulator.
 * Comments and `${ENV}` references stay as written.
 */
export function runnableConfig(
  text: string,
  options: { defaultPort: number; port: number; simulators: Record<string, { wsUrl: string; restUrl: string }> },
): string {
  const doc = parseDocument(text);
  const listen = String(doc.getIn(['http', 'listen']));
  const [, host, port] = /^(.*):(\d+)$/.exec(listen) ?? [];
  if (Number(port) !== options.defaultPort) throw new Error(`http.listen ${listen}: expected the daemon's default port ${options.defaultPort}`);
  doc.setIn(['http', 'listen'], `${host}:${options.port}`);
  const feeds = (doc.toJS() as { feeds: Array<{ exchange: string }> }).feeds;
  for (const exchange of new Set(feeds.map((f) => f.exchange))) {
    const sim = options.simulators[exchange];
    if (!sim) throw new Error(`the config collects from ${exchange}, which the test has no simulator running for`);
    doc.setIn(['exchanges', exchange], doc.createNode({ wsUrl: sim.wsUrl, restUrl: sim.restUrl }));
  }
  return doc.toString();
}
