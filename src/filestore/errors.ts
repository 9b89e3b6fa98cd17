/**
 * Typed errors of the file store layer. Every error has a stable `code`, the operation
 * and the key it concerns, and a message meant for an operator.
 *
 * Secrets: messages are built by us from sanitized parts only. The raw AWS SDK error is
 * never attached as `cause` (it can carry request headers, signing strings and the access
 * key id in its fields); instead the S3 error code, HTTP status and request id are copied
 * into plain fields. See `s3-errors.ts`.
 */

/** Stable codes. Callers switch on these, never on messages. */
export const FileStoreErrorCode = {
  /** The object does not exist. */
  NotFound: 'MM_ERR_FILESTORE_NOT_FOUND',
  /** A key or prefix is malformed or tries to escape the store (absolute, `..`, backslash, NUL...). */
  InvalidKey: 'MM_ERR_FILESTORE_INVALID_KEY',
  /** A byte range is malformed or starts beyond the end of the object. */
  InvalidRange: 'MM_ERR_FILESTORE_INVALID_RANGE',
  /** An argument other than the key is wrong (size mismatch, bad body type). */
  InvalidArgument: 'MM_ERR_FILESTORE_INVALID_ARGUMENT',
  /** The store is configured wrongly (missing bucket, half a key pair, bad endpoint...). */
  Config: 'MM_ERR_FILESTORE_CONFIG',
  /** The S3 bucket does not exist. */
  BucketNotFound: 'MM_ERR_FILESTORE_BUCKET_NOT_FOUND',
  /** Credentials were rejected or lack permission. */
  AccessDenied: 'MM_ERR_FILESTORE_ACCESS_DENIED',
  /** The endpoint could not be reached (DNS, connection refused, timeout, TLS). */
  Unreachable: 'MM_ERR_FILESTORE_UNREACHABLE',
  /** Local store only: a key collides with a directory or a file on the path (S3 has no such limit). */
  Conflict: 'MM_ERR_FILESTORE_CONFLICT',
  /** The store was closed. */
  Closed: 'MM_ERR_FILESTORE_CLOSED',
  /** Any other I/O or service failure. */
  Io: 'MM_ERR_FILESTORE_IO',
} as const;
export type FileStoreErrorCode = (typeof FileStoreErrorCode)[keyof typeof FileStoreErrorCode];

/** Base class; `op` is the FileStore method name, `key` the key or prefix as the caller gave it. */
export class FileStoreError extends Error {
  readonly code: FileStoreErrorCode;
  readonly op: string;
  readonly key: string;
  constructor(code: FileStoreErrorCode, op: string, key: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.op = op;
    this.key = key;
    this.name = new.target.name;
  }
}

/** `get`, `getFile`, `stat`-like reads of a missing object. */
export class NotFoundError extends FileStoreError {
  constructor(op: string, key: string) {
    super(FileStoreErrorCode.NotFound, op, key, `${op} ${JSON.stringify(key)}: object not found`);
  }
}

/** A key or prefix that is not a clean relative '/'-separated path. */
export class InvalidKeyError extends FileStoreError {
  readonly reason: string;
  constructor(op: string, key: string, reason: string) {
    super(FileStoreErrorCode.InvalidKey, op, key, `${op} ${JSON.stringify(key)}: invalid key: ${reason}`);
    this.reason = reason;
  }
}

/** A byte range that cannot be served. */
export class InvalidRangeError extends FileStoreError {
  constructor(op: string, key: string, detail: string) {
    super(FileStoreErrorCode.InvalidRange, op, key, `${op} ${JSON.stringify(key)}: invalid range: ${detail}`);
  }
}

/** True when `e` is a FileStoreError with the given code (works across module copies). */
export function isFileStoreError(e: unknown, code?: FileStoreErrorCode): e is FileStoreError {
  if (!(e instanceof Error)) return false;
  const c = (e as { code?: unknown }).code;
  if (typeof c !== 'string' || !c.startsWith('MM_ERR_FILESTORE_')) return false;
  return code === undefined || c === code;
}

/** Shorthand used by callers that treat "missing" as a normal outcome. */
export function isNotFound(e: unknown): boolean {
  return isFileStoreError(e, FileStoreErrorCode.NotFound);
}
