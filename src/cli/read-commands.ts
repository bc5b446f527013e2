import type { Container } from 'inversify';
import { COLLECTION_KIND } from '../../feeds/collection.js';
import { buildFeed } from '../../feeds/load.js';
import type { DataCollectionStorage } from '../../storage/types.js';
import { AGGREGATIONS, type Aggregation, type FetchOptions } from '../../storage/types.js';
import { loadConfig, type CollectorConfig } from '../config/load.js';
import { createContainer, registryOf } from '../container.js';
import { parseDuration } from '../../common/duration.js';
import type { Registry } from '../registry.js';
import { openStorage } from '../open-storage.js';
import { parseTimeArg } from '../time-arg.js';
import { UsageError } from './errors.js';
import { formatKeys, formatSamples, type OutputFormat } from './format.js';
import type { CommandText } from './output.js';

const FORMATS: OutputFormat[] = ['table', 'json', 'csv'];

function checkFormat(format: string): OutputFormat {
  if (!FORMATS.includes(format as OutputFormat)) throw new UsageError(`--format: expected table, json or csv; got ${format}`);
  return format as OutputFormat;
}

function time(what: string, text: string, now: number): number {
  try {
    return parseTimeArg(text, now);
  } catch (err) {
    throw new UsageError(`${what}: ${(err as Error).message}`);
  }
}

/** The config a read command works from, with the kinds it registers (plugins included). */
interface ReadContext {
  container: Container;
  config: CollectorConfig;
  registry: Registry;
}

async function loadReadContext(configFile: string): Promise<ReadContext> {
  const container = createContainer();
  const config = await loadConfig(configFile, container);
  if (config.storage.kind === 'memory') {
    throw new UsageError(`${configFile}: storage.kind is memory, which lives inside the daemon process; reading from another process needs sqlite or redis-timeseries`);
  }
  return { container, config, registry: registryOf(container) };
}

/** Opens the configured storage for reading from beside a running daemon, then closes it. */
async function withStorage<T>({ container, config }: ReadContext, use: (storage: DataCollectionStorage) => Promise<T>): Promise<T> {
  const storage = await openStorage(config, { container, readOnly: true });
  try {
    return await use(storage);
  } finally {
    await storage.close();
  }
}

/**
 * Throws for a key whose kind (`trades` in `trades:binance:BTC-USDT`) no registered collector
 * writes: a typo there would otherwise read as "no samples".
 */
function checkSeriesKind(key: string, registry: Registry): void {
  const kind = key.split(':')[0]!;
  const known = registry.seriesKinds();
  if (!known.includes(kind)) throw new UsageError(`${key}: no collector writes series of kind ${JSON.stringify(kind)}; known kinds: ${known.join(', ')}`);
}

/** `collector fetch KEY START END`: prints the samples of one series. */
export async function fetchCommand(
  key: string,
  startText: string,
  endText: string,
  opts: { config: string; format: string; bucket?: string; agg?: string },
): Promise<CommandText> {
  const format = checkFormat(opts.format);
  const now = Date.now();
  const start = time('START', startText, now);
  const end = time('END', endText, now);
  let options: FetchOptions | undefined;
  if (opts.bucket !== undefined || opts.agg !== undefined) {
    const aggregation = (opts.agg ?? 'last') as Aggregation;
    if (!AGGREGATIONS.includes(aggregation)) throw new UsageError(`--agg: expected one of ${AGGREGATIONS.join('|')}; got ${opts.agg}`);
    let bucketMs: number;
    try {
      bucketMs = parseDuration(opts.bucket ?? '1m');
    } catch (err) {
      throw new UsageError(`--bucket: ${(err as Error).message}`);
    }
    options = { bucketMs, aggregation };
  }
  const context = await loadReadContext(opts.config);
  const samples = await withStorage(context, (storage) => storage.fetch(key, start, end, options));
  // Samples stored under an unknown kind (a plugin this config does not load) are still shown.
  if (samples.length === 0) checkSeriesKind(key, context.registry);
  return formatSamples(samples, format);
}

/** `collector keys`: the series stored with first/last timestamps and counts. */
export async function keysCommand(opts: { config: string; format: string }): Promise<string> {
  const format = checkFormat(opts.format);
  return withStorage(await loadReadContext(opts.config), async (storage) => formatKeys(await storage.keys(), format));
}

/** `collector price FEED [START END]`: a feed's price computed from storage, as the updater sees it. */
export async function priceCommand(
  feedName: string,
  startText: string | undefined,
  endText: string | undefined,
  opts: { config: string; format: string },
): Promise<CommandText> {
  const format = checkFormat(opts.format);
  const now = Date.now();
  const context = await loadReadContext(opts.config);
  const { config, registry } = context;
  const feedConfig = config.feeds.find((f) => f.name === feedName);
  if (!feedConfig) {
    throw new UsageError(`${config.file}: no feed named ${feedName}; feeds: ${config.feeds.map((f) => f.name).join(', ') || '(none)'}`);
  }
  const feed = buildFeed(feedConfig, registry);
  if (feed.kind === COLLECTION_KIND) {
    const pricing = registry.names().feeds.filter((k) => k !== COLLECTION_KIND);
    throw new UsageError(
      `${config.file}: feed ${feed.name} has no pricing kind (it only collects ${feed.requiredData().flatMap((r) => r.keys).join(', ')}); ` +
        `read its series with collector fetch, or give it a kind: ${pricing.join(', ')}`,
    );
  }
  if (startText === undefined) {
    const at = now;
    const value = await withStorage(context, (storage) => feed.value(storage, at));
    return format === 'json' ? JSON.stringify([at, value ?? null]) : `${feed.name} ${new Date(at).toISOString()} ${value ?? '(no data)'}`;
  }
  const start = time('START', startText, now);
  const end = time('END', endText ?? 'now', now);
  return formatSamples(await withStorage(context, (storage) => feed.read(storage, start, end)), format);
}
