import type { Address } from 'viem';
import { groupBy, minDefined } from '../../common/collections.js';
import type { CollectorKind, DataRequirement, DataSourceCollector, DexPoolRef } from '../types.js';
import { PoolCollector, type PoolTarget } from './pool-collector.js';
import { dexDepthKey } from './depth.js';
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

    /** `pool:depth` (what `depth` needs) writes the depth series too. */
    keysFor(chain: string, pool: string, arg: string | undefined, dex?: DexPoolRef): string[] {
      if (!dex) throw new Error('pool is collected for DEX feeds only: name chain, pool and protocol instead of exchange and symbol');
      if (arg !== undefined && arg !== 'depth') throw new Error(`pool takes no argument, got ${JSON.stringify(arg)}`);
      protocols.get(dex.protocol);
      return [dexPoolKey(chain, pool), ...(arg === 'depth' ? [dexDepthKey(chain, pool)] : [])];
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
            depthKey: seen?.depthKey ?? req.keys[1],
          });
        }
        const staleAfterMs = reqs.map((r) => r.staleAfterMs).reduce(minDefined, undefined);
        return new PoolCollector(`pool:${chain}`, chain, settings, [...targets.values()], context.logger, staleAfterMs);
      });
    },
  };
}

/**
 * `depth` (a DEX feed's `collect: [depth]`): quote liquidity within 10, 50 and 100 bps of the pool
 * price per side, stored as `dex-depth:<chain>:<pool>` at most once per block. The pool's collector
 * writes it (it holds the pool's state block by block): this kind only asks for `pool:depth`.
 */
export function createDepthCollectorKind(protocols: DexProtocolDirectory): CollectorKind {
  return {
    name: 'depth',
    seriesKinds: ['dex-depth'],
    keysFor(chain: string, pool: string, arg: string | undefined, dex?: DexPoolRef): string[] {
      if (!dex) throw new Error('depth of a DEX pool is collected for DEX feeds only (for an exchange, collect liquidity)');
      if (arg !== undefined) throw new Error(`depth takes no argument, got ${JSON.stringify(arg)}`);
      protocols.get(dex.protocol);
      return [dexDepthKey(chain, pool)];
    },
    needs: () => ['pool:depth'],
    create: () => [],
  };
}
