import { expect, vi } from 'vitest';
import { liquidityCollectorKind } from '../../collectors/kinds.js';
import type { DataRequirement, DataSourceCollector, ExchangeEndpoints } from '../../collectors/types.js';
import { silentLogger } from '../../common/logger.js';
import { MemoryStorage } from '../../storage/memory.js';
import type { Sample } from '../../storage/types.js';

/** The collectors the liquidity kind builds for `collect: ["liquidity:<arg>"]` on these pairs. */
export function liquidityCollectorsFor(exchange: string, symbols: readonly string[], arg: string, endpoints: ExchangeEndpoints): DataSourceCollector[] {
  const requirements: DataRequirement[] = symbols.map((symbol) => ({
    id: `liquidity:${exchange}:${symbol}:${arg}`,
    collector: 'liquidity',
    exchange,
    symbol,
    arg,
    keys: liquidityCollectorKind.keysFor(exchange, symbol, arg),
  }));
  return liquidityCollectorKind.create(requirements, { exchanges: { [exchange]: endpoints }, logger: silentLogger });
}

/** Each stored snapshot is a sane book on the `intervalMs` grid: bid < mid < ask, spread from them, depth growing with the band. */
export function expectSaneSnapshots(samples: Sample[], intervalMs = 100): void {
  for (const [timestamp, value] of samples) {
    const s = value as Record<string, number>;
    expect(timestamp % intervalMs).toBe(0);
    expect(s.bid).toBeLessThan(s.ask!);
    expect(s.mid).toBeCloseTo((s.bid! + s.ask!) / 2, 9);
    expect(s.spread_bps).toBeCloseTo(((s.ask! - s.bid!) / s.mid!) * 10_000, 9);
    expect(s.bid_depth_10bps).toBeGreaterThan(0);
    expect(s.bid_depth_50bps).toBeGreaterThanOrEqual(s.bid_depth_10bps!);
    expect(s.bid_depth_100bps).toBeGreaterThanOrEqual(s.bid_depth_50bps!);
    expect(s.ask_depth_100bps).toBeGreaterThanOrEqual(s.ask_depth_50bps!);
    expect(s.ask_depth_50bps).toBeGreaterThanOrEqual(s.ask_depth_10bps!);
    expect(s.ask_depth_10bps).toBeGreaterThanOrEqual(0);
  }
}

/** Runs a collector into memory storage until `stop` is called; `moreThan` waits until `key` holds more than `count` samples. */
export function runCollector(collector: DataSourceCollector) {
  const storage = new MemoryStorage();
  const abort = new AbortController();
  const done = collector.run(storage, abort.signal);
  const fetch = (key: string) => storage.fetch(key, 0, Date.now() + 60_000);
  return {
    storage,
    fetch,
    moreThan: async (key: string, count: number, timeout = 5000) => vi.waitFor(async () => expect((await fetch(key)).length).toBeGreaterThan(count), { timeout }),
    stop: async () => {
      abort.abort();
      await done;
    },
  };
}
