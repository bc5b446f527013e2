import { SingleBar } from 'cli-progress';
import { PoolCollector } from '../../collectors/dex/pool-collector.js';
import { formatDuration } from '../../common/duration.js';
import type { Logger } from '../../common/logger.js';
import type { DataCollectionStorage } from '../../storage/types.js';

/**
 * `collector backfill --feed` for a DEX feed: runs its pool collector from its checkpoint (or, with
 * nothing stored, from `--from`) until it has stored the head the chain had at start, with a
 * progress bar over blocks; then stops. What is stored is not read again.
 */
export async function backfillPools(
  collectors: readonly PoolCollector[],
  storage: DataCollectionStorage,
  options: { progress?: boolean; signal: AbortSignal; logger: Logger },
): Promise<string[]> {
  const lines: string[] = [];
  for (const collector of collectors) {
    const bar = new SingleBar({
      format: `${collector.keys.join(', ')} [{bar}] {percentage}% | {value}/{total} blocks | {rate}/s | ETA {eta_formatted}`,
      stream: process.stderr,
      noTTYOutput: options.progress === true,
      notTTYSchedule: 1000,
      etaBuffer: 50,
    });
    const started = Date.now();
    const stop = new AbortController();
    let target: bigint | undefined;
    let blocks = 0;
    collector.onBlocks = ({ first, through, head }) => {
      target ??= head;
      const total = Math.max(1, Number(target - first + 1n));
      blocks = Math.max(0, Number(through - first + 1n));
      const rate = Math.round(blocks / Math.max(0.001, (Date.now() - started) / 1000));
      if (blocks === 0 && bar.getTotal() !== total) bar.start(total, 0, { rate });
      else bar.update(Math.min(blocks, total), { rate });
      if (through >= target) stop.abort();
    };
    try {
      await collector.run(storage, AbortSignal.any([stop.signal, options.signal]));
    } finally {
      bar.stop();
    }
    if (options.signal.aborted) throw new Error('interrupted');
    const counters = collector.rpc?.counters;
    lines.push(
      `${collector.keys.join(', ')}: ${blocks} blocks read, ${collector.progress.itemsStored} samples stored, ` +
        `${counters?.requests ?? 0} requests (${counters?.rangeSplits ?? 0} ranges split, ${counters?.rateLimited ?? 0} rate limited) in ${formatDuration(Date.now() - started)}`,
    );
  }
  return lines;
}
