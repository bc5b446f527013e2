import type { SubscribeRequest } from './protocol.js';

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

  /** Records an ack; false for one we were not waiting for. */
  acknowledge(key: string): boolean {
    return this.pending.delete(key);
  }

  /** Symbols still waiting for an ack. */
  waiting(): string[] {
    return [...this.pending.values()].flat();
  }

  /** The Error for a refusal: names the exchange, the symbols it concerns, and the reason. */
  rejection(error: { ack?: string; reason: string }): Error {
    const known = error.ack !== undefined ? this.pending.get(error.ack) : undefined;
    const symbols = known ?? this.waiting();
    if (symbols.length === 0) return new Error(`${this.exchange} ${this.channel}: the exchange reported an error: ${error.reason}`);
    const request = known ? ` (request ${error.ack})` : '';
    return new Error(`${this.exchange} rejected the ${this.channel} subscription for ${symbols.join(', ')}${request}: ${error.reason}`);
  }

  /** The Error for acks that never came. */
  timeout(ms: number): Error {
    return new Error(`${this.exchange} did not acknowledge the ${this.channel} subscription for ${this.waiting().join(', ')} within ${ms} ms`);
  }
}
