/**
 * The one FileStore contract. Local directories and S3 buckets implement it identically;
 * every behaviour below is checked for every backend by test/filestore/acceptance.test.ts.
 *
 * Keys
 *   '/'-separated relative paths ("plugin-data/mattermost-plugin-metrics/data/<ULID>/index").
 *   The grammar is in keys.ts: no leading or trailing "/", no "//", no "." or ".." segments,
 *   no backslash, no NUL. A bad key fails with InvalidKeyError (code MM_ERR_FILESTORE_INVALID_KEY)
 *   before any I/O. Keys are case-sensitive and stored as given (no Unicode normalisation).
 *
 * Prefixes
 *   Arguments named `prefix` are directory-like: "a/b" and "a/b/" both mean "everything under
 *   a/b/"; "" is the whole store (except for deletePrefix, which refuses it). Results are always
 *   full keys relative to the store root, never relative to the prefix.
 *
 * Streaming and memory
 *   Bodies are streamed both ways. No method holds a whole object in memory; S3 uploads of
 *   large or unknown-length bodies use multipart upload with a bounded number of parts in flight
 *   (memory ≈ partSize × (queueSize + 2) plus transport buffers).
 *
 * Atomicity
 *   An object is either absent or complete: readers never see a partially written object.
 *   Local writes go to a temp file in the target directory, are fsynced, renamed, and the
 *   directory is fsynced (STYLE.md §7). S3 objects appear atomically on PutObject or on
 *   CompleteMultipartUpload; a failed multipart upload is aborted.
 *   Concurrent puts of the same key: last writer wins, both succeed.
 *
 * Errors
 *   Everything thrown is a FileStoreError with a stable `code` (errors.ts). Messages name the
 *   operation and the key, and never contain credentials.
 *
 * Backend differences that the contract allows (documented, tested per backend):
 *   - Local cannot hold both "a" and "a/b" (a file cannot also be a directory): ConflictError.
 *   - Local `mtime` has sub-second precision; S3's LastModified has whole seconds.
 */
import type { Readable } from 'node:stream';

/** Inclusive byte range, as in HTTP `Range: bytes=start-end`. `end` omitted = to the end. */
export interface ByteRange {
  start: number;
  end?: number;
}

/** Result of stat(). */
export interface ObjectInfo {
  /** Size in bytes. */
  size: number;
  /** Last modification time (S3: LastModified, whole seconds). */
  mtime: Date;
}

/** A request body: a buffer, or a stream of Buffer/Uint8Array chunks. */
export type Body = Buffer | Uint8Array | Readable;

export interface FileStore {
  /** Human-readable location for logs, without credentials: "local:/var/lib/x", "s3://bucket/prefix". */
  readonly description: string;

  /**
   * Writes `key` from `body`. When `size` is given it is checked: a body of a different length
   * fails with InvalidArgument and nothing is written. For S3, a known size ≤ the part size
   * is sent as one PutObject; anything else goes through multipart upload.
   * Resolves after the object is durable (local) or acknowledged (S3).
   */
  put(key: string, body: Body, size?: number): Promise<void>;

  /** Uploads the local file at `localPath` to `key` (streamed). */
  putFile(key: string, localPath: string): Promise<void>;

  /**
   * Opens `key` for reading. Resolves once the object is known to exist (so a missing key
   * rejects with NotFoundError before any byte is streamed, which lets an HTTP handler answer
   * 404 cleanly). With `range`, only those bytes are streamed; `end` beyond the object is
   * clamped; `start` ≥ size rejects with InvalidRangeError (so does any range on an empty
   * object, as in S3). The caller must consume or destroy the stream.
   * Errors after resolution arrive as 'error' events carrying a FileStoreError.
   */
  get(key: string, range?: ByteRange): Promise<Readable>;

  /** Downloads `key` to `localPath` (temp file beside it, fsync, rename). NotFoundError if absent. */
  getFile(key: string, localPath: string): Promise<void>;

  /** Size and mtime of `key`, or null when it does not exist. */
  stat(key: string): Promise<ObjectInfo | null>;

  /** True when `key` exists. */
  exists(key: string): Promise<boolean>;

  /** Every key under `prefix`, recursively, as full keys, sorted by UTF-8 byte order. */
  list(prefix: string): Promise<string[]>;

  /**
   * Immediate child "directories" of `prefix` that contain at least one object, as full paths
   * without a trailing "/" (Mattermost's ListDirectory returns the same shape:
   * `plugin-data/mattermost-plugin-metrics/data/<ULID>`), sorted by UTF-8 byte order.
   */
  listDirs(prefix: string): Promise<string[]>;

  /** Deletes `key`. Deleting a missing key succeeds (S3 semantics, and idempotent retries). */
  delete(key: string): Promise<void>;

  /**
   * Deletes every key under `prefix` (recursively). The empty prefix is rejected with
   * InvalidKeyError: wiping a whole store is never a prefix-computation accident away.
   */
  deletePrefix(prefix: string): Promise<void>;

  /**
   * Cheap connectivity and permission check for start-up (Mattermost's TestConnection): local
   * checks the root is a writable directory; S3 checks the bucket is reachable with the
   * configured credentials. Throws the same typed errors as the other methods.
   */
  check(): Promise<void>;

  /** Releases connections. Later calls fail with code MM_ERR_FILESTORE_CLOSED. Idempotent. */
  close(): Promise<void>;
}
