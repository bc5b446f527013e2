import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { SqliteRowWriter, type WriteBatch } from './sqlite-writer.js';

/*
 * The worker thread SqliteStorage writes through (sqlite-write-channel.ts starts it): one
 * SqliteRowWriter on its own connection, one request at a time, each answered by id.
 */

/** What the thread is started with. */
export interface WriterThreadData {
  role: 'sqlite-row-writer';
  path: string;
  busyTimeoutMs: number;
  /** Where replies go: a port of their own, which the caller can also read synchronously. */
  replies: MessagePort;
}

/** A request to the thread. */
export type WriterRequest = { id: number; type: 'write'; batch: WriteBatch } | { id: number; type: 'close' };
/**
 * The thread's answer to request `id`. `buffers`: the request's row buffers, transferred back for
 * the next batches (see ThreadWriteChannel).
 */
export type WriterReply = ({ id: number; ok: true } | { id: number; ok: false; error: string }) & { buffers?: ArrayBuffer[] };

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

const data = workerData as WriterThreadData | undefined;
if (parentPort && data?.role === 'sqlite-row-writer') {
  const port = parentPort;
  const replies = data.replies;
  let writer: SqliteRowWriter | undefined;
  let openError: string | undefined;
  try {
    writer = new SqliteRowWriter(data.path, data.busyTimeoutMs);
  } catch (err) {
    openError = `cannot open ${data.path} for writing: ${message(err)}`;
  }
  port.on('message', (request: WriterRequest) => {
    let reply: WriterReply = { id: request.id, ok: true };
    try {
      if (request.type === 'close') {
        writer?.close();
        writer = undefined;
      } else if (!writer) {
        reply = { id: request.id, ok: false, error: openError ?? 'the writer is closed' };
      } else {
        writer.write(request.batch);
      }
    } catch (err) {
      reply = { id: request.id, ok: false, error: message(err) };
    }
    const buffers = request.type === 'write' ? request.batch.rows.map((rows) => rows.data.buffer as ArrayBuffer) : [];
    reply.buffers = buffers;
    replies.postMessage(reply, buffers);
    if (request.type === 'close') {
      // Nothing left to hold the thread: it ends once these are closed.
      port.close();
      replies.close();
    }
  });
}
