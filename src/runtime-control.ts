import { isDeepStrictEqual } from 'node:util';
import type { TradeTap } from '../collectors/trades/trade-tap.js';
import { buildFeeds } from '../feeds/load.js';
import type { Feed, KindLookup } from '../feeds/types.js';
import type { Logger } from '../common/logger.js';
import { maskSecrets } from '../common/sanitize.js';
import type { RestartPolicy } from './backoff.js';
import { ConfigError } from './config/errors.js';
import { loadConfig, type CollectorConfig } from './config/load.js';
import { collectorFingerprints, collectorsOf } from './config-collectors.js';
import { createContainer, registryOf } from './container.js';
import { checkDexPools } from './dex-pools.js';
import type { CollectorStatus, ConfigStatus, DataCollector } from './data-collector.js';
import type { HealthPolicy } from './health.js';
import { fixedSettingProblems, planReload, touchesNoCollector, type ReloadPlan } from './reload-plan.js';

/** What an operator may do to one collector (POST /collectors/<id>/<action>, `collector <action> <id>`). */
export type CollectorAction = 'restart' | 'stop' | 'start';
export const COLLECTOR_ACTIONS: readonly CollectorAction[] = ['restart', 'stop', 'start'];

/** A control request refused: the HTTP status it answers with (404 unknown collector, 409 not now or not here). */
export class ControlError extends Error {
  constructor(
    readonly status: 404 | 409,
    message: string,
    /** For an unknown collector: the ids there are. */
    readonly known?: string[],
  ) {
    super(message);
    this.name = 'ControlError';
  }
}

/** A reload that was applied: the collectors by what happened to them, the feeds now, the settings taken over. */
export interface ReloadApplied {
  result: 'applied';
  file: string;
  started: string[];
  stopped: string[];
  restarted: string[];
  unchanged: string[];
  /** New or changed collectors an operator had stopped: they stay stopped. */
  keptStopped: string[];
  feeds: string[];
  /** Sections besides feeds and exchanges that changed and now apply: `health`, `collector`, `log`. */
  settings: string[];
}

/** A reload refused: the running config stays; `error` is what `collector validate` would print for the file. */
export interface ReloadRefused {
  result: 'refused';
  file: string;
  error: string;
}

export type ReloadOutcome = ReloadApplied | ReloadRefused;

/** The restart policy a config sets for the collectors. */
export function restartPolicyOf(config: CollectorConfig): Partial<RestartPolicy> {
  const { restart } = config.collector;
  return { initialDelayMs: restart.initialDelay, maxDelayMs: restart.maxDelay, resetAfterMs: restart.resetAfter, maxRestarts: restart.maxRestarts };
}

/** The health policy a config sets. */
export function healthPolicyOf(config: CollectorConfig): HealthPolicy {
  const { health } = config;
  return { graceMs: health.grace, noDataForMs: health.noDataFor, storageFailingForMs: health.storageFailingFor, maxBacklog: health.maxBacklog };
}

/** Sections applied in place by a reload (feeds and exchanges act through the collectors). */
const APPLIED_IN_PLACE = ['health', 'collector', 'log'] as const;

export interface RuntimeControlOptions {
  /** The config the daemon started with, its feeds and the kinds they were built with. */
  config: CollectorConfig;
  feeds: Feed[];
  registry: KindLookup;
  collector: DataCollector;
  /** The daemon's trade tap: collectors built by a reload share it with those kept. */
  trades: TradeTap;
  /** The health policy object the status server reads: a reload updates it in place. */
  health: HealthPolicy;
  logger: Logger;
}

/**
 * Changes a running daemon without restarting it: reloads its config file (SIGHUP, POST
 * /reload) and stops, starts or restarts one collector for an operator. One change at a time.
 */
export class RuntimeControl {
  private config: CollectorConfig;
  private currentFeeds: Feed[];
  /** What each running collector collects and how (collectorFingerprints), by id. */
  private fingerprints: Map<string, string>;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private loadedAt = Date.now();
  private readonly reloads = { applied: 0, refused: 0 };
  private lastReload: ConfigStatus['lastReload'] = null;

  constructor(private readonly options: RuntimeControlOptions) {
    this.config = options.config;
    this.currentFeeds = options.feeds;
    this.fingerprints = collectorFingerprints(options.config, options.feeds, options.registry, options.collector.collectors);
  }

  /** The running config (the last one applied). */
  get runningConfig(): CollectorConfig {
    return this.config;
  }

  get feeds(): Feed[] {
    return this.currentFeeds;
  }

  status(): ConfigStatus {
    return { file: this.config.file, loadedAt: new Date(this.loadedAt).toISOString(), reloads: { ...this.reloads }, lastReload: this.lastReload };
  }

  /**
   * Reads the config file again and applies it: collectors added start, removed ones stop as at
   * shutdown, changed ones restart, unchanged ones are not touched. A config that does not
   * validate, or that changes what cannot change while running, is refused and the running one stays.
   */
  reload(trigger: string): Promise<ReloadOutcome> {
    return this.serial(() => this.applyReload(trigger));
  }

  /** Stops, starts or restarts collector `id`; resolves with its status after. Throws ControlError when refused. */
  act(id: string, action: CollectorAction): Promise<CollectorStatus> {
    return this.serial(async () => {
      const { collector, logger } = this.options;
      const current = collector.status().collectors;
      const known = current.map((c) => c.id);
      const target = current.find((c) => c.id === id);
      if (!target) throw new ControlError(404, `no collector ${JSON.stringify(id)}; known: ${known.join(', ') || '(none)'}`, known);
      if (this.config.cluster && action !== 'restart') {
        throw new ControlError(409, `cannot ${action} ${id}: in a cluster the leases decide which daemon runs it; remove it from every member's config, or restart it`);
      }
      if (this.config.cluster && target.state === 'standby') {
        throw new ControlError(409, `cannot restart ${id}: another daemon of the cluster runs it (standby here); restart it there`);
      }
      logger.info({ collector: id, action }, 'operator request');
      if (action === 'stop') await collector.stopByOperator(id);
      else if (action === 'start') collector.startByOperator(id);
      else await collector.restartCollector(id);
      return collector.status().collectors.find((c) => c.id === id)!;
    });
  }

  /** Refuses further changes and waits for the one under way (the daemon is stopping). */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
  }

  private serial<T>(change: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new ControlError(409, 'the daemon is stopping'));
    const run = this.queue.then(change);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async applyReload(trigger: string): Promise<ReloadOutcome> {
    const { file } = this.config;
    let next: CollectorConfig;
    let feeds: Feed[];
    let fingerprints: Map<string, string>;
    let plan: ReloadPlan;
    try {
      // A fresh container: the new config's plugins and kinds are checked as `collector validate` checks them.
      const container = createContainer({ logger: this.options.logger });
      next = await loadConfig(file, container);
      const fixed = fixedSettingProblems(this.config, next);
      if (fixed.length > 0) throw new ConfigError(file, fixed);
      const registry = registryOf(container);
      feeds = buildFeeds(next.feeds, registry);
      const collectors = collectorsOf(next, feeds, registry, this.options.logger, this.options.trades);
      fingerprints = collectorFingerprints(next, feeds, registry, collectors);
      plan = planReload(this.fingerprints, collectors, fingerprints);
      // A wrong pool is refused as at start (`collector run`); a chain that does not answer is not.
      for (const feed of (await checkDexPools(next)).unreachable) this.options.logger.warn({ feed }, 'chain unreachable at reload: the pool is read once it answers');
      if (next.cluster && !touchesNoCollector(plan)) {
        throw new ConfigError(file, [
          'feeds: in a cluster a reload cannot change the collectors (every member must make the same units); ' +
            'restart the members one by one with the new config, or put the feeds back to reload the rest',
        ]);
      }
    } catch (err) {
      return this.refuse(trigger, file, err);
    }
    return this.apply(trigger, next, feeds, fingerprints, plan);
  }

  private refuse(trigger: string, file: string, err: unknown): ReloadRefused {
    // The text `collector validate` prints for this file (it masks secrets the same way).
    const error = maskSecrets(err instanceof Error ? err.message : String(err));
    this.reloads.refused += 1;
    this.lastReload = { at: new Date().toISOString(), result: 'refused', message: error };
    this.options.logger.error({ trigger, config: file, err: error }, 'config reload refused; the running config stays');
    return { result: 'refused', file, error };
  }

  private async apply(trigger: string, next: CollectorConfig, feeds: Feed[], fingerprints: Map<string, string>, plan: ReloadPlan): Promise<ReloadApplied> {
    const { collector, logger } = this.options;
    const heldStopped = new Set(collector.status().collectors.filter((c) => c.stoppedByOperator).map((c) => c.id));
    await Promise.all([...plan.removed.map((id) => collector.removeCollector(id)), ...plan.changed.map((c) => collector.replaceCollector(c))]);
    for (const c of plan.added) collector.addCollector(c);

    const settings = APPLIED_IN_PLACE.filter((section) => !isDeepStrictEqual(this.config[section], next[section]));
    collector.setRestartPolicy(restartPolicyOf(next));
    Object.assign(this.options.health, healthPolicyOf(next));
    // LOG_LEVEL in the environment wins, as at start.
    if (next.log.level !== this.config.log.level && process.env.LOG_LEVEL === undefined) logger.level = next.log.level;

    this.config = next;
    this.currentFeeds = feeds;
    this.fingerprints = fingerprints;
    this.loadedAt = Date.now();
    const outcome: ReloadApplied = {
      result: 'applied',
      file: next.file,
      started: plan.added.map((c) => c.id),
      stopped: plan.removed,
      restarted: plan.changed.filter((c) => !heldStopped.has(c.id)).map((c) => c.id),
      unchanged: plan.unchanged,
      keptStopped: plan.changed.filter((c) => heldStopped.has(c.id)).map((c) => c.id),
      feeds: feeds.map((f) => f.name),
      settings,
    };
    this.reloads.applied += 1;
    this.lastReload = { at: new Date().toISOString(), result: 'applied', message: describeReload(outcome) };
    logger.info({ trigger, config: next.file, ...outcome }, 'config reloaded');
    return outcome;
  }
}

/** One line saying what a reload applied, for `collector reload` and `/status`. */
export function describeReload(outcome: ReloadApplied): string {
  const list = (ids: string[]) => (ids.length ? ids.join(', ') : '-');
  return [
    `started ${list(outcome.started)}`,
    `stopped ${list(outcome.stopped)}`,
    `restarted ${list(outcome.restarted)}`,
    ...(outcome.keptStopped.length ? [`changed but kept stopped by operator ${list(outcome.keptStopped)}`] : []),
    `${outcome.unchanged.length} unchanged`,
    `${outcome.feeds.length} feed(s)`,
    ...(outcome.settings.length ? [`settings applied: ${outcome.settings.join(', ')}`] : []),
  ].join('; ');
}
