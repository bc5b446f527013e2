import { accessSync, closeSync, constants, existsSync, openSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Why the collector could not write the SQLite database at `path`, in words, or undefined when
 * it can: SQLite itself only says "unable to open database file" or "attempt to write a readonly
 * database". Checks the file (opened for writing, so root on a read-only mount is caught too) and
 * its directory, where SQLite creates the `-wal` and `-shm` files.
 */
export function whyNotWritable(path: string): string | undefined {
  if (existsSync(path)) {
    const problem = errnoOf(() => closeSync(openSync(path, 'r+')));
    if (problem === 'EROFS') return `the file is on a read-only filesystem`;
    if (problem === 'EACCES' || problem === 'EPERM') return `the file is read-only for this user (${problem})`;
  }
  const dir = dirname(path);
  if (!existsSync(dir)) return undefined; // created by the caller; a failure then says why
  const problem = errnoOf(() => accessSync(dir, constants.W_OK));
  if (problem === 'EROFS') return `directory ${dir} is on a read-only filesystem`;
  if (problem) return `directory ${dir} is not writable (${problem}); SQLite creates its -wal and -shm files there`;
  return undefined;
}

function errnoOf(call: () => void): string | undefined {
  try {
    call();
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? 'EIO';
  }
}
