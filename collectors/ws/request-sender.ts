import type { SocketLoop } from './socket.js';
import type { SubscribeRequest } from './channel-protocol.js';
import type { SubscriptionAcks } from './subscription-acks.js';

/**
 * Sends one connection's requests no closer together than the exchange allows, whenever they come
 * (the first subscriptions, a batch subscribed again without a refused symbol, a slow retry, a
 * book resync), and fails the connection when a subscription's acks do not come in time.
 */
export class RequestSender {
  private readonly queue: string[] = [];
  private sender: NodeJS.Timeout | undefined;
  private readonly deadlines = new Set<NodeJS.Timeout>();
  private requests = 0;

  constructor(
    private readonly loop: SocketLoop,
    private readonly acks: SubscriptionAcks,
    private readonly minSendIntervalMs: number,
    private readonly ackTimeoutMs: number,
  ) {}

  /** The number the next subscribe request gets: requests are numbered over the connection's life, so their acks never mix. */
  get nextRequestNumber(): number {
    return this.requests + 1;
  }

  /** Sends subscribe requests and waits for their acks. */
  subscribe(requests: readonly SubscribeRequest[]): void {
    if (requests.length === 0) return;
    this.requests += requests.length;
    for (const request of requests) {
      this.acks.expect(request);
      this.send(request.text);
    }
    const deadline = setTimeout(
      () => {
        this.deadlines.delete(deadline);
        if (this.acks.waiting().length > 0) this.loop.fail(this.acks.timeout(this.ackTimeoutMs));
      },
      // Those still queued go out one interval apart; the acks have ackTimeoutMs after the last.
      this.queue.length * this.minSendIntervalMs + this.ackTimeoutMs,
    );
    this.deadlines.add(deadline);
  }

  /** Queues a frame behind those waiting. */
  send(text: string): void {
    this.queue.push(text);
    if (this.sender === undefined) this.drain();
  }

  /** Stops sending and checking (the connection ended). */
  stop(): void {
    clearTimeout(this.sender);
    this.deadlines.forEach(clearTimeout);
    this.deadlines.clear();
    this.queue.length = 0;
  }

  private drain(): void {
    const text = this.queue.shift();
    if (text === undefined) return void (this.sender = undefined);
    this.loop.send(text);
    this.sender = setTimeout(() => this.drain(), this.minSendIntervalMs);
  }
}
