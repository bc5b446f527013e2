import { SingleBar } from 'cli-progress';
import type { FillProgress, FillResult } from '../../collectors/klines/kline-history.js';
import { KlinePoller } from '../../collectors/klines/kline-poller.js';
import { PoolCollector } from '../../collectors/dex/pool-collector.js';
import { chainSettings } from '../dex-pools.js';
import { backfillPools } from './backfill-dex.js';
import { buildFeeds, loadDataSourceCollectors } from '../../feeds/load.js';
import { loadConfig } from '../config/load.js';
import { createContainer, registryOf } from '../container.js';
import { formatDuration } from '../../common/duration.js';
import { createLogger } from '../../common/logger.js';
import { openStorage } from '../open-storage.js';
import { parseTimeArg } from '../time-arg.js';
import { UsageError } from './errors.js';

export interface BackfillOptions {
  config: string;
  feed: string;
  from: string;
  to?: string;
  /** Draw the progress bar even when stderr is not a terminal (tests, CI logs). */
  progress?: boolean;
}

/**
 * `collector backfill --feed NAME --from DATE [--to DATE]`: fills the feed's klines over the range
 * with a progress bar (done/total candles, rate, ETA); what is stored already is not asked again.
 */
export async function backfillCommand(opts: BackfillOptions): Promise<string> {
  const now = Date.now();
  const time = (text: string, what: string): number => {
    try {
      return parseTimeArg(text, now);
    } catch (err) {
      throw new UsageError(`${what}: ${(err as Error).message}`);
    }
  };
  const from = time(opts.from, '--from');
  const to = opts.to === undefined ? now : time(opts.to, '--to');
  if (to < from) throw new UsageError(`--to (${new Date(to).toISOString()}) is before --from (${new Date(from).toISOString()})`);

  const logger = createLogger();
  const container = createContainer({ logger });
  const config = await loadConfig(opts.config, container);
  logger.level = process.env.LOG_LEVEL ?? 'warn';
  const registry = registryOf(container);
  // A DEX feed with nothing stored starts at --from: that is its history.
  const feeds = buildFeeds(
    config.feeds.map((f) => (f.dex ? { ...f, historyMs: now - from } : f)),
    registry,
  );
  const feed = feeds.find((f) => f.name === opts.feed);
  if (!feed) throw new UsageError(`no feed named ${JSON.stringify(opts.feed)} in ${opts.config}; feeds: ${feeds.map((f) => f.name).join(', ') || 'none'}`);
  const collectors = loadDataSourceCollectors([feed], registry, { exchanges: config.exchanges, chains: chainSettings(config), logger });
  const pools = collectors.filter((c): c is PoolCollector => c instanceof PoolCollector);
  if (pools.length > 0) {
    if (opts.to !== undefined) throw new UsageError('--to: a DEX feed is filled up to the head of its chain');
    const storage = await openStorage(config, { container, logger });
    const abort = new AbortController();
    const onSignal = () => abort.abort(new Error('interrupted'));
    process.once('SIGINT', onSignal);
    try {
      return (await backfillPools(pools, storage, { progress: opts.progress, signal: abort.signal, logger })).join('\n');
    } finally {
      process.off('SIGINT', onSignal);
      await storage.close();
    }
  }
  const pollers = collectors.filter((c): c is KlinePoller => c instanceof KlinePoller);
  if (pollers.length === 0) throw new UsageError(`feed ${feed.name} collects no klines: add e.g. "klines:1m" to its collect list`);

  const storage = await openStorage(config, { container, logger });
  const abort = new AbortController();
  const onSignal = () => abort.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  const lines: string[] = [];
  try {
    for (const poller of pollers) {
      const { history } = poller;
      await history.declare(storage);
      const bar = new SingleBar({
        format: `${history.key} [{bar}] {percentage}% | {value}/{total} candles | {rate}/s | ETA {eta_formatted}`,
        stream: process.stderr,
        noTTYOutput: opts.progress === true,
        notTTYSchedule: 1000,
        etaBuffer: 50,
      });
      const started = Date.now();
      let shown = false;
      const onProgress = ({ done, total }: FillProgress) => {
        const rate = Math.round(done / Math.max(0.001, (Date.now() - started) / 1000));
        if (!shown) {
          bar.start(total, done, { rate });
          shown = true;
        } else bar.update(done, { rate });
      };
      let result: FillResult;
      try {
        result = await history.fill(storage, { from, to }, abort.signal, onProgress);
      } finally {
        if (shown) bar.stop();
      }
      const took = Date.now() - started;
      lines.push(
        `${history.key}: ${result.stored} candles stored, ${result.recordedMissing} recorded missing at the exchange, ` +
          `${result.requests} requests in ${formatDuration(took)}`,
      );
    }
  } finally {
    process.off('SIGINT', onSignal);
    await storage.close();
  }
  return lines.join('\n');
}
