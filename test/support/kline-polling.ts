/**
 * Running a KlinePoller against a simulator in a test, and reading what it left: the open times
 * neither stored nor recorded missing.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach } from 'vitest';
import { KlinePoller, type KlinePollerOptions } from '../../collectors/klines/kline-poller.js';
import type { KlineProtocol } from '../../collectors/klines/protocol.js';
import { PoliteRestClient } from '../../collectors/rest/rest-client.js';
import { silentLogger } from '../../common/logger.js';
import type { DataCollectionStorage } from '../../storage/types.js';

export const MINUTE = 60_000;

/** What the tests of a file started; stopped after each test (call at the top level of the file). */
export function stopAfterEach(): Array<{ stop: () => Promise<void> }> {
  const running: Array<{ stop: () => Promise<void> }> = [];
  afterEach(async () => {
    for (const r of running.splice(0)) await r.stop();
  });
  return running;
}

/** Starts a poller on `storage`; `running` stops it after the test. */
export function runPoller(
  running: Array<{ stop: () => Promise<void> }>,
  storage: DataCollectionStorage,
  options: KlinePollerOptions,
): { poller: KlinePoller; done: Promise<void>; stop: () => Promise<void> } {
  const poller = new KlinePoller({ logger: silentLogger, closeDelayMs: 200, healthRetryMs: 200, ...options });
  const abort = new AbortController();
  const done = poller.run(storage, abort.signal);
  const handle = {
    poller,
    done,
    stop: async () => {
      abort.abort();
      await done.catch(() => undefined);
    },
  };
  running.push(handle);
  return handle;
}

/** Waits until `check` holds, or fails after `ms`. */
export async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Open times in [from, to] neither stored nor recorded missing. */
export async function holes(storage: DataCollectionStorage, key: string, gapsKey: string, from: number, to: number, interval: number): Promise<number[]> {
  const known = new Set((await storage.fetch(key, from, to)).map(([t]) => t));
  for (const [, v] of await storage.fetch(gapsKey, 0, to)) {
    const { first_open_time: first, last_open_time: last } = v as Record<string, number>;
    for (let t = first!; t <= last!; t += interval) known.add(t);
  }
  const out: number[] = [];
  for (let t = from; t <= to; t += interval) if (!known.has(t)) out.push(t);
  return out;
}

/** A client on its own (not the process's shared one), so each test starts with a full bucket. */
export function freshClient(protocol: KlineProtocol, options: { maxAttempts?: number } = {}): PoliteRestClient {
  return new PoliteRestClient({ label: protocol.exchange, logger: silentLogger, limits: protocol.limits, backoffMs: 100, ...options });
}
