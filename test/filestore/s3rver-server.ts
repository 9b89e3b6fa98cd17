/**
 * A real S3-compatible server for tests: s3rver in a child process on 127.0.0.1, random port,
 * its data in a fresh temp dir. Credentials: s3rver knows one key pair, access key id
 * "S3RVER"; it checks the access key id of V4-signed requests but not the signature, so any
 * secret works with it (tests use a distinctive secret to prove it never leaks).
 *
 * Known s3rver deviations from S3 (tests avoid or document them): a ranged GET of an empty
 * object aborts the connection; "bytes=0-0" is served as the whole object; a common prefix
 * whose objects all sit two levels deeper is not reported; keys with "//" are rejected.
 *
 * Other layers' tests (shipper, dump) may import this too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface TestS3Server {
  /** "127.0.0.1:PORT", in Mattermost's AmazonS3Endpoint form (no scheme; use ssl=false). */
  endpoint: string;
  port: number;
  accessKeyId: string;
  stop(): Promise<void>;
  /** SIGKILL the server at once (connections drop mid-transfer), then clean up like stop(). */
  kill(): Promise<void>;
}

const CHILD = fileURLToPath(new URL('./s3rver-child.mjs', import.meta.url));

export async function startS3rver(buckets: string[]): Promise<TestS3Server> {
  const dir = await mkdtemp(join(tmpdir(), 'mm-s3rver-'));
  const child: ChildProcess = spawn(process.execPath, ['--openssl-legacy-provider', CHILD, dir, ...buckets], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const first = await Promise.race([
    once(lines, 'line').then(([l]) => String(l)),
    once(child, 'exit').then(([code]) => {
      throw new Error(`s3rver child exited with ${code} before listening`);
    }),
  ]);
  const port = (JSON.parse(first) as { port: number }).port;
  return {
    endpoint: `127.0.0.1:${port}`,
    port,
    accessKeyId: 'S3RVER',
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.stdin!.end();
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
