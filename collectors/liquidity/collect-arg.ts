import { parseDuration } from '../../common/duration.js';

/** How a `liquidity` requirement is collected. */
export interface LiquidityMode {
  /** `ws`: the exchange's WebSocket book channel; `rest`: polling its REST depth endpoint. */
  source: 'ws' | 'rest';
  /** A snapshot is stored every this many ms. */
  intervalMs: number;
}

export const DEFAULT_LIQUIDITY_INTERVAL_MS = 1_000;
// Below this a snapshot says nothing new (the fastest book channels push every 100 ms) and REST
// polling would hit rate limits.
const MIN_INTERVAL_MS = 100;

const USAGE = 'expected liquidity, liquidity:ws, liquidity:rest, or one of them with an interval, e.g. liquidity:rest:5s or liquidity:2s';

/**
 * Reads what follows `liquidity:` in a `collect` entry: `[ws|rest][:<interval>]` in either order
 * of omission (`ws`, `rest:5s`, `500ms`); nothing means WebSocket every second.
 */
export function parseLiquidityArg(arg: string | undefined): LiquidityMode {
  if (arg === undefined) return { source: 'ws', intervalMs: DEFAULT_LIQUIDITY_INTERVAL_MS };
  const parts = arg.split(':');
  let source: LiquidityMode['source'] = 'ws';
  if (parts[0] === 'ws' || parts[0] === 'rest') source = parts.shift() as LiquidityMode['source'];
  if (parts.length > 1) throw new Error(`bad liquidity argument ${JSON.stringify(arg)}: ${USAGE}`);
  let intervalMs = DEFAULT_LIQUIDITY_INTERVAL_MS;
  if (parts.length === 1) {
    try {
      intervalMs = parseDuration(parts[0]!);
    } catch {
      throw new Error(`bad liquidity argument ${JSON.stringify(arg)}: ${USAGE}`);
    }
    if (intervalMs < MIN_INTERVAL_MS) throw new Error(`liquidity interval ${parts[0]} is below the ${MIN_INTERVAL_MS} ms minimum`);
  }
  return { source, intervalMs };
}
