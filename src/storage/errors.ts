/**
 * Expected-condition errors shared between layers. Each has a stable `code`.
 * Appenders throw these for per-sample problems; the scrape loop counts them and
 * keeps going (Prometheus scrape.go `checkAddError`).
 */
export class StorageError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Sample older than the newest sample of its series. */
export class OutOfOrderSampleError extends StorageError {
  constructor() {
    super('MM_ERR_OUT_OF_ORDER', 'out of order sample');
  }
}

/** Same timestamp as the newest sample of its series, different value bits. */
export class DuplicateSampleError extends StorageError {
  constructor() {
    super('MM_ERR_DUPLICATE_SAMPLE', 'duplicate sample for timestamp');
  }
}

/** Outside the head's appendable window (too old, or too far in the future). */
export class OutOfBoundsError extends StorageError {
  constructor() {
    super('MM_ERR_OUT_OF_BOUNDS', 'out of bounds');
  }
}

/** Label set rejected by storage (empty, unsorted, duplicate names, invalid name). */
export class InvalidLabelsError extends StorageError {
  constructor(detail: string) {
    super('MM_ERR_INVALID_LABELS', `invalid labels: ${detail}`);
  }
}

/** An appender was used after commit/rollback. */
export class AppenderClosedError extends StorageError {
  constructor() {
    super('MM_ERR_APPENDER_CLOSED', 'appender already committed or rolled back');
  }
}

/** Preallocated singletons: these are thrown per sample on hot paths, so no stack capture per throw. */
export const errOutOfOrderSample = new OutOfOrderSampleError();
export const errDuplicateSample = new DuplicateSampleError();
export const errOutOfBounds = new OutOfBoundsError();
