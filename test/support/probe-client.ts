import WebSocket from 'ws';

/** A bare WebSocket client for probing an exchange simulator frame by frame. */
export interface ProbeClient {
  socket: WebSocket;
  /** The next text frame received (frames are queued until asked for). */
  next(): Promise<string>;
  /** The next text frame that `keep` accepts; the ones before it are dropped (pushes interleave with replies). */
  nextWhere(keep: (text: string) => boolean): Promise<string>;
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
  const next = (): Promise<string> => {
    const text = queued.shift();
    return text !== undefined ? Promise.resolve(text) : new Promise((resolve) => waiting.push(resolve));
  };
  return {
    socket,
    next,
    nextWhere: async (keep) => {
      for (;;) {
        const text = await next();
        if (keep(text)) return text;
      }
    },
    closed,
  };
}
