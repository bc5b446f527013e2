import type { Exchange } from '../../collectors/exchange.js';
import { exchanges } from '../../collectors/exchanges/index.js';
import { UsageError } from './errors.js';
import { describeFault, parseFaults, scheduleFaults, type FaultPlan } from './faults.js';

/**
 * `collector simulate`: a local server speaking an exchange's real protocol, generating
 * trades, until Ctrl-C. Point a config's `exchanges.<name>` at the URLs it prints.
 */
export async function simulateCommand(opts: { exchange: string; port: string; symbols: string; rate: string; faults?: string }): Promise<number> {
  const start: Exchange['simulator'] = exchanges.find((exchange) => exchange.name === opts.exchange)?.simulator;
  if (!start) {
    const available = exchanges.filter((exchange) => exchange.simulator).map((exchange) => exchange.name);
    throw new UsageError(`--exchange: no simulator for ${opts.exchange}; available: ${available.join(', ')}`);
  }
  const port = Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError(`--port: expected 0 to 65535, got ${opts.port}`);
  const tradesPerSecond = Number(opts.rate);
  if (!Number.isFinite(tradesPerSecond) || tradesPerSecond < 0) throw new UsageError(`--rate: expected trades per second ≥ 0, got ${opts.rate}`);
  const symbols = opts.symbols.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = symbols.find((s) => !/^[A-Z0-9]+-[A-Z0-9]+$/.test(s));
  if (bad !== undefined || symbols.length === 0) throw new UsageError(`--symbols: expected BASE-QUOTE,... in upper case, got ${JSON.stringify(bad ?? opts.symbols)}`);
  let faults: FaultPlan[] = [];
  try {
    faults = parseFaults(opts.faults ?? '');
  } catch (err) {
    throw new UsageError(`--faults: ${(err as Error).message}`);
  }
  const sim = await start({ port, symbols, tradesPerSecond });
  if (!sim.corruptNextBookUpdate && faults.some((plan) => plan.fault === 'corrupt-book')) {
    await sim.close();
    throw new UsageError(`--faults: corrupt-book: the ${opts.exchange} simulator has no order book`);
  }
  process.stdout.write(
    `${opts.exchange} simulator: ${symbols.join(', ')} at ${tradesPerSecond} trades/s each\n` +
      `  exchanges: { ${opts.exchange}: { wsUrl: "${sim.wsUrl}", restUrl: "${sim.restUrl}" } }\n` +
      (faults.length ? `  faults: ${faults.map(describeFault).join(', ')}\n` : '') +
      'Ctrl-C stops.\n',
  );
  // After the banner: `reject` strikes at once.
  const stopFaults = scheduleFaults(sim, faults, (plan) => process.stdout.write(`fault: ${plan.fault}\n`));
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  stopFaults();
  await sim.close();
  return 0;
}
