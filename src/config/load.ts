import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Container } from 'inversify';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { COLLECTION_KIND } from '../../feeds/collection.js';
import { buildFeed } from '../../feeds/load.js';
import type { FeedConfig } from '../../feeds/types.js';
import { registryOf } from '../container.js';
import { ConfigError } from './errors.js';
import { substituteEnv } from './env.js';
import { configSchema, type RawConfig } from './schema.js';

/** A validated config: the file it came from, and every section checked by its kind. */
export interface CollectorConfig extends Omit<RawConfig, 'feeds' | 'storage'> {
  file: string;
  /** Directory of the file: relative paths in it (storage path, plugins) resolve from here. */
  dir: string;
  storage: { kind: string } & Record<string, unknown>;
  feeds: FeedConfig[];
}

/** A plugin module adds kinds to the container: `export function register(container) { ... }`. */
export interface CollectorPlugin {
  register(container: Container): void | Promise<void>;
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>(
    (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)),
    '',
  ) || '(root)';
}

function zodProblems(error: z.ZodError, prefix: string): string[] {
  return error.issues.map((issue) => {
    const path = formatPath(issue.path);
    const at = prefix ? (path === '(root)' ? prefix : `${prefix}.${path}`.replace('.[', '[')) : path;
    return `${at}: ${issue.message}`;
  });
}

/** Parses YAML text into a plain object, reporting syntax errors with line and column. */
function parseYaml(file: string, text: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(file, doc.errors.map((e) => `YAML syntax: ${e.message.split('\n')[0]}`));
  }
  try {
    return doc.toJS() ?? {};
  } catch (err) {
    // Aliases are expanded here: an alias bomb (maxAliasCount) or an alias without its anchor.
    throw new ConfigError(file, [`YAML: ${(err as Error).message}`]);
  }
}

/**
 * Reads, substitutes `${ENV}` in, and validates a config file: the top level, the storage
 * block by its kind's schema, every feed by its kind's schema, and every `collect` entry.
 * Plugins named in the file are loaded into `container` first, so their kinds validate.
 * Throws ConfigError listing every problem.
 */
export async function loadConfig(
  file: string,
  container: Container,
  env: NodeJS.ProcessEnv = process.env,
): Promise<CollectorConfig> {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [`cannot read the config file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  }
  const problems: string[] = [];
  const substituted = substituteEnv(parseYaml(file, text), env, '', problems);
  if (problems.length) throw new ConfigError(file, problems);
  const parsed = configSchema.safeParse(substituted);
  if (!parsed.success) throw new ConfigError(file, zodProblems(parsed.error, ''));
  const raw = parsed.data;
  const dir = dirname(path);

  for (const [i, plugin] of raw.plugins.entries()) {
    try {
      const mod = (await import(pathToFileURL(resolve(dir, plugin)).href)) as Partial<CollectorPlugin> & { default?: CollectorPlugin };
      const register = mod.register ?? mod.default?.register;
      if (typeof register !== 'function') throw new Error('it exports no register(container) function');
      await register(container);
    } catch (err) {
      throw new ConfigError(file, [`plugins[${i}]: cannot load ${plugin}: ${(err as Error).message}`]);
    }
  }

  const registry = registryOf(container);
  let storage: CollectorConfig['storage'] = raw.storage;
  try {
    const kind = registry.storageKind(raw.storage.kind);
    const checked = kind.config.safeParse(raw.storage);
    if (!checked.success) problems.push(...zodProblems(checked.error, 'storage'));
    else storage = checked.data as CollectorConfig['storage'];
    if (raw.cluster && !kind.shared) {
      problems.push(
        `cluster: needs a storage every daemon can reach, but storage.kind ${kind.name} keeps its data in this process's machine; ` +
          'use storage.kind redis-timeseries (several daemons then write one store), or remove cluster',
      );
    }
  } catch (err) {
    problems.push(`storage.kind: ${(err as Error).message}`);
  }

  if (raw.http && raw.http.token === undefined && !isLoopback(raw.http.listen.host)) {
    const { host, port } = raw.http.listen;
    problems.push(
      `http.token: required when http.listen (${host.includes(':') ? `[${host}]` : host}:${port}) is not a loopback address, ` +
        'else anyone who reaches it reads /status; set e.g. token: ${COLLECTOR_TOKEN}, or listen on 127.0.0.1',
    );
  }

  problems.push(...unknownExchanges(raw, registry));
  const feeds = raw.feeds.map((feed, i) => toFeedConfig(feed, i, registry, problems, raw.chains));
  const names = new Set<string>();
  raw.feeds.forEach((feed, i) => {
    if (names.has(feed.name)) problems.push(`feeds[${i}].name: duplicate feed name ${JSON.stringify(feed.name)}`);
    names.add(feed.name);
  });
  if (problems.length) throw new ConfigError(file, problems);
  return { ...raw, file, dir, storage, feeds };
}

/**
 * `exchanges:` overrides naming an exchange no collector kind collects from and no feed uses:
 * a typo would otherwise leave the real exchange's production endpoints in use.
 */
function unknownExchanges(raw: RawConfig, registry: ReturnType<typeof registryOf>): string[] {
  const known = registry.exchangeNames();
  const used = new Set([...known, ...raw.feeds.map((feed) => feed.exchange)]);
  return Object.keys(raw.exchanges)
    .filter((name) => !used.has(name))
    .map((name) => `exchanges.${name}: unknown exchange ${JSON.stringify(name)}; known: ${known.join(', ') || '(none)'}`);
}

/** 127.0.0.0/8, ::1 (also as ::ffff:127.x.y.z) and localhost: reachable from this machine only. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  return /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Checks one feed: its kind's parameters and its collect list; returns it with durations in ms. */
function toFeedConfig(
  feed: RawConfig['feeds'][number],
  i: number,
  registry: ReturnType<typeof registryOf>,
  problems: string[],
  chains: RawConfig['chains'],
): FeedConfig {
  const at = `feeds[${i}]`;
  const { name, kind, exchange, symbol, chain, pool, protocol, base, alias, collect, history, staleAfter, ...rest } = feed;
  const config: FeedConfig = { name, kind, exchange: exchange ?? '', symbol: symbol ?? '', collect, historyMs: history, staleAfterMs: staleAfter };
  if (chain !== undefined && pool !== undefined && protocol !== undefined) {
    // A DEX feed: its "exchange" is the chain, its "symbol" the pool's name in keys.
    Object.assign(config, { exchange: chain, symbol: alias ?? pool.toLowerCase(), dex: { chain, address: pool, protocol, ...(base ? { base } : {}) } });
    if (!(chain in chains)) problems.push(`${at}.chain: unknown chain ${JSON.stringify(chain)}; configure chains.${chain}.rpcUrl`);
  }
  if (!kind && !(collect && collect.length)) {
    problems.push(`${at}: a feed needs a pricing kind (kind: trades-vwap, ...) or a collect list, or both`);
    return config;
  }
  try {
    const feedKind = registry.feedKind(kind ?? COLLECTION_KIND);
    const schema = feedKind.params instanceof z.ZodObject ? feedKind.params.strict() : feedKind.params;
    const checked = schema.safeParse(rest);
    if (!checked.success) {
      problems.push(...zodProblems(checked.error, at));
      return config;
    }
    Object.assign(config, checked.data);
  } catch (err) {
    problems.push(`${at}.kind: ${(err as Error).message}`);
    return config;
  }
  try {
    buildFeed(config, registry); // checks every collect entry against the collector kinds
  } catch (err) {
    problems.push(`${at}: ${(err as Error).message}`);
  }
  return config;
}
