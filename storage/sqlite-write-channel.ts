import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { WriterReply, WriterRequest, WriterThreadData } from './sqlite-writer-thread.js';
import { SqliteRowWriter, type WriteBatch } from './sqlite-writer.js';

// Batches hold one buffer per series written; a handful of series is the usual case.
const MAX_SPARE_BUFFERS = 8;

/** Where SqliteStorage's write transactions run: a worker thread, or this thread. */
export interface WriteChannel {
  /** Resolves once the batch is committed; rejects (nothing written) with SQLite's reason. */
  write(batch: WriteBatch): Promise<void>;
  /**
   * Settles the writes the other side has finished, without waiting for the event loop: a caller
   * that stores in a tight loop (never yielding) still learns at once that the next batch can go.
   */
  poll(): void;
  close(): Promise<void>;
}

/** Writes on the calling thread (no worker script at hand, or asked for). */
export class InlineWriteChannel implements WriteChannel {
  private readonly writer: SqliteRowWriter;

  constructor(path: string, busyTimeoutMs: number) {
    this.writer = new SqliteRowWriter(path, busyTimeoutMs);
  }

  async write(batch: WriteBatch): Promise<void> {
    this.writer.write(batch);
  }

  poll(): void {}

  async close(): Promise<void> {
    this.writer.close();
  }
}

/**
 * Writes in a worker thread, so the event loop (sockets, parsing) runs while SQLite works. The
 * thread keeps the process alive only while a write is under way, and is started again if it
 * dies (its requests then fail and are retried by the caller). A thread that cannot even start
 * is given up for writing on this thread.
 */
export class ThreadWriteChannel implements WriteChannel {
  private worker: Worker | undefined;
  /** The current thread's reply port. */
  private replyPort: MessagePort | undefined;
  private nextId = 1;
  private replies = 0;
  private inline: InlineWriteChannel | undefined;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  /** Row buffers the thread gave back, for the next batches. */
  private readonly spare: ArrayBuffer[] = [];

  constructor(
    private readonly script: URL,
    private readonly path: string,
    private readonly busyTimeoutMs: number,
    /** Told when the thread cannot start and writes move to this thread. */
    private readonly onFallback: (reason: string) => void,
  ) {
    // Started now, not on the first write: loading the thread takes tens of ms, better spent
    // while the collectors connect than in front of the first commit.
    this.worker = this.start();
  }

  write(batch: WriteBatch): Promise<void> {
    if (this.inline) return this.inline.write(batch);
    // The rows travel in buffers moved to the thread, not copied by the message: copying a batch
    // into fresh memory on both sides (page faults included) cost more than SQLite's own work.
    // The caller keeps its batch, to put it back if the write fails or the thread dies.
    const transfer: ArrayBuffer[] = [];
    const rows = batch.rows.map((r) => {
      const used = r.length * (r.width + 1);
      const data = new Float64Array(this.buffer(used * 8), 0, used);
      data.set(r.data.subarray(0, used));
      transfer.push(data.buffer as ArrayBuffer);
      return { ...r, data };
    });
    return this.request({ type: 'write', batch: { schemas: batch.schemas, rows, checkpoints: batch.checkpoints } }, transfer);
  }

  /** A spare buffer of at least `bytes`, or a new one. */
  private buffer(bytes: number): ArrayBuffer {
    const i = this.spare.findIndex((b) => b.byteLength >= bytes);
    if (i >= 0) return this.spare.splice(i, 1)[0]!;
    return new ArrayBuffer(Math.max(bytes, 64 * 1024));
  }

  poll(): void {
    const port = this.replyPort;
    if (port && this.waiting.size > 0) drainReplies(port, (reply) => this.onReply(reply));
  }

  private onReply(reply: WriterReply): void {
    this.replies += 1;
    // A few spares cover the batches in flight; more would only hold memory.
    for (const buffer of reply.buffers ?? []) if (this.spare.length < MAX_SPARE_BUFFERS) this.spare.push(buffer);
    const waiter = this.waiting.get(reply.id);
    this.waiting.delete(reply.id);
    if (reply.ok) waiter?.resolve();
    else waiter?.reject(new Error(reply.error));
  }

  async close(): Promise<void> {
    await this.inline?.close();
    const worker = this.worker;
    if (!worker) return;
    await this.request({ type: 'close' }).catch(() => undefined);
    this.worker = undefined;
    await worker.terminate();
  }

  private request(request: { type: 'write'; batch: WriteBatch } | { type: 'close' }, transfer: ArrayBuffer[] = []): Promise<void> {
    const worker = (this.worker ??= this.start());
    const id = this.nextId++;
    worker.ref();
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ ...request, id } as WriterRequest, transfer);
    }).finally(() => {
      if (this.waiting.size === 0) worker.unref();
    });
  }

  private start(): Worker {
    const { port1: replyPort, port2 } = new MessageChannel();
    const workerData: WriterThreadData = { role: 'sqlite-row-writer', path: this.path, busyTimeoutMs: this.busyTimeoutMs, replies: port2 };
    // No inherited node flags: some (--input-type, --eval) stop a worker script from loading.
    const worker = new Worker(this.script, { workerData, transferList: [port2], execArgv: [] });
    worker.unref();
    // The worker's ref (taken while a write is under way) is what keeps the process alive.
    replyPort.on('message', (reply: WriterReply) => this.onReply(reply));
    replyPort.unref();
    this.replyPort = replyPort;
    const failAll = (err: Error) => {
      if (this.worker === worker) {
        this.worker = undefined;
        this.replyPort = undefined;
      }
      // Replies the thread sent before it ended travel on their own port and may not have been
      // delivered yet: settle those first, so a committed write is not reported as failed.
      drainReplies(replyPort, (reply) => this.onReply(reply));
      replyPort.close();
      for (const waiter of this.waiting.values()) waiter.reject(err);
      this.waiting.clear();
    };
    worker.on('error', (err) => {
      if (this.replies === 0 && !this.inline) {
        this.inline = new InlineWriteChannel(this.path, this.busyTimeoutMs);
        this.onFallback(err.message);
      }
      failAll(new Error(`SQLite writer thread failed: ${err.message}`));
    });
    worker.on('exit', (code) => failAll(new Error(`SQLite writer thread exited with code ${code}`)));
    return worker;
  }
}

/** Hands every reply already queued on `port` to `onReply`, without waiting for the event loop. */
function drainReplies(port: MessagePort, onReply: (reply: WriterReply) => void): void {
  for (let received = receiveMessageOnPort(port); received; received = receiveMessageOnPort(port)) onReply(received.message as WriterReply);
}

/**
 * The compiled worker script: beside this module in the build, or, when running from the
 * TypeScript sources (the tests, after `npm run build`), in dist/. Undefined when neither exists.
 */
function threadScript(): URL | undefined {
  for (const candidate of ['./sqlite-writer-thread.js', '../dist/storage/sqlite-writer-thread.js']) {
    const url = new URL(candidate, import.meta.url);
    if (existsSync(fileURLToPath(url))) return url;
  }
  return undefined;
}

/** A thread channel when the worker script is there and `thread` is not false; an inline one otherwise. */
export function openWriteChannel(path: string, busyTimeoutMs: number, thread: boolean, onFallback: (reason: string) => void): WriteChannel {
  const script = thread ? threadScript() : undefined;
  return script ? new ThreadWriteChannel(script, path, busyTimeoutMs, onFallback) : new InlineWriteChannel(path, busyTimeoutMs);
}
