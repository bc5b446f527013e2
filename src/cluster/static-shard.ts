import type { DataCollector } from '../data-collector.js';
import { shardOf } from './assignment.js';
import type { ClusterStatus } from './status.js';
import type { WorkUnit } from './units.js';

/**
 * `cluster.shard: i/n`: this daemon runs the units that rendezvous hashing gives shard i, without
 * leases and without takeover (the platform, e.g. a Kubernetes StatefulSet, restarts the pod).
 */
export class StaticShard {
  private readonly index: number;
  private readonly count: number;
  private readonly mine: WorkUnit[];

  constructor(
    private readonly shard: string,
    private readonly node: string,
    private readonly units: readonly WorkUnit[],
    private readonly collector: DataCollector,
  ) {
    [this.index, this.count] = shard.split('/').map(Number) as [number, number];
    this.mine = units.filter((u) => shardOf(u.id, this.count) === this.index);
  }

  start(): void {
    for (const unit of this.mine) for (const c of unit.collectors) this.collector.startCollector(c.id);
  }

  async stop(): Promise<void> {
    await Promise.all(this.mine.flatMap((u) => u.collectors.map((c) => this.collector.stopCollector(c.id))));
  }

  status(): ClusterStatus {
    return {
      mode: 'static',
      node: this.node,
      shard: this.shard,
      connected: true,
      lastError: null,
      leaseTtlMs: null,
      members: [{ node: this.node, units: this.mine.length }],
      units: this.units.map((u) => ({
        unit: u.id,
        collectors: u.collectors.map((c) => c.id),
        // Another pod's name is not known here: its shard stands for it.
        owner: shardOf(u.id, this.count) === this.index ? this.node : `shard ${shardOf(u.id, this.count)}/${this.count}`,
        token: null,
        leaseAgeMs: null,
        renewedAgoMs: null,
      })),
      owned: this.mine.length,
      differentConfig: [],
      takeovers: 0,
      leasesLost: 0,
      staleWritesRefused: 0,
      leaseCommands: 0,
    };
  }
}
