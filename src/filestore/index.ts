/**
 * Public surface of the file store layer (a leaf: imports nothing of ours).
 *
 *   openFileStore({driver:'local', ...} | {driver:'s3', ...})  → FileStore
 *   new PrefixedFileStore(store, 'plugin-data/mattermost-plugin-metrics')
 *
 * The app maps config.fileStore onto FileStoreOptions; this layer never reads configuration.
 */
export type { Body, ByteRange, FileStore, ObjectInfo } from './filestore.js';
export {
  FileStoreError,
  FileStoreErrorCode,
  InvalidKeyError,
  InvalidRangeError,
  NotFoundError,
  isFileStoreError,
  isNotFound,
} from './errors.js';
export { S3FileStoreError } from './s3-errors.js';
export { checkKey, checkPrefix, compareKeys, joinKey, keyProblem } from './keys.js';
export { LocalFileStore, defaultLocalOptions, openLocalFileStore, type LocalFileStoreOptions } from './local.js';
export { S3FileStore, defaultS3Options, openS3FileStore, MIN_PART_SIZE, MAX_PART_SIZE, type S3FileStoreOptions, type S3TraceEvent } from './s3.js';
export { PrefixedFileStore } from './prefixed.js';

import type { FileStore } from './filestore.js';
import { openLocalFileStore, type LocalFileStoreOptions } from './local.js';
import { openS3FileStore, type S3FileStoreOptions } from './s3.js';

/** Backend selection, shaped like Mattermost's FileSettings.DriverName. */
export type FileStoreOptions =
  | ({ driver: 'local' } & Partial<LocalFileStoreOptions> & { root: string })
  | ({ driver: 's3' } & Partial<S3FileStoreOptions> & { bucket: string });

/** Opens the configured backend. Local creates its root; S3 does no I/O until used (call check()). */
export async function openFileStore(opts: FileStoreOptions): Promise<FileStore> {
  if (opts.driver === 'local') {
    const { driver: _d, ...rest } = opts;
    return openLocalFileStore(rest);
  }
  const { driver: _d, ...rest } = opts;
  return openS3FileStore(rest);
}
