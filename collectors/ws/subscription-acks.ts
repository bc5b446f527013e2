import type { SubscribeRequest } from './channel-protocol.js';

/** What a refusal means for the symbols of a connection (see SubscriptionAcks.triage). */
export interface RefusalTriage {
  /** Symbols the exchange refused, each with the reason to show for it. */
  refused: Array<{ symbol: string; reason: string }>;
  /** Symbols of a refused request that are not to blame: to subscribe again. */
  retry: string[];
  /** The exchange refused a request of several symbols without saying which: subscribe each alone to find out. */
  oneByOne: boolean;
}

/** The subscribe acknowledgements a connection still waits for, and errors that name symbols. */
export class SubscriptionAcks {
  private readonly pending = new Map<string, readonly string[]>();

  /** `channel` names the subscription in errors: `trades` for the trade streams, `book` for the liquidity books. */
  constructor(
    private readonly exchange: string,
    private readonly channel = 'trades',
  ) {}

  /** Starts waiting for the request's acks. */
  expect(request: SubscribeRequest): void {
    for (const { key, symbols } of request.acks) this.pending.set(key, symbols);
  }

  /** Records an ack: the symbols it confirms, or undefined for one we were not waiting for. */
  acknowledge(key: string): readonly string[] | undefined {
    const symbols = this.pending.get(key);
    this.pending.delete(key);
    return symbols;
  }

  /** Symbols still waiting for an ack. */
  waiting(): string[] {
    return [...this.pending.values()].flat();
  }

  /** The Error for a refusal: names the exchange, the symbols it concerns (default: the request's or all waiting), and the reason. */
  rejection(error: { ack?: string; reason: string }, only?: readonly string[]): Error {
    const known = error.ack !== undefined ? this.pending.get(error.ack) : undefined;
    const symbols = only ?? known ?? this.waiting();
    if (symbols.length === 0) return new Error(`${this.exchange} ${this.channel}: the exchange reported an error: ${error.reason}`);
    const request = known ? ` (request ${error.ack})` : '';
    return new Error(`${this.exchange} rejected the ${this.channel} subscription for ${symbols.join(', ')}${request}: ${error.reason}`);
  }

  /**
   * Which symbols a refusal is about, so that only they fail: the one symbol of the refused
   * request, or those the reason names (in either spelling: `spelling` gives the exchange's). The
   * refused request stops waiting, and its other symbols are to be subscribed again (an exchange
   * refusing a whole batch for one bad symbol); when the reason names none of a batch, each alone.
   * Undefined when the refusal concerns no symbol it can tell (a malformed request, a rate limit):
   * the connection fails, as before.
   */
  triage(error: { ack?: string; reason: string }, spelling: (symbol: string) => string): RefusalTriage | undefined {
    const request = error.ack !== undefined ? this.pending.get(error.ack) : undefined;
    const named = (request ?? this.waiting()).filter((symbol) => mentions(error.reason, symbol) || mentions(error.reason, spelling(symbol)));
    const refusedFor = (symbols: readonly string[]) => symbols.map((symbol) => ({ symbol, reason: this.rejection(error, [symbol]).message }));
    if (request) {
      const reasons = refusedFor(request.length === 1 ? request : named);
      this.pending.delete(error.ack!);
      if (request.length === 1) return { refused: reasons, retry: [], oneByOne: false };
      if (named.length === 0) return { refused: [], retry: [...request], oneByOne: true };
      return { refused: reasons, retry: request.filter((symbol) => !named.includes(symbol)), oneByOne: false };
    }
    if (named.length === 0) return undefined;
    // No request named: every waiting request holding a named symbol is taken as refused whole.
    const reasons = refusedFor(named);
    const retry: string[] = [];
    for (const [key, symbols] of this.pending) {
      if (!symbols.some((symbol) => named.includes(symbol))) continue;
      this.pending.delete(key);
      retry.push(...symbols.filter((symbol) => !named.includes(symbol)));
    }
    return { refused: reasons, retry, oneByOne: false };
  }

  /** The Error for acks that never came. */
  timeout(ms: number): Error {
    return new Error(`${this.exchange} did not acknowledge the ${this.channel} subscription for ${this.waiting().join(', ')} within ${ms} ms`);
  }
}

/** Whether `text` names `symbol` as a word of its own (`FOOUSDT` in `publicTrade.FOOUSDT`, not in `FOOUSDTX`). */
function mentions(text: string, symbol: string): boolean {
  for (let at = text.indexOf(symbol); at >= 0; at = text.indexOf(symbol, at + 1)) {
    const before = text[at - 1];
    const after = text[at + symbol.length];
    if ((before === undefined || !ALPHANUMERIC.test(before)) && (after === undefined || !ALPHANUMERIC.test(after))) return true;
  }
  return false;
}

const ALPHANUMERIC = /[A-Za-z0-9]/;
