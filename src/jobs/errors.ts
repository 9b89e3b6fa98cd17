/**
 * Typed errors of the jobs layer. Each has a stable `code` so the API can map it to a
 * status and a message without string matching.
 */

/** The jobs file could not be read back (not JSON, wrong shape). Names the file and what was wrong. */
export class JobStoreCorruptError extends Error {
  readonly code = 'MM_ERR_JOB_STORE_CORRUPT';
  readonly path: string;
  constructor(path: string, detail: string, options?: { cause?: unknown }) {
    super(`job store ${path}: ${detail}`, options);
    this.name = 'JobStoreCorruptError';
    this.path = path;
  }
}

/** `create` was called with an id that already exists. */
export class JobExistsError extends Error {
  readonly code = 'MM_ERR_JOB_EXISTS';
  readonly id: string;
  constructor(id: string) {
    super(`job ${id} already exists`);
    this.name = 'JobExistsError';
    this.id = id;
  }
}

/** A job record failed validation (bad id, bad range, unknown status). */
export class InvalidJobError extends Error {
  readonly code = 'MM_ERR_INVALID_JOB';
  constructor(detail: string) {
    super(detail);
    this.name = 'InvalidJobError';
  }
}

/** The store was used after close(). */
export class JobStoreClosedError extends Error {
  readonly code = 'MM_ERR_JOB_STORE_CLOSED';
  constructor() {
    super('job store is closed');
    this.name = 'JobStoreClosedError';
  }
}

/** Reason passed to a build's AbortSignal when its job was deleted while running. */
export class JobDeletedError extends Error {
  readonly code = 'MM_ERR_JOB_DELETED';
  constructor(id: string) {
    super(`job ${id} was deleted while running`);
    this.name = 'JobDeletedError';
  }
}

/** Reason passed to a build's AbortSignal when the runner stops (the job is re-queued). */
export class RunnerStoppingError extends Error {
  readonly code = 'MM_ERR_RUNNER_STOPPING';
  constructor() {
    super('job runner is stopping');
    this.name = 'RunnerStoppingError';
  }
}
