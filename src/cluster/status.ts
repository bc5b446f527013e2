/** The cluster as `/status`, `collector status --cluster` and `/metrics` show it. */
export interface ClusterStatus {
  /** `leases`: units move between live daemons; `static`: `cluster.shard` fixes them. */
  mode: 'leases' | 'static';
  /** This daemon's name. */
  node: string;
  /** Static sharding: this daemon's shard, e.g. `2/3`. */
  shard?: string;
  /** False while the lease store is unreachable. */
  connected: boolean;
  lastError: string | null;
  leaseTtlMs: number | null;
  /** Live members and how many units each holds. */
  members: Array<{ node: string; units: number }>;
  units: ClusterUnitStatus[];
  /** Units this daemon runs. */
  owned: number;
  /**
   * Live members whose config makes other units than this daemon's (a rolling config change): while
   * any, no unit is taken or handed over, so two units never collect one series.
   */
  differentConfig: string[];
  /** Units this daemon took over from another daemon since start. */
  takeovers: number;
  /** Units this daemon stopped because it could not renew their lease in time, since start. */
  leasesLost: number;
  /** Samples the storage refused because this daemon's fencing token was stale. */
  staleWritesRefused: number;
  /** Redis commands the leases and membership sent since start. */
  leaseCommands: number;
}

export interface ClusterUnitStatus {
  unit: string;
  collectors: string[];
  /** The daemon running it, or null while nobody holds it. */
  owner: string | null;
  token: number | null;
  /** How long the current owner has held it (ms). */
  leaseAgeMs: number | null;
  /** For this daemon's units: since the last renewal (ms). */
  renewedAgoMs: number | null;
}
