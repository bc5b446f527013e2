import { ConfigError } from '../config/errors.js';
import { StorageError } from '../../storage/errors.js';
import { maskSecrets } from '../../common/sanitize.js';

/** A failure the user caused (bad argument, config, key or range): exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * The exit code and one-line-per-problem message (secrets masked) for an error reaching the CLI:
 * 2 for bad input and for storage that cannot be opened or read (the same for every command),
 * 1 for any other failure.
 */
export function describeFailure(err: unknown): { code: number; message: string } {
  const message = maskSecrets(err instanceof Error ? err.message : String(err));
  if (err instanceof ConfigError || err instanceof UsageError || err instanceof StorageError) return { code: 2, message };
  return { code: 1, message };
}
