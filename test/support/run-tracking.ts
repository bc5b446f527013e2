/** A collector's run promise, and whether it has settled yet. */
export interface TrackedRun {
  run: Promise<void>;
  settled(): boolean;
}

/**
 * Tracks whether a run promise has settled, so a test can check a collector is still running.
 * Both outcomes are handled here, so a run that rejects after the test stopped looking
 * (say, when afterEach closes the simulator) is never reported as an unhandled rejection.
 */
export function trackRun(run: Promise<void>): TrackedRun {
  let settled = false;
  run.then(
    () => (settled = true),
    () => (settled = true),
  );
  return { run, settled: () => settled };
}
