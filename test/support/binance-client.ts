import WebSocket from 'ws';

/** A bare WebSocket client for probing the simulator frame by frame. */
export interface ProbeClient {
  socket: WebSocket;
  /** The next text frame received (frames are queued until asked for). */
  next(): Promise<string>;
  /** Resolves with the close code and reason once the server closes the connection. */
  closed: Promise<{ code: number; reason: string }>;
}

/** Connects a probe client; `autoPong: false` makes it ignore the server's pings. */
export async function connectProbe(url: string, options: { autoPong?: boolean } = {}): Promise<ProbeClient> {
  const socket = new WebSocket(url, { autoPong: options.autoPong ?? true });
  const queued: string[] = [];
  const waiting: Array<(text: string) => void> = [];
  socket.on('message', (data) => {
    const text = (data as Buffer).toString('utf8');
    const waiter = waiting.shift();
    if (waiter) waiter(text);
    else queued.push(text);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return {
    socket,
    next: () => {
      const text = queued.shift();
      return text !== undefined ? Promise.resolve(text) : new Promise((resolve) => waiting.push(resolve));
    },
    closed,
  };
}
