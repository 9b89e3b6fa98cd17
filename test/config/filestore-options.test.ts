/**
 * config.fileStore maps onto src/filestore's options: checked by the type system (the
 * assignment below) and by opening real stores from loaded configurations.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fileStoreOptions, loadConfig } from '../../src/config/index.js';
import { openFileStore, type FileStoreOptions } from '../../src/filestore/index.js';
import { readAll } from '../filestore/helpers.js';
import { startS3rver, type TestS3Server } from '../filestore/s3rver-server.js';

let tmp: string;
let s3: TestS3Server;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'mm-cfg-fs-'));
  s3 = await startS3rver(['from-config']);
});
afterAll(async () => {
  await s3?.stop();
  await rm(tmp, { recursive: true, force: true });
});

describe('fileStoreOptions', () => {
  test('a local configuration opens a local store in the configured directory', async () => {
    const c = await loadConfig({ overrides: { storage: { dataDir: tmp } } });
    const opts: FileStoreOptions = fileStoreOptions(c.fileStore);
    expect(opts).toEqual({ driver: 'local', root: join(tmp, 'filestore') });
    const store = await openFileStore(opts);
    await store.put('k', Buffer.from('v'));
    expect(store.description).toBe(`local:${join(tmp, 'filestore')}`);
    await store.close();
  });

  test('an S3 configuration (Mattermost-style keys via env) opens a working S3 store', async () => {
    const c = await loadConfig({
      env: {
        MM_METRICS_FILE_STORE_DRIVER: 'amazons3',
        MM_METRICS_FILE_STORE_S3_BUCKET: 'from-config',
        MM_METRICS_FILE_STORE_S3_ENDPOINT: s3.endpoint,
        MM_METRICS_FILE_STORE_S3_SSL: 'false',
        MM_METRICS_FILE_STORE_S3_PATH_PREFIX: 'mm',
        MM_METRICS_FILE_STORE_S3_ACCESS_KEY_ID: s3.accessKeyId,
        MM_METRICS_FILE_STORE_S3_SECRET_ACCESS_KEY: 'cfg-secret-value',
        MM_METRICS_FILE_STORE_S3_REQUEST_TIMEOUT: '10s',
      },
    });
    const opts: FileStoreOptions = fileStoreOptions(c.fileStore);
    expect(opts).toMatchObject({ driver: 's3', bucket: 'from-config', pathPrefix: 'mm', ssl: false, requestTimeoutMs: 10_000, uploadPartSize: 5 * 1024 * 1024 });
    const store = await openFileStore(opts);
    try {
      await store.check();
      await store.put('plugin-data/mattermost-plugin-metrics/data/x/meta.json', Buffer.from('{}'));
      expect((await readAll(await store.get('plugin-data/mattermost-plugin-metrics/data/x/meta.json'))).toString()).toBe('{}');
      expect(store.description).toBe(`s3://from-config/mm at http://${s3.endpoint}`);
    } finally {
      await store.close();
    }
  });
});
