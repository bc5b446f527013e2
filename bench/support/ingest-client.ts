/**
 * One client of the ingest benchmark in its own process (forked by bench/ingest.ts with an
 * IPC channel), so each measured process runs nothing but that client: no server, no other
 * client's heap or JIT state. argv[2] is a ClientConfig as JSON.
 *
 * For each phase it asks the parent for a session of the loopback stream, runs it, and sends
 * back the SessionResult: warm-up (not reported), the measured run at full speed, and for ours
 * a paced run for latency.
 */
import { runSession, type ClientKind, type SessionResult } from './ingest-clients.js';
import { distinctTimes, lotsOf, makeTape } from './trade-tape.js';

export interface ClientConfig {
  kind: ClientKind;
  /** Length of the tape the parent's stream holds (same seed, so the same trades). */
  tapeLength: number;
  phases: Array<{ phase: string; n: number; ratePerSec: number }>;
  dir: string;
  /** False: ours does not read back what it stored (see SessionContext.verify). */
  verify?: boolean;
}

/** Parent → client. */
export type ToClient = { type: 'session'; id: number; baseUrl: string } | { type: 'error'; message: string };
/** Client → parent. */
export type FromClient =
  | { type: 'session'; n: number; ratePerSec: number }
  | { type: 'result'; phase: string; session: number; result: SessionResult };

function send(message: FromClient): Promise<void> {
  return new Promise((resolve, reject) => process.send!(message, undefined, {}, (err) => (err ? reject(err) : resolve())));
}

function nextReply(): Promise<ToClient> {
  return new Promise((resolve) => process.once('message', (m) => resolve(m as ToClient)));
}

async function main(): Promise<void> {
  if (!process.send) throw new Error('ingest-client: run me through bench/ingest.ts (no IPC channel)');
  const config = JSON.parse(process.argv[2] ?? '') as ClientConfig;
  // The facts each phase checks against; the tape itself (a million strings) is dropped here.
  const facts = (() => {
    const tape = makeTape(config.tapeLength);
    return config.phases.map(({ n }) => ({ firstId: tape.firstId, times: tape.times, distinct: distinctTimes(tape, n), lots: lotsOf(tape, n) }));
  })();
  for (const [i, { phase, n, ratePerSec }] of config.phases.entries()) {
    const tape = facts[i]!;
    const reply = nextReply();
    await send({ type: 'session', n, ratePerSec });
    const session = await reply;
    if (session.type === 'error') throw new Error(session.message);
    const result = await runSession(config.kind, { baseUrl: session.baseUrl, n, tape, dir: config.dir, verify: config.verify });
    await send({ type: 'result', phase, session: session.id, result });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`ingest-client: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
