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

export { openFileStore, type FileStoreOptions } from './open.js';
