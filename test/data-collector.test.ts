import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../src/backoff.js';
import { DataCollector } from '../src/data-collector.js';
import { MemoryStorage } from '../storage/memory.js';
import { ScriptedCollector } from './support/scripted-collector.js';

const fast = { initialDelayMs: 10, maxDelayMs: 40, resetAfterMs: 10_000 };

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe('DataCollector', () => {
  it('runs collectors in parallel and restarts one that throws without disturbing the others', async () => {
    const storage = new MemoryStorage();
    const flaky = new ScriptedCollector('flaky', [{ samples: 2, then: { throw: 'socket closed by peer' } }]);
    const steady = new ScriptedCollector('steady', [{ samples: 1_000_000, everyMs: 2, then: 'run-until-abort' }]);
    const dc = new DataCollector([flaky, steady], storage, { restart: fast, watchdogIntervalMs: 20 });
    dc.start();
    await until('three restarts of flaky', () => flaky.runs >= 4);
    const status = dc.status();
    const f = status.collectors.find((c) => c.id === 'flaky')!;
    const s = status.collectors.find((c) => c.id === 'steady')!;
    expect(f.restarts).toBeGreaterThanOrEqual(3);
    expect(f.lastError).toBe('socket closed by peer');
    expect(s.state).toBe('running');
    expect(s.restarts).toBe(0);
    expect(steady.runs).toBe(1);
    expect(await dc.stop()).toBe(true);
    expect(dc.status().collectors.every((c) => c.state === 'stopped')).toBe(true);
    expect(steady.abortedRuns).toBe(1);
  });

  it('restarts a collector that returns on its own and says so', async () => {
    const c = new ScriptedCollector('quits', [{ samples: 1, then: 'return' }]);
    const dc = new DataCollector([c], new MemoryStorage(), { restart: fast });
    dc.start();
    await until('a restart', () => c.runs >= 2);
    expect(dc.status().collectors[0]!.lastError).toBe('returned on its own');
    await dc.stop();
  });

  it('marks a collector failed after its restart limit, and keeps the others running', async () => {
    const bad = new ScriptedCollector('bad', [{ then: { throw: 'HTTP 451' } }]);
    const good = new ScriptedCollector('good', [{ samples: 1_000_000, everyMs: 2, then: 'run-until-abort' }]);
    const dc = new DataCollector([bad, good], new MemoryStorage(), { restart: { ...fast, maxRestarts: 2 } });
    dc.start();
    await until('bad to fail', () => dc.status().collectors[0]!.state === 'failed');
    const [b, g] = dc.status().collectors;
    expect(bad.runs).toBe(3);
    expect(b!.restarts).toBe(2);
    expect(b!.lastError).toBe('HTTP 451');
    expect(g!.state).toBe('running');
    await dc.stop();
  });

  it('restarts a collector that only sends heartbeats for longer than staleAfter', async () => {
    const silent = new ScriptedCollector('silent', [{ samples: 1, then: 'heartbeats' }, { samples: 1_000_000, everyMs: 2, then: 'run-until-abort' }], 150);
    const dc = new DataCollector([silent], new MemoryStorage(), { restart: fast, watchdogIntervalMs: 10 });
    dc.start();
    await until('the watchdog restart', () => silent.runs >= 2);
    const st = dc.status().collectors[0]!;
    expect(st.restarts).toBe(1);
    expect(st.lastError).toMatch(/no data for \d+ s \(staleAfter 150 ms\)/);
    expect(silent.progress.lastHeartbeatAt).toBeDefined();
    await dc.stop();
  });

  it('on stop aborts every collector, flushes and closes storage, and what was stored is complete', async () => {
    const storage = new MemoryStorage();
    const collectors = ['a', 'b', 'c'].map((id) => new ScriptedCollector(id, [{ samples: 1_000_000, everyMs: 1, then: 'run-until-abort' }]));
    const dc = new DataCollector(collectors, storage, { restart: fast });
    dc.start();
    await until('some data from each', () => collectors.every((c) => c.progress.itemsStored > 5));
    expect(await dc.stop()).toBe(true);
    expect(dc.status().state).toBe('stopped');
    await expect(storage.fetch('ticks:a', 0, Number.MAX_SAFE_INTEGER)).rejects.toThrow(/closed/);
  });

  it('abandons a collector that ignores abort, within a bounded time', async () => {
    const stuck = new ScriptedCollector('stuck', [{ then: 'ignore-abort' }]);
    const dc = new DataCollector([stuck], new MemoryStorage(), { restart: fast, abandonAfterMs: 50 });
    dc.start();
    await sleep(20);
    expect(await dc.stop(2_000)).toBe(true);
  });

  it('reports uptime, items stored and items/s, and never shows secrets or stacks', async () => {
    const leaky = new ScriptedCollector('leaky', [
      { samples: 3, then: { throw: 'connect failed to wss://user:hunter2@example.com/ws?apiKey=SECRET123&x=1\n    at Socket.connect (node:net:1)' } },
      { samples: 1_000_000, everyMs: 2, then: 'run-until-abort' },
    ]);
    const dc = new DataCollector([leaky], new MemoryStorage(), { restart: fast, watchdogIntervalMs: 20 });
    dc.start();
    await until('the second run to store', () => leaky.runs >= 2 && leaky.progress.itemsStored > 50);
    await sleep(600);
    const st = dc.status();
    const c = st.collectors[0]!;
    expect(c.lastError).toBe('connect failed to wss://user:***@example.com/ws?apiKey=***&x=1');
    expect(c.itemsStored).toBeGreaterThan(50);
    expect(c.itemsPerSecond).toBeGreaterThan(0);
    expect(c.lastDataAt).not.toBeNull();
    expect(st.uptimeSeconds).toBeGreaterThanOrEqual(0);
    expect(st.storage.backend).toBe('memory');
    expect(st.storage.writtenPerSecond).toBeGreaterThan(0);
    await dc.stop();
  });
});

describe('DataCollector under operator control', () => {
  const slow = { initialDelayMs: 60_000, maxDelayMs: 60_000, resetAfterMs: 60_000 };

  it('restart cuts a backoff short and starts a new run at once, counting no failure', async () => {
    const c = new ScriptedCollector('flaky', [{ then: { throw: 'refused' } }, { samples: 1_000_000, everyMs: 2, then: 'run-until-abort' }]);
    const dc = new DataCollector([c], new MemoryStorage(), { restart: slow });
    dc.start();
    await until('a backoff of a minute', () => dc.status().collectors[0]!.state === 'backing-off');
    await dc.restartCollector('flaky');
    await until('the second run to store', () => c.progress.itemsStored > 0);
    expect(dc.status().collectors[0]).toMatchObject({ state: 'running', restarts: 1, lastError: 'refused' });
    // A restart of a running collector: its run is aborted (not failed) and a new one begins.
    await dc.restartCollector('flaky');
    expect(c.runs).toBe(3);
    expect(c.abortedRuns).toBe(1);
    expect(dc.status().collectors[0]).toMatchObject({ state: 'running', restarts: 1 });
    await dc.stop();
  });

  it('stop keeps a collector stopped (a failed one too) until started; its data is flushed and its state saved', async () => {
    const storage = new MemoryStorage();
    const steady = new ScriptedCollector('steady', [{ samples: 1_000_000, everyMs: 2, then: 'run-until-abort' }]);
    const bad = new ScriptedCollector('bad', [{ then: { throw: 'HTTP 451' } }]);
    const dc = new DataCollector([steady, bad], storage, { restart: { ...fast, maxRestarts: 1 } });
    dc.start();
    await until('steady to store and bad to fail', () => steady.progress.itemsStored > 5 && dc.status().collectors[1]!.state === 'failed');
    await dc.stopByOperator('steady');
    await dc.stopByOperator('bad');
    expect(dc.status().collectors.map((c) => [c.id, c.state, c.stoppedByOperator])).toEqual([
      ['steady', 'stopped', true],
      ['bad', 'stopped', true],
    ]);
    expect(storage.stats().buffered).toBe(0);
    expect((await storage.collectorState.load('steady'))?.state).toBe('stopped');
    expect(steady.abortedRuns).toBe(1);
    const stored = steady.progress.itemsStored;
    dc.startByOperator('steady');
    await until('steady to store again', () => steady.progress.itemsStored > stored);
    expect(dc.status().collectors[0]).toMatchObject({ state: 'running', stoppedByOperator: false, restarts: 0 });
    await dc.stop();
  });

  it('adds, replaces and removes collectors while running; a replaced one an operator stopped stays stopped', async () => {
    const storage = new MemoryStorage();
    const a = new ScriptedCollector('a', [{ samples: 1_000_000, everyMs: 2, then: 'run-until-abort' }]);
    const b = new ScriptedCollector('b', [{ samples: 1_000_000, everyMs: 2, then: 'run-until-abort' }]);
    const dc = new DataCollector([a, b], storage, { restart: fast });
    dc.start();
    await dc.stopByOperator('b');
    const b2 = new ScriptedCollector('b', [{ samples: 1_000_000, everyMs: 2, then: 'run-until-abort' }]);
    await dc.replaceCollector(b2);
    const c = new ScriptedCollector('c', [{ samples: 1_000_000, everyMs: 2, then: 'run-until-abort' }]);
    dc.addCollector(c);
    expect(() => dc.addCollector(new ScriptedCollector('c', [{ then: 'return' }]))).toThrow(/two collectors have the id c/);
    await until('c to store', () => c.progress.itemsStored > 0);
    await dc.removeCollector('a');
    expect(a.abortedRuns).toBe(1);
    expect(dc.collectors).toEqual([b2, c]);
    expect(b2.runs).toBe(0);
    expect(dc.status().collectors.map((x) => [x.id, x.state, x.stoppedByOperator])).toEqual([
      ['b', 'stopped', true],
      ['c', 'running', false],
    ]);
    await dc.stop();
  });
});

describe('backoffDelay', () => {
  const policy = { initialDelayMs: 1_000, maxDelayMs: 60_000, resetAfterMs: 60_000 };
  it('doubles from the first delay up to the cap, with jitter in the upper half', () => {
    expect([0, 1, 2, 3, 6, 7, 20].map((a) => backoffDelay(policy, a, () => 1))).toEqual([1_000, 2_000, 4_000, 8_000, 60_000, 60_000, 60_000]);
    expect(backoffDelay(policy, 0, () => 0)).toBe(500);
    expect(backoffDelay(policy, 10, () => 0)).toBe(30_000);
  });
});
