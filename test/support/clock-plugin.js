// An example plugin, as a user would write one (in their code: `from 'quoting-collector'`):
// a `clock` collector kind that stores a tick every `everyMs`, and a `clock-count` feed kind
// that prices a feed as the number of ticks in its window. Loaded through `plugins:` in a config.
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { BaseFeed, CollectorProgress, registerCollectorKind, registerFeedKind } from '../../dist/src/index.js';

/** Stores `{ tick: n }` under `clock:<exchange>:<SYMBOL>` every `everyMs` ms. */
class ClockCollector {
  kind = 'clock';
  progress = new CollectorProgress();

  constructor(requirements, everyMs) {
    this.id = `clock:${requirements.map((r) => r.symbol).join(',')}`;
    this.keys = requirements.flatMap((r) => r.keys);
    this.staleAfterMs = Math.min(...requirements.map((r) => r.staleAfterMs ?? Infinity));
    if (!Number.isFinite(this.staleAfterMs)) this.staleAfterMs = undefined;
    this.everyMs = everyMs;
    this.tick = 0;
  }

  async run(storage, signal) {
    for (const key of this.keys) {
      await storage.declare({ key, fields: { tick: 'last' }, labels: { kind: 'clock' } });
    }
    while (!signal.aborted) {
      const now = Date.now();
      this.tick += 1;
      await storage.storeMany(this.keys.map((key) => ({ key, value: { tick: this.tick }, timestamp: now })));
      this.progress.recordStored(this.keys.length, now);
      await sleep(this.everyMs, undefined, { signal }).catch(() => {});
    }
  }
}

export const clockCollectorKind = {
  name: 'clock',
  keysFor(exchange, symbol, arg) {
    if (arg !== undefined && !/^\d+ms$/.test(arg)) throw new Error(`clock takes an interval like 50ms, got ${arg}`);
    return [`clock:${exchange}:${symbol}`];
  },
  create(requirements) {
    const everyMs = Number((requirements.find((r) => r.arg)?.arg ?? '50ms').replace('ms', ''));
    return [new ClockCollector(requirements, everyMs)];
  },
};

class ClockCountFeed extends BaseFeed {
  constructor(config, params, resolver) {
    super('clock-count', config, resolver, ['clock']);
    this.windowMs = params.windowMs;
  }
  lookbackMs() {
    return this.windowMs;
  }
  async read(storage, start, end) {
    const samples = await storage.fetch(this.keyOf('clock'), start, end);
    return samples.map(([t], i) => [t, i + 1]);
  }
}

export const clockCountFeedKind = {
  name: 'clock-count',
  params: z.object({ windowMs: z.number().int().positive().default(1000) }),
  create: (config, params, resolver) => new ClockCountFeed(config, params, resolver),
};

/** Called by the collector with its container when the config lists this file under `plugins`. */
export function register(container) {
  registerCollectorKind(container, clockCollectorKind);
  registerFeedKind(container, clockCountFeedKind);
}
