import type { Address } from 'viem';
import { groupBy, minDefined } from '../../common/collections.js';
import type { CollectorKind, DataRequirement, DataSourceCollector, DexPoolRef } from '../types.js';
import { PoolCollector, type PoolTarget } from './pool-collector.js';
import type { DexProtocolDirectory } from './protocol.js';

/** `dex:<chain>:<pool alias or address>`: a pool's samples. */
export function dexPoolKey(chain: string, pool: string): string {
  return `dex:${chain}:${pool}`;
}

/**
 * DEX pools (`collect: [pool]` on a feed naming `chain`, `pool`, `protocol`): one collector per
 * chain follows all of its pools (one `eth_getLogs` for them all), see pool-collector.ts.
 */
export function createPoolCollectorKind(protocols: DexProtocolDirectory): CollectorKind {
  return {
    name: 'pool',
    seriesKinds: ['dex'],

    keysFor(chain: string, pool: string, arg: string | undefined, dex?: DexPoolRef): string[] {
      if (!dex) throw new Error('pool is collected for DEX feeds only: name chain, pool and protocol instead of exchange and symbol');
      if (arg !== undefined) throw new Error(`pool takes no argument, got ${JSON.stringify(arg)}`);
      protocols.get(dex.protocol);
      return [dexPoolKey(chain, pool)];
    },

    create(requirements: readonly DataRequirement[], context): DataSourceCollector[] {
      return [...groupBy(requirements, (r) => r.exchange)].map(([chain, reqs]) => {
        const settings = context.chains?.[chain];
        if (!settings) throw new Error(`chain ${JSON.stringify(chain)} is not configured: add chains.${chain}.rpcUrl`);
        const targets = new Map<string, PoolTarget>();
        for (const req of reqs) {
          const dex = req.dex!;
          const key = req.keys[0]!;
          const seen = targets.get(key);
          if (seen && (seen.base ?? '').toLowerCase() !== (dex.base ?? '').toLowerCase()) {
            throw new Error(`feeds read ${key} with different bases (${seen.base ?? 'token0'}, ${dex.base ?? 'token0'}): give one of them its own alias`);
          }
          targets.set(key, {
            key,
            address: dex.address as Address,
            protocol: protocols.get(dex.protocol),
            base: dex.base,
            historyMs: seen?.historyMs === undefined ? req.historyMs : Math.max(seen.historyMs, req.historyMs ?? 0),
          });
        }
        const staleAfterMs = reqs.map((r) => r.staleAfterMs).reduce(minDefined, undefined);
        return new PoolCollector(`pool:${chain}`, chain, settings, [...targets.values()], context.logger, staleAfterMs);
      });
    },
  };
}
