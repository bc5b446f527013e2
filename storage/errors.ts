/** A sample, key, range or declaration the storage refuses; the message names the key. */
export class StorageError extends Error {
  constructor(message: string, readonly key?: string) {
    super(message);
    this.name = 'StorageError';
  }
}

/** A call on a storage that was closed. */
export class StorageClosedError extends StorageError {
  constructor(backend: string, call: string) {
    super(`${backend} storage is closed: ${call}() after close()`);
    this.name = 'StorageClosedError';
  }
}

/** `storeMany` refused some points (thrown only by callers that want all-or-error). */
export class StorageRejectedError extends StorageError {
  constructor(readonly rejected: ReadonlyArray<{ index: number; key: string; reason: string }>) {
    const first = rejected[0];
    super(
      `${rejected.length} point(s) rejected` +
        (first ? `; first at index ${first.index} (${first.key}): ${first.reason}` : ''),
      first?.key,
    );
    this.name = 'StorageRejectedError';
  }
}
