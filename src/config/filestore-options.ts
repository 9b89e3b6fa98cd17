/**
 * config.fileStore → the options object src/filestore's openFileStore() takes. The shapes are
 * matched structurally (config may not import filestore: both are leaves); a test checks that
 * the result type-checks as FileStoreOptions and opens a working store.
 *
 * AmazonS3Trace is a boolean here and a callback there: the app passes its logger's debug
 * function as `trace` when config.fileStore.s3.trace is true.
 */
import type { Config } from './types.js';

export type FileStoreOptionsFromConfig =
  | { driver: 'local'; root: string }
  | {
      driver: 's3';
      bucket: string;
      pathPrefix: string;
      region: string;
      endpoint: string;
      ssl: boolean;
      pathStyle: boolean | null;
      accessKeyId: string;
      secretAccessKey: string;
      sse: boolean;
      skipVerify: boolean;
      requestTimeoutMs: number;
      uploadPartSize: number;
    };

export function fileStoreOptions(fs: Config['fileStore']): FileStoreOptionsFromConfig {
  if (fs.driver === 'local') return { driver: 'local', root: fs.directory };
  const s = fs.s3;
  return {
    driver: 's3',
    bucket: s.bucket,
    pathPrefix: s.pathPrefix,
    region: s.region,
    endpoint: s.endpoint,
    ssl: s.ssl,
    pathStyle: s.pathStyle,
    accessKeyId: s.accessKeyId,
    secretAccessKey: s.secretAccessKey,
    sse: s.sse,
    skipVerify: s.skipVerify,
    requestTimeoutMs: s.requestTimeout,
    uploadPartSize: s.uploadPartSize,
  };
}
