import type { Logger } from '../../common/logger.js';
import { sanitizeError } from '../../common/sanitize.js';
import type { DataCollectionStorage } from '../../storage/types.js';
import type { DataCollector } from '../data-collector.js';
import { createHash } from 'node:crypto';
import { planAssignment } from './assignment.js';
import type { Lease, LeaseHolder, LeaseStore } from './lease-store.js';
import type { ClusterStatus } from './status.js';
import type { WorkUnit } from './units.js';

export interface LeaseCoordinatorOptions {
  node: string;
  leaseTtlMs: number;
  leases: LeaseStore;
  units: readonly WorkUnit[];
  collector: DataCollector;
  storage: DataCollectionStorage;
  logger: Logger;
}

/** A unit this daemon runs: its lease and until when the lease is surely still its own. */
interface Held {
  unit: WorkUnit;
  lease: Lease;
  /** Local clock: the last renewal's start + TTL − margin. Past it the unit is stopped unrenewed. */
  validUntil: number;
  renewedAt: number;
}

/**
 * Runs this daemon's share of the units under leases in Redis (see README "High availability"):
 * every third of the TTL it heartbeats, renews its leases in one round trip, and rebalances
 * (planAssignment). A lease it cannot renew in time stops its unit before the TTL runs out
 * (another daemon may take it then); a unit it takes is fenced in storage with the lease's token
 * before it starts, so a paused former owner's late writes are refused.
 */
export class LeaseCoordinator {
  private readonly held = new Map<string, Held>();
  private readonly unitsById: ReadonlyMap<string, WorkUnit>;
  private members: string[] = [];
  /** What this daemon's config makes of the units (ids and their series), hashed: members must agree. */
  private readonly plan: string;
  /** Live members whose config makes other units: nothing is taken or handed over until they agree. */
  private differentPlans: string[] = [];
  private holders = new Map<string, LeaseHolder>();
  private readonly everHeldBy = new Map<string, string>();
  /** Units still stopping (lease lost, or handed over to rebalance): not taken again until they have. */
  private readonly stoppingUnits = new Map<string, Promise<void>>();
  private timer?: NodeJS.Timeout;
  private guard?: NodeJS.Timeout;
  private ticking?: Promise<void>;
  private stopping = false;
  private connected = false;
  private lastError: string | null = null;
  private takeovers = 0;
  private leasesLost = 0;
  private readonly intervalMs: number;
  private readonly marginMs: number;

  constructor(private readonly options: LeaseCoordinatorOptions) {
    this.unitsById = new Map(options.units.map((u) => [u.id, u]));
    const plan = createHash('sha1');
    for (const unit of options.units) plan.update(`${unit.id}\u0000${unit.keys.join('\u0001')}\u0002`);
    this.plan = plan.digest('hex').slice(0, 16);
    this.intervalMs = Math.max(100, Math.floor(options.leaseTtlMs / 3));
    // Renewals are answered within a round trip; stopping a unit takes at most a moment more.
    this.marginMs = Math.max(200, Math.floor(options.leaseTtlMs / 5));
  }

  /** Joins the members, waits one interval so daemons starting together see each other, then takes its share. */
  async start(): Promise<void> {
    await this.tick(false);
    this.timer = setInterval(() => void this.tickOnce(true), this.intervalMs);
    this.guard = setInterval(() => this.expireUnrenewed(), Math.min(250, this.intervalMs));
  }

  /** Stops its units (what they received is stored), releases their leases at once, leaves. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    clearInterval(this.guard);
    await this.ticking;
    await Promise.all(this.stoppingUnits.values());
    const held = [...this.held.values()];
    await Promise.all(held.map((h) => this.stopUnit(h.unit)));
    await this.options.storage.flush().catch((err: unknown) => this.options.logger.warn({ err: sanitizeError(err) }, 'cannot flush before releasing leases'));
    await Promise.all(
      held.map((h) =>
        this.options.leases.release(h.lease).catch((err: unknown) => this.options.logger.warn({ unit: h.unit.id, err: sanitizeError(err) }, 'cannot release a lease; it runs out by itself')),
      ),
    );
    this.held.clear();
    await this.options.leases.leave(this.options.node).catch(() => {});
    this.options.logger.info({ released: held.length }, 'left the cluster');
  }

  status(): ClusterStatus {
    const now = Date.now();
    const owners = new Map<string, number>();
    for (const holder of this.holders.values()) owners.set(holder.node, (owners.get(holder.node) ?? 0) + 1);
    return {
      mode: 'leases',
      node: this.options.node,
      connected: this.connected,
      lastError: this.lastError,
      leaseTtlMs: this.options.leaseTtlMs,
      members: this.members.map((node) => ({ node, units: owners.get(node) ?? 0 })),
      units: this.options.units.map((u) => {
        const mine = this.held.get(u.id);
        const holder = this.holders.get(u.id);
        return {
          unit: u.id,
          collectors: u.collectors.map((c) => c.id),
          owner: mine ? this.options.node : (holder?.node ?? null),
          token: mine?.lease.token ?? holder?.token ?? null,
          leaseAgeMs: mine ? now - mine.lease.acquiredAt : holder ? now - holder.acquiredAt : null,
          renewedAgoMs: mine ? now - mine.renewedAt : null,
        };
      }),
      owned: this.held.size,
      differentConfig: [...this.differentPlans],
      takeovers: this.takeovers,
      leasesLost: this.leasesLost,
      staleWritesRefused: this.options.storage.stats().staleWritesRefused ?? 0,
      leaseCommands: this.options.leases.traffic.commands,
    };
  }

  private tickOnce(rebalance: boolean): void {
    if (this.ticking || this.stopping) return;
    // A lease store that hangs (not refusing, just silent) must not stop the ticks for good.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.options.leaseTtlMs)));
    this.ticking = Promise.race([this.tick(rebalance), timeout]).finally(() => {
      clearTimeout(timer);
      this.ticking = undefined;
    });
  }

  private async tick(rebalance: boolean): Promise<void> {
    const { leases, node, leaseTtlMs, logger } = this.options;
    const startedAt = Date.now();
    try {
      this.expireUnrenewed();
      const members = await leases.heartbeat(node, leaseTtlMs, this.plan);
      this.members = [...members.keys()];
      const different = [...members].filter(([, plan]) => plan !== this.plan).map(([member]) => member);
      if (different.join() !== this.differentPlans.join()) {
        if (different.length > 0) {
          // Other unit ids over the same series (e.g. a symbol added on some daemons only) would let two units collect one series.
          logger.error({ members: different }, 'cluster: members run a config that makes other units; taking and handing over nothing until all agree');
        } else logger.info('cluster: every member runs the same units again');
      }
      this.differentPlans = different;
      const mine = [...this.held.values()];
      const lost = new Set(await leases.renew(mine.map((h) => h.lease), leaseTtlMs));
      for (const h of mine) {
        if (lost.has(h.unit.id)) this.lose(h, 'another daemon holds its lease now');
        else if (this.held.get(h.unit.id) === h) {
          h.validUntil = startedAt + leaseTtlMs - this.marginMs;
          h.renewedAt = Date.now();
        }
      }
      this.holders = await leases.holders(this.options.units.map((u) => u.id));
      for (const [unit, holder] of this.holders) this.everHeldBy.set(unit, holder.node);
      if (!this.connected) logger.info({ node, members: this.members }, 'cluster: connected to the lease store');
      this.connected = true;
      this.lastError = null;
      if (rebalance && !this.stopping && this.differentPlans.length === 0) await this.rebalance();
    } catch (err) {
      if (this.connected) logger.warn({ err: sanitizeError(err) }, 'cluster: cannot reach the lease store; units stop when their leases would run out');
      this.connected = false;
      this.lastError = sanitizeError(err);
    }
  }

  private async rebalance(): Promise<void> {
    const { node, leaseTtlMs, leases, logger } = this.options;
    // Leases still under this daemon's name whose units it stopped (their renewal came too late):
    // given back, so the unit is free at once rather than after the TTL.
    for (const [unit, holder] of this.holders) {
      if (holder.node !== node || this.held.has(unit) || this.stoppingUnits.has(unit)) continue;
      await leases.release(leases.leaseOf(unit, holder));
      this.holders.delete(unit);
    }
    const owners = new Map([...this.holders].map(([unit, h]) => [unit, h.node]));
    for (const unit of this.held.keys()) owners.set(unit, node);
    const plan = planAssignment({ self: node, members: this.members, units: [...this.unitsById.keys()], owners });
    for (const unitId of plan.release) {
      const h = this.held.get(unitId);
      if (!h) continue;
      this.held.delete(unitId);
      // In the background: renewing the other leases must not wait for a unit to stop.
      const handover = (async () => {
        await this.stopUnit(h.unit);
        // What it stored (and its checkpoint) is durable before the next owner reads the checkpoint.
        await this.options.storage.flush();
        await leases.release(h.lease);
        logger.info({ unit: unitId }, 'cluster: handed a unit over to rebalance');
      })()
        .catch((err: unknown) => logger.warn({ unit: unitId, err: sanitizeError(err) }, 'cluster: handing a unit over failed; its lease runs out by itself'))
        .finally(() => this.stoppingUnits.delete(unitId));
      this.stoppingUnits.set(unitId, handover);
    }
    for (const unitId of plan.acquire) {
      if (this.stopping) return;
      if (this.stoppingUnits.has(unitId)) continue;
      const lease = await leases.acquire(unitId, node, leaseTtlMs);
      if (!lease) continue;
      const unit = this.unitsById.get(unitId)!;
      const previous = this.everHeldBy.get(unitId);
      if (previous !== undefined && previous !== node) this.takeovers += 1;
      this.held.set(unitId, { unit, lease, validUntil: Date.now() + leaseTtlMs - this.marginMs, renewedAt: Date.now() });
      this.everHeldBy.set(unitId, node);
      try {
        await this.startUnit(unit, lease);
      } catch (err) {
        // Not started: give the lease back so another daemon can try.
        this.held.delete(unitId);
        await this.stopUnit(unit);
        await leases.release(lease).catch(() => {});
        logger.error({ unit: unitId, err: sanitizeError(err) }, 'cluster: cannot start a unit; lease released');
        continue;
      }
      logger.info({ unit: unitId, token: lease.token, previousOwner: previous ?? null }, 'cluster: took a unit');
    }
  }

  /** Fences the unit's series with the lease's token, then starts its collectors writing through the fence. */
  private async startUnit(unit: WorkUnit, lease: Lease): Promise<void> {
    const { storage, collector } = this.options;
    const fenced = storage.fenced ? await storage.fenced({ unit: unit.id, token: lease.token }, unit.keys) : storage;
    // Fencing waits on storage: the lease may have been given up meanwhile (not renewed in time, stopping).
    if (this.held.get(unit.id)?.lease !== lease || this.stopping) return;
    for (const c of unit.collectors) collector.startCollector(c.id, fenced);
  }

  private async stopUnit(unit: WorkUnit): Promise<void> {
    await Promise.all(unit.collectors.map((c) => this.options.collector.stopCollector(c.id)));
  }

  /** Stops every unit whose lease may have run out unrenewed (Redis unreachable, or this process was paused). */
  private expireUnrenewed(): void {
    const now = Date.now();
    for (const h of this.held.values()) if (now >= h.validUntil) this.lose(h, 'its lease could not be renewed in time');
  }

  private lose(h: Held, why: string): void {
    if (this.held.get(h.unit.id) !== h) return;
    this.held.delete(h.unit.id);
    this.leasesLost += 1;
    this.options.logger.warn({ unit: h.unit.id, token: h.lease.token }, `cluster: stopped a unit: ${why}`);
    const stopped = this.stopUnit(h.unit).finally(() => this.stoppingUnits.delete(h.unit.id));
    this.stoppingUnits.set(h.unit.id, stopped);
  }
}
