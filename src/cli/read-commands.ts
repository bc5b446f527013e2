import { buildFeed } from '../../feeds/load.js';
import type { DataCollectionStorage } from '../../storage/types.js';
import { AGGREGATIONS, type Aggregation, type FetchOptions } from '../../storage/types.js';
import { loadConfig, type CollectorConfig } from '../config/load.js';
import { createContainer, registryOf } from '../container.js';
import { parseDuration } from '../duration.js';
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

/** Opens the configured storage for reading from beside a running daemon, then closes it. */
async function withStorage<T>(
  configFile: string,
  use: (storage: DataCollectionStorage, config: CollectorConfig, registry: Registry) => Promise<T>,
): Promise<T> {
  const container = createContainer();
  const config = await loadConfig(configFile, container);
  if (config.storage.kind === 'memory') {
    throw new UsageError(`${configFile}: storage.kind is memory, which lives inside the daemon process; reading from another process needs sqlite or redis-timeseries`);
  }
  const storage = await openStorage(config, { container, readOnly: true });
  try {
    return await use(storage, config, registryOf(container));
  } finally {
    await storage.close();
  }
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
  return withStorage(opts.config, async (storage) => formatSamples(await storage.fetch(key, start, end, options), format));
}

/** `collector keys`: the series stored with first/last timestamps and counts. */
export async function keysCommand(opts: { config: string; format: string }): Promise<string> {
  const format = checkFormat(opts.format);
  return withStorage(opts.config, async (storage) => formatKeys(await storage.keys(), format));
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
  return withStorage(opts.config, async (storage, config, registry) => {
    const feedConfig = config.feeds.find((f) => f.name === feedName);
    if (!feedConfig) {
      throw new UsageError(`${config.file}: no feed named ${feedName}; feeds: ${config.feeds.map((f) => f.name).join(', ') || '(none)'}`);
    }
    const feed = buildFeed(feedConfig, registry);
    if (startText === undefined) {
      const at = now;
      const value = await feed.value(storage, at);
      return format === 'json' ? JSON.stringify([at, value ?? null]) : `${feed.name} ${new Date(at).toISOString()} ${value ?? '(no data)'}`;
    }
    const points = await feed.read(storage, time('START', startText, now), time('END', endText ?? 'now', now));
    return formatSamples(points, format);
  });
}
