/** A command's output: one string, or pieces written one after another (a large output is never one string). */
export type CommandText = string | Iterable<string>;

/** Pieces are gathered into writes of about this size: few syscalls, bounded memory. */
const CHUNK_CHARS = 64 * 1024;

/**
 * stdout or stderr as a command writes it: with backpressure, knowing when everything written
 * has reached the OS (a pipe takes 64 KB at once; exiting earlier cuts the rest), and quiet
 * when the reader went away early (`collector fetch ... | head`: EPIPE ends the output, not the
 * command with a stack trace).
 */
export class CommandOutput {
  private readerGone = false;
  private failure: Error | undefined;

  constructor(private readonly stream: NodeJS.WritableStream) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') this.readerGone = true;
      else this.failure ??= err;
    });
  }

  /** True once the reader closed its end: what is left to write is dropped. */
  get closed(): boolean {
    return this.readerGone || this.failure !== undefined;
  }

  /** The write error other than EPIPE (disk full, ...), if one happened. */
  get error(): Error | undefined {
    return this.failure;
  }

  /** Writes `text` and a newline; resolves when the stream can take more. */
  async print(text: CommandText): Promise<void> {
    if (typeof text === 'string') return this.write(`${text}\n`);
    let chunk = '';
    for (const piece of text) {
      chunk += piece;
      if (chunk.length < CHUNK_CHARS) continue;
      await this.write(chunk);
      // The reader is gone: stop producing output nobody reads.
      if (this.closed) return;
      chunk = '';
    }
    await this.write(`${chunk}\n`);
  }

  /** Writes `text`, waiting for the stream to drain when its buffer is full. */
  async write(text: string): Promise<void> {
    if (this.closed) return;
    if (this.stream.write(text)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.stream.off('drain', done).off('close', done).off('error', done);
        resolve();
      };
      this.stream.on('drain', done).on('close', done).on('error', done);
    });
  }

  /** Resolves once everything written to the stream (by anyone) has been handed to the OS. */
  flushed(): Promise<void> {
    if (this.closed) return Promise.resolve();
    // Writes complete in order: the callback of an empty write comes after every earlier one.
    return new Promise((resolve) => this.stream.write('', () => resolve()));
  }
}
