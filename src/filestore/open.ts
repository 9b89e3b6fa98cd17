/**
 * Opens the configured file store backend, loading the S3 backend only when it is chosen.
 *
 * `@aws-sdk/client-s3` costs about 20 MB of resident memory once loaded; most installs use the
 * local driver, so the service imports this module rather than `index.js` (which re-exports the
 * S3 classes for callers that want them).
 */
import type { FileStore } from './filestore.js';
import { openLocalFileStore, type LocalFileStoreOptions } from './local.js';
import type { S3FileStoreOptions } from './s3.js';

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
  const { openS3FileStore } = await import('./s3.js');
  return openS3FileStore(rest);
}
