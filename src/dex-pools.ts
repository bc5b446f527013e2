import type { Address } from 'viem';
import { ChainRpc, ChainUnreachable, type ChainSettings } from '../collectors/dex/chain-rpc.js';
import { openPool } from '../collectors/dex/pool-collector.js';
import { builtInDexProtocols } from '../collectors/dex/protocols.js';
import type { DexProtocolDirectory, PoolInfo } from '../collectors/dex/protocol.js';
import { sanitizeError } from '../common/sanitize.js';
import type { CollectorConfig } from './config/load.js';
import { ConfigError } from './config/errors.js';

/** The config's `chains`, as the collectors take them. */
export function chainSettings(config: Pick<CollectorConfig, 'chains'>): Record<string, ChainSettings> {
  return Object.fromEntries(
    Object.entries(config.chains).map(([name, c]) => [
      name,
      {
        rpcUrl: c.rpcUrl,
        wsUrl: c.wsUrl,
        confirmations: c.confirmations,
        maxBlockRange: c.maxBlockRange,
        pollIntervalMs: c.pollInterval,
        requestsPerSecond: c.requestsPerSecond,
      },
    ]),
  );
}

/**
 * Reads every DEX feed's pool from its chain (tokens, decimals, fee), so a wrong address, a contract
 * that is no pool of the feed's protocol, or a `base` that is neither token is a ConfigError naming
 * the feed before anything starts. A chain that does not answer is no config error: the daemon
 * starts and the feed's collector reads its pool once the chain answers (backing off meanwhile), as
 * collectors of an unreachable exchange do. Returns the pools read, by feed name, and the feeds whose
 * chain could not be reached, each with why.
 */
export async function checkDexPools(
  config: CollectorConfig,
  protocols: DexProtocolDirectory = builtInDexProtocols,
): Promise<{ pools: Map<string, PoolInfo>; unreachable: string[] }> {
  const chains = chainSettings(config);
  const found = new Map<string, PoolInfo>();
  const problems: string[] = [];
  const unreachable: string[] = [];
  await Promise.all(
    config.feeds.map(async (feed, i) => {
      if (!feed.dex) return;
      const { chain, address, protocol, base } = feed.dex;
      try {
        const rpc = new ChainRpc(chains[chain]!);
        found.set(feed.name, await openPool(rpc, { key: '', address: address as Address, protocol: protocols.get(protocol), base }));
      } catch (err) {
        (err instanceof ChainUnreachable ? unreachable : problems).push(`feeds[${i}] (${feed.name}): chain ${chain}: ${sanitizeError(err)}`);
      }
    }),
  );
  if (problems.length > 0) throw new ConfigError(config.file, problems.sort());
  return { pools: found, unreachable: unreachable.sort() };
}
