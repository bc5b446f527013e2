import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { statusCommand, validateCommand } from './admin-commands.js';
import { backfillCommand } from './backfill.js';
import { collectorActionCommand, reloadCommand } from './control-commands.js';
import { COLLECTOR_ACTIONS } from '../runtime-control.js';
import { describeFailure, UsageError } from './errors.js';
import { CommandOutput, type CommandText } from './output.js';
import { fetchCommand, keysCommand, priceCommand } from './read-commands.js';
import { runCommand } from './run.js';
import { savedStateCommand } from './saved-state.js';
import { schemaCommand } from './schema-command.js';
import { simulateChainCommand } from './simulate-chain.js';
import { simulateCommand } from './simulate.js';

const DEFAULT_CONFIG = process.env.COLLECTOR_CONFIG ?? 'config/default.yaml';

/**
 * Runs the `collector` command line; resolves with the exit code (0 ok, 1 failure, 2 bad input
 * or unreachable storage) once all of its output has reached stdout and stderr, so the caller
 * may exit at once.
 */
export async function main(argv: string[]): Promise<number> {
  const stdout = new CommandOutput(process.stdout);
  const stderr = new CommandOutput(process.stderr);
  const code = await runProgram(argv, stdout, stderr);
  await Promise.all([stdout.flushed(), stderr.flushed()]);
  if (!stdout.error) return code;
  // A reader that left early (EPIPE) is no failure; a disk full under a redirect is.
  await stderr.write(`collector: cannot write the output: ${stdout.error.message}\n`);
  await stderr.flushed();
  return 1;
}

async function runProgram(argv: string[], stdout: CommandOutput, stderr: CommandOutput): Promise<number> {
  let code = 0;
  const print = (text: CommandText) => stdout.print(text);
  const program = new Command()
    .name('collector')
    .description('quoting-collector: collects crypto market data into pluggable storage')
    .version(VERSION)
    .exitOverride()
    .showHelpAfterError('(run collector --help for usage)');
  const configOption = ['-c, --config <file>', 'config file (or $COLLECTOR_CONFIG)', DEFAULT_CONFIG] as const;

  program
    .command('run')
    .description('run the daemon: collect every feed until Ctrl-C (or --duration)')
    .option(...configOption)
    .option('-d, --duration <duration>', 'stop after this long, e.g. 30s, 8h')
    .action(async (opts: { config: string; duration?: string }) => {
      code = await runCommand(opts);
    });

  program
    .command('fetch')
    .description('print the samples of a series; START/END: ms epoch, ISO-8601, now, -1h, now-15m')
    .argument('<key>', 'series key, e.g. trades:binance:BTC-USDT')
    .argument('<start>', 'first timestamp (inclusive)')
    .argument('<end>', 'last timestamp (inclusive)')
    .option(...configOption)
    .option('-f, --format <format>', 'table | json | csv', 'table')
    .option('--bucket <duration>', 'aggregate into buckets of this size, e.g. 1m')
    .option('--agg <aggregation>', 'first|last|min|max|sum|avg|count (with --bucket)')
    .action(async (key: string, start: string, end: string, opts: { config: string; format: string; bucket?: string; agg?: string }) => {
      await print(await fetchCommand(key, start, end, opts));
    });

  program
    .command('keys')
    .description('list the series stored, with first/last timestamp and count')
    .option(...configOption)
    .option('-f, --format <format>', 'table | json | csv', 'table')
    .action(async (opts: { config: string; format: string }) => {
      await print(await keysCommand(opts));
    });

  program
    .command('price')
    .description("a feed's price from what was stored (now, or over START..END), as the updater computes it")
    .argument('<feed>', 'feed name from the config')
    .argument('[start]', 'first timestamp (inclusive)')
    .argument('[end]', 'last timestamp (inclusive), default now')
    .option(...configOption)
    .option('-f, --format <format>', 'table | json | csv', 'table')
    .action(async (feed: string, start: string | undefined, end: string | undefined, opts: { config: string; format: string }) => {
      await print(await priceCommand(feed, start, end, opts));
    });

  program
    .command('validate')
    .description('check a config file and show what it would run')
    .option(...configOption)
    .action(async (opts: { config: string }) => {
      await print(await validateCommand(opts));
    });

  program
    .command('schema')
    .description('print the JSON Schema of config files (editors check and complete them with it: config/schema.json)')
    .action(async () => {
      await print(schemaCommand());
    });

  program
    .command('status')
    .description("print a running daemon's status, or with --redis/--from-storage the state its collectors saved")
    .option('-u, --url <url>', 'daemon base URL (default: from the config http.listen)')
    .option(...configOption)
    .option('--redis <url>', 'read the saved collector state from this Redis, from any machine ($REDIS_PASSWORD overrides the password)')
    .option('--from-storage', "read the saved collector state from the config's storage")
    .option('--cluster', "the daemon's cluster: members, units, owners, lease ages, takeovers")
    .option('--json', 'print the raw JSON')
    .action(async (opts: { url?: string; config: string; json?: boolean; redis?: string; fromStorage?: boolean; cluster?: boolean }) => {
      const sources = [opts.url !== undefined, opts.redis !== undefined, opts.fromStorage === true].filter(Boolean).length;
      if (sources > 1) throw new UsageError('give one of --url, --redis and --from-storage');
      if (opts.cluster && sources > 0 && opts.url === undefined) throw new UsageError('--cluster reads a running daemon: give --url or the config, not --redis/--from-storage');
      await print(opts.redis !== undefined || opts.fromStorage ? await savedStateCommand(opts) : await statusCommand(opts));
    });

  const daemonOptions = (command: Command) =>
    command
      .option('-u, --url <url>', 'daemon base URL (default: from the config http.listen)')
      .option(...configOption)
      .option('--json', 'print the raw JSON answer');

  daemonOptions(
    program.command('reload').description("make the running daemon re-read its config file (as SIGHUP does): feeds added start, removed stop, unchanged ones go on untouched"),
  ).action(async (opts: { url?: string; config: string; json?: boolean }) => {
    await print(await reloadCommand(opts));
  });

  const actionHelp = { restart: 'restart one collector of the running daemon (not counted as a failure)', stop: 'stop one collector of the running daemon until started (kept across reloads)', start: 'start a collector stopped by an operator (or one that gave up)' };
  for (const action of COLLECTOR_ACTIONS) {
    daemonOptions(program.command(action).description(actionHelp[action]).argument('<id>', 'collector id as collector status shows it, e.g. trades:binance')).action(
      async (id: string, opts: { url?: string; config: string; json?: boolean }) => {
        await print(await collectorActionCommand(action, id, opts));
      },
    );
  }

  program
    .command('backfill')
    .description("fill a feed's klines over a range, with a progress bar; DATE: ms epoch, ISO-8601, now, -30d, now-1h")
    .requiredOption('--feed <name>', 'feed name from the config')
    .requiredOption('--from <date>', 'first candle open time (inclusive)')
    .option('--to <date>', 'last candle open time (inclusive), default now')
    .option('--progress', 'draw the progress bar even when stderr is not a terminal')
    .option(...configOption)
    .action(async (opts: { config: string; feed: string; from: string; to?: string; progress?: boolean }) => {
      await print(await backfillCommand(opts));
    });

  program
    .command('simulate')
    .description("serve an exchange's real protocol on loopback with generated trades, or with --chain a local chain with Uniswap pools")
    .option('-e, --exchange <name>', 'exchange to simulate', 'binance')
    .option('--chain', 'a local Ethereum node (anvil) with a Uniswap v2 pair and v3 pool, swapped on at random')
    .option('-p, --port <port>', 'port (0 picks a free one)', '9001')
    .option('-s, --symbols <list>', 'comma-separated BASE-QUOTE symbols', 'BTC-USDT,ETH-USDT')
    .option('-r, --rate <n>', 'trades per second per symbol (--chain: swaps per second)', '20')
    .option('-f, --faults <list>', 'inject faults: drop:<every>, malformed:<every>, stall:<every>[:<for>], reject[:<for>], 429:<every>[:<for>], maintenance:<every>[:<for>], corrupt-book:<every>; e.g. drop:30s,stall:60s:5s')
    .action(async (opts: { exchange: string; port: string; symbols: string; rate: string; faults?: string; chain?: boolean }) => {
      code = opts.chain ? await simulateChainCommand(opts) : await simulateCommand(opts);
    });

  // `-1h` is a relative time, not an option: spell it `now-1h` before commander sees it.
  const args = argv.map((a) => (/^-\d+(\.\d+)?(ms|s|m|h|d|w)$/.test(a) ? `now${a}` : a));
  try {
    await program.parseAsync(args, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    const failure = describeFailure(err);
    await stderr.write(`collector: ${failure.message.split('\n').join('\ncollector: ')}\n`);
    return failure.code;
  }
}
