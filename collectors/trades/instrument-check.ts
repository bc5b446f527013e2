import type { Logger } from '../../common/logger.js';
import { heldBy, restClientFor, type ConnectionHolder, type RestLimits } from '../rest/rest-client.js';
import type { SymbolTable } from '../ws/symbol-table.js';
import type { InstrumentList, ListedInstrument } from './instruments.js';

// The list is a check, not a prerequisite: a REST API that does not answer within this long is
// passed over, so an outage delays collecting once by at most this (the request is tried once).
const LIST_WAIT_MS = 5_000;
// Listed symbols suggested for each unlisted one.
const SUGGESTIONS = 3;

/** What checking a connection's symbols needs. */
export interface InstrumentCheckOptions {
  exchange: string;
  /** The exchange's instrument list; without one nothing is checked. */
  instruments: InstrumentList | undefined;
  symbols: SymbolTable;
  /** Where to ask; undefined when there is none (only `wsUrl` overridden: production lists would not fit). */
  restUrl: string | undefined;
  /** The exchange's REST limits, shared with its other REST uses. */
  restLimits?: RestLimits;
  logger: Logger;
  signal: AbortSignal;
  /** An answer this old (ms) is asked for again: how soon a symbol listed or delisted meanwhile is noticed. */
  maxAgeMs: number;
  /** The collector asking: the request counts among its connections. */
  progress: ConnectionHolder;
}

// Per exchange, REST URL and symbols: the last answer (unlisted symbol → why), shared by the runs of
// a process until it is `maxAgeMs` old, so restarts do not ask again and again.
const outcomes = new Map<string, { at: number; unlisted: Promise<ReadonlyMap<string, string>> }>();

/**
 * The configured symbols the exchange does not list, each with a reason naming the exchange, the
 * symbol and a few close listed ones: an exchange acknowledging such a subscription (Binance)
 * would otherwise stream nothing for it without a word. Empty when all are listed, and when the
 * list cannot be had (warned about), so collecting goes on with the configured spelling.
 */
export async function unlistedSymbols(options: InstrumentCheckOptions): Promise<ReadonlyMap<string, string>> {
  const { exchange, instruments, symbols, restUrl, signal, maxAgeMs } = options;
  if (!instruments) return new Map();
  const key = `${exchange} ${restUrl ?? '-'} ${symbols.unified.join(',')}`;
  const now = Date.now();
  let outcome = outcomes.get(key);
  if (!outcome || now - outcome.at >= maxAgeMs) outcomes.set(key, (outcome = { at: now, unlisted: checkOnce(options) }));
  return (await untilAborted(outcome.unlisted, signal)) ?? new Map();
}

/** Fetches the list and compares; never rejects. */
async function checkOnce({ exchange, instruments, symbols, restUrl, restLimits, logger, progress }: InstrumentCheckOptions): Promise<ReadonlyMap<string, string>> {
  const unlisted = new Map<string, string>();
  if (restUrl === undefined) {
    logger.warn({ exchange }, `no REST URL for ${exchange} (only wsUrl is configured): symbols are not checked against its instrument list`);
    return unlisted;
  }
  const wanted = symbols.unified.map((symbol) => symbols.toExchange(symbol));
  let listed: ListedInstrument[];
  try {
    const http = heldBy(restClientFor(exchange, restUrl, logger, restLimits), progress);
    listed = await instruments!.fetch({ wanted, restUrl, http, signal: AbortSignal.timeout(LIST_WAIT_MS) });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    logger.warn({ exchange, reason }, `cannot fetch ${exchange}'s instrument list: collecting the configured symbols unchecked`);
    return unlisted;
  }
  const byExchangeSymbol = new Map(listed.map((instrument) => [instrument.exchangeSymbol, instrument]));
  for (const symbol of symbols.unified) {
    const exchangeSymbol = symbols.toExchange(symbol);
    const instrument = byExchangeSymbol.get(exchangeSymbol);
    if (!instrument) {
      unlisted.set(symbol, `${exchange} does not list ${symbol}${exchangeSymbol !== symbol ? ` (${exchangeSymbol})` : ''}; ${closeOnes(symbol, listed)}`);
    } else if (!instrument.trading) {
      logger.warn({ exchange, symbol, status: instrument.status }, `${exchange} lists ${symbol} but it is not trading now (${instrument.status}): no trades until it is`);
    }
  }
  return unlisted;
}

/** "close listed ones: A, B, C", nearest by edit distance, same base or quote first among equals. */
function closeOnes(symbol: string, listed: readonly ListedInstrument[]): string {
  if (listed.length === 0) return 'it lists no instrument at all';
  const [base, quote] = symbol.split('-');
  const score = ({ unified }: ListedInstrument): number => {
    const [b, q] = unified.split('-');
    return editDistance(symbol, unified) - (b === base || q === quote ? 0.5 : 0);
  };
  const nearest = listed
    .map((instrument) => ({ unified: instrument.unified, score: score(instrument) }))
    .sort((a, b) => a.score - b.score || a.unified.localeCompare(b.unified))
    .slice(0, SUGGESTIONS)
    .map((entry) => entry.unified);
  return `close listed ones: ${nearest.join(', ')}`;
}

/** Levenshtein distance: insertions, deletions and substitutions. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** `promise`'s value, or undefined as soon as `signal` aborts (the run is stopping; the check goes on for later runs). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const onAbort = (): void => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    void promise.then((value) => {
      signal.removeEventListener('abort', onAbort);
      resolve(value);
    });
  });
}
