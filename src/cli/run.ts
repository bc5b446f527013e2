import { loadConfig } from '../config/load.js';
import { createContainer } from '../container.js';
import { startDaemon } from '../daemon.js';
import { checkDexPools } from '../dex-pools.js';
import { formatDuration, MAX_TIMER_MS, parseDuration } from '../../common/duration.js';
import { createLogger } from '../../common/logger.js';
import { UsageError } from './errors.js';

/**
 * `collector run`: starts the daemon and runs until SIGINT/SIGTERM or `--duration`;
 * a second signal forces exit; SIGHUP reloads the config file. Resolves with the exit code.
 */
export async function runCommand(opts: { config: string; duration?: string }): Promise<number> {
  let durationMs: number | undefined;
  if (opts.duration !== undefined) {
    try {
      durationMs = parseDuration(opts.duration);
    } catch (err) {
      throw new UsageError(`--duration: ${(err as Error).message}`);
    }
    // A longer timer would fire at once, stopping the daemon as soon as it started.
    if (durationMs > MAX_TIMER_MS) throw new UsageError(`--duration: expected at most 24d, got ${opts.duration}`);
  }
  const logger = createLogger();
  const container = createContainer({ logger });
  const config = await loadConfig(opts.config, container);
  logger.level = process.env.LOG_LEVEL ?? config.log.level;
  for (const feed of (await checkDexPools(config)).unreachable) logger.warn({ feed }, 'chain unreachable at start: the pool is read once it answers');
  const daemon = await startDaemon(config, container, logger);
  process.stderr.write(
    `collector: running ${daemon.feeds.length} feed(s) into ${config.storage.kind}` +
      (daemon.statusUrl ? `; status at ${daemon.statusUrl}/status` : '') +
      (durationMs !== undefined ? `; stopping after ${formatDuration(durationMs)}` : '') +
      '. Ctrl-C stops; SIGHUP reloads the config.\n',
  );
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (why: string) => {
      if (stopping) {
        logger.warn({ why }, 'second stop request: exiting now');
        process.exit(130);
      }
      stopping = true;
      logger.info({ why }, 'stopping');
      daemon.stop().then(
        (clean) => {
          if (!clean) logger.error({ timeoutMs: daemon.config.collector.shutdownTimeout }, 'shutdown did not finish in time');
          resolve(clean ? 0 : 1);
        },
        (err: Error) => {
          logger.error({ err: err.message }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    // The outcome (applied, or refused with the reason) is logged by the reload itself.
    process.on('SIGHUP', () => {
      if (!stopping) daemon.reload('SIGHUP').catch((err: Error) => logger.warn({ err: err.message }, 'reload not done'));
    });
    if (durationMs !== undefined) setTimeout(() => stop('duration elapsed'), durationMs);
  });
}
