import { setTimeout as sleep } from 'node:timers/promises';
import { CollectorProgress, type DataSourceCollector } from '../../collectors/types.js';
import type { DataCollectionStorage } from '../../storage/types.js';

/** One run of a ScriptedCollector: store `samples` every `everyMs`, then fail/return/keep going. */
export interface RunScript {
  samples?: number;
  everyMs?: number;
  /** After the samples: throw this message, return, keep running with heartbeats only, or hang ignoring abort. */
  then: { throw: string } | 'return' | 'heartbeats' | 'run-until-abort' | 'ignore-abort';
}

/**
 * A collector whose runs follow a script, for testing the orchestrator with a real
 * storage: it stores `ticks:<id>` samples like a real collector would.
 */
export class ScriptedCollector implements DataSourceCollector {
  readonly kind = 'scripted';
  readonly progress = new CollectorProgress();
  readonly keys: string[];
  runs = 0;
  abortedRuns = 0;

  constructor(
    readonly id: string,
    private readonly scripts: RunScript[],
    readonly staleAfterMs?: number,
  ) {
    this.keys = [`ticks:${id}`];
  }

  async run(storage: DataCollectionStorage, signal: AbortSignal): Promise<void> {
    const script = this.scripts[Math.min(this.runs, this.scripts.length - 1)]!;
    this.runs += 1;
    try {
      for (let i = 0; i < (script.samples ?? 0) && !signal.aborted; i++) {
        const t = Date.now();
        await storage.store(this.keys[0]!, 1, this.progress.itemsStored + 1);
        this.progress.recordStored(1, t);
        await sleep(script.everyMs ?? 1, undefined, { signal });
      }
      const then = script.then;
      if (typeof then === 'object') throw new Error(then.throw);
      if (then === 'return') return;
      if (then === 'ignore-abort') return await new Promise(() => {});
      while (!signal.aborted) {
        if (then === 'heartbeats') this.progress.recordHeartbeat();
        await sleep(5, undefined, { signal });
      }
    } catch (err) {
      if (signal.aborted) {
        this.abortedRuns += 1;
        return;
      }
      throw err;
    }
  }
}
