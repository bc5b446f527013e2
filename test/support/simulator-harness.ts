import { afterEach } from 'vitest';
import type { ExchangeSimulator } from '../../collectors/simulator/controls.js';
import { connectProbe, type ProbeClient } from './probe-client.js';

/** A simulator as the tests of one describe block see it. */
export interface SimulatorHarness<Options, Simulator extends ExchangeSimulator> {
  /** Starts the simulator of this test; it is closed after the test. */
  start(options: Options): Promise<Simulator>;
  /** The simulator the running test started. */
  current(): Simulator;
  /** A probe client on the current simulator at `path` (default: the harness's probePath); terminated after the test. */
  probe(path?: string, options?: { autoPong?: boolean }): Promise<ProbeClient>;
  /** GETs `path` from the current simulator's REST server and parses the JSON body, whatever the status. */
  getJson<Body = Record<string, unknown>>(path: string): Promise<{ status: number; body: Body }>;
}

/**
 * Call inside a describe block: every test there starts its own simulator through the harness,
 * and an afterEach terminates the test's probe clients and closes its simulator, so a failing
 * test leaves no server or socket behind for the next one.
 */
export function useSimulator<Options, Simulator extends ExchangeSimulator>(
  startSimulator: (options: Options) => Promise<Simulator>,
  defaults: { probePath?: string } = {},
): SimulatorHarness<Options, Simulator> {
  let simulator: Simulator | undefined;
  const probes: ProbeClient[] = [];
  afterEach(async () => {
    probes.splice(0).forEach((p) => p.socket.terminate());
    await simulator?.close();
    simulator = undefined;
  });
  const current = (): Simulator => {
    if (!simulator) throw new Error('no simulator started in this test');
    return simulator;
  };
  return {
    start: async (options) => (simulator = await startSimulator(options)),
    current,
    probe: async (path = defaults.probePath ?? '', options) => {
      const client = await connectProbe(`${current().wsUrl}${path}`, options);
      probes.push(client);
      return client;
    },
    getJson: async <Body>(path: string) => {
      const res = await fetch(`${current().restUrl}${path}`);
      return { status: res.status, body: (await res.json()) as Body };
    },
  };
}
