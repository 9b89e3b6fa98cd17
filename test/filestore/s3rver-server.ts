/**
 * A real S3-compatible server for tests: s3rver on 127.0.0.1, random port, its data in a
 * fresh temp dir. Credentials: s3rver knows one key pair, access key id "S3RVER"; it checks
 * the access key id of V4-signed requests but not the signature, so any secret works with it
 * (tests use a distinctive secret to prove it never leaks).
 *
 * Other layers' tests (shipper, dump) may import this too.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

export interface TestS3Server {
  /** "127.0.0.1:PORT", in Mattermost's AmazonS3Endpoint form (no scheme; use ssl=false). */
  endpoint: string;
  port: number;
  accessKeyId: string;
  stop(): Promise<void>;
}

export async function startS3rver(buckets: string[]): Promise<TestS3Server> {
  const dir = await mkdtemp(join(tmpdir(), 'mm-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: dir,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const addr = await server.run();
  return {
    endpoint: `127.0.0.1:${addr.port}`,
    port: addr.port,
    accessKeyId: 'S3RVER',
    async stop() {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
