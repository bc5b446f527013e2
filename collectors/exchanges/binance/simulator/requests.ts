/**
 * How Binance spot answers the JSON requests a client sends on a market-stream connection
 * (binance-spot-api-docs web-socket-streams.md, "Live Subscribing/Unsubscribing" and "Error Messages").
 */

/** What a connection's requests can change. */
export interface ConnectionState {
  /** Wrap payloads as {"stream", "data"}: true on /stream, false on /ws. */
  combined: boolean;
  streams: Set<string>;
}

/** Why a stream name is refused, or undefined when it is accepted. */
export type StreamCheck = (stream: string) => string | undefined;

const METHODS = ['SUBSCRIBE', 'UNSUBSCRIBE', 'LIST_SUBSCRIPTIONS', 'SET_PROPERTY', 'GET_PROPERTY'];
const ID = /^[A-Za-z0-9]{1,36}$/;
// The stream types Binance spot lists; the simulator produces data only for `@trade`.
const SYMBOL_STREAM =
  /^([a-z0-9]+)@(trade|aggTrade|bookTicker|avgPrice|miniTicker|ticker|ticker_(1h|4h|1d)|referencePrice|kline_(1s|1m|3m|5m|15m|30m|1h|2h|4h|6h|8h|12h|1d|3d|1w|1M)(@\+08:00)?|depth(5|10|20)?(@100ms)?)$/;
const MARKET_STREAM = /^!(miniTicker|ticker|ticker_(1h|4h|1d))@arr$/;

/** The symbol part of a well-formed stream name (upper case), '' for an all-market stream, undefined when malformed. */
export function streamSymbol(stream: string): string | undefined {
  if (MARKET_STREAM.test(stream)) return '';
  const match = SYMBOL_STREAM.exec(stream);
  return match ? match[1]!.toUpperCase() : undefined;
}

function result(id: unknown, value: unknown): string {
  return JSON.stringify({ result: value, id });
}

function error(code: number, msg: string, id: unknown = null): string {
  return JSON.stringify({ error: { code, msg }, id });
}

/** Line and column (1-based) of a JSON.parse failure, as serde reports them. */
function jsonErrorPosition(text: string, err: unknown): string {
  const match = /position (\d+)/.exec(err instanceof Error ? err.message : '');
  const offset = match ? Number(match[1]) : text.length;
  const before = text.slice(0, offset).split('\n');
  return `line ${before.length} column ${before.at(-1)!.length + 1}`;
}

function isValidId(id: unknown): boolean {
  return id === null || Number.isSafeInteger(id) || (typeof id === 'string' && ID.test(id));
}

/** Binance's reply to one client text frame; applies a valid request to `state`. */
export function answerRequest(text: string, state: ConnectionState, check: StreamCheck): string {
  let request: unknown;
  try {
    request = JSON.parse(text);
  } catch (err) {
    return error(3, `Invalid JSON: expected value at ${jsonErrorPosition(text, err)}`);
  }
  if (typeof request !== 'object' || request === null || typeof (request as { method?: unknown }).method !== 'string') {
    return error(2, `Invalid request: missing field \`method\` at line 1 column ${text.length}`);
  }
  const { method, params, id } = request as { method: string; params?: unknown; id?: unknown };
  if (!METHODS.includes(method)) {
    const column = text.indexOf(JSON.stringify(method)) + JSON.stringify(method).length;
    return error(2, `Invalid request: unknown variant \`${method}\`, expected one of ${METHODS.map((m) => `\`${m}\``).join(', ')} at line 1 column ${column}`);
  }
  if (!isValidId(id)) return error(2, 'Invalid request: request ID must be an unsigned integer');
  const list = Array.isArray(params) ? params : [];
  switch (method) {
    case 'SUBSCRIBE':
    case 'UNSUBSCRIBE': {
      if (!Array.isArray(params)) return error(2, 'Invalid request: invalid stream', id);
      // All or nothing: one bad name refuses the whole request.
      for (const stream of list) {
        const refusal = typeof stream === 'string' ? check(stream) : 'Invalid request: invalid stream';
        if (refusal) return error(2, refusal, id);
      }
      for (const stream of list as string[]) {
        if (method === 'SUBSCRIBE') state.streams.add(stream);
        else state.streams.delete(stream);
      }
      return result(id, null);
    }
    case 'LIST_SUBSCRIPTIONS':
      return result(id, [...state.streams]);
    default: {
      const [name, value] = list;
      if (typeof name !== 'string') return error(2, 'Invalid request: property name must be a string', id);
      if (name !== 'combined') return error(0, 'Unknown property', id);
      if (method === 'GET_PROPERTY') return result(id, state.combined);
      if (typeof value !== 'boolean') return error(1, 'Invalid value type: expected Boolean', id);
      state.combined = value;
      return result(id, null);
    }
  }
}
