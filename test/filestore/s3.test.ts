/**
 * S3-specific behaviour on a real s3rver: misconfiguration errors that are clear and leak no
 * secret, the default credential chain, multipart/abort/trace, paging, SSE headers on the wire
 * (seen through a recording proxy), and foreign keys written by other tools.
 */
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { inspect } from 'node:util';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FileStoreErrorCode, isFileStoreError, openS3FileStore, type S3FileStoreOptions, type S3TraceEvent } from '../../src/filestore/index.js';
import { patternStream, readAll } from './helpers.js';
import { startS3rver, type TestS3Server } from './s3rver-server.js';

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const BAD_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
const MiB = 1024 * 1024;

let s3: TestS3Server;
let tmp: string;
let closedPort: number;

/** A port with nothing listening (bound then released). */
async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as AddressInfo).port;
  srv.close();
  await once(srv, 'close');
  return port;
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'mm-s3-'));
  s3 = await startS3rver(['s3-main', 's3-sse', 's3-odd']);
  closedPort = await freePort();
});

afterAll(async () => {
  await s3?.stop();
  await rm(tmp, { recursive: true, force: true });
});

function good(extra: Partial<S3FileStoreOptions> = {}) {
  return openS3FileStore({ bucket: 's3-main', endpoint: s3.endpoint, ssl: false, accessKeyId: s3.accessKeyId, secretAccessKey: SECRET, ...extra });
}

/** Asserts that nothing reachable from the error shows a credential. */
function expectNoSecret(e: unknown, ...secrets: string[]) {
  const views = [String(e), (e as Error).stack ?? '', inspect(e, { depth: 8, showHidden: true }), JSON.stringify(e)];
  for (const v of views) for (const s of secrets) expect(v).not.toContain(s);
  expect((e as Error).cause).toBeUndefined();
}

async function caught(p: Promise<unknown>): Promise<Error & { code: string }> {
  try {
    await p;
  } catch (e) {
    expect(isFileStoreError(e), String(e)).toBe(true);
    return e as Error & { code: string };
  }
  throw new Error('expected a rejection');
}

describe('S3 misconfiguration yields a clear error without leaking credentials', () => {
  const cases: Array<{
    name: string;
    opts: () => Partial<S3FileStoreOptions>;
    code: string;
    mentions: () => string[];
  }> = [
    {
      name: 'an endpoint where nothing listens',
      opts: () => ({ endpoint: `127.0.0.1:${closedPort}` }),
      code: FileStoreErrorCode.Unreachable,
      mentions: () => [`127.0.0.1:${closedPort}`, 'ECONNREFUSED'],
    },
    {
      name: 'SSL on against a plain-HTTP endpoint',
      opts: () => ({ ssl: true }),
      code: FileStoreErrorCode.Unreachable,
      mentions: () => [`https://${s3.endpoint}`, 'SSL'],
    },
    {
      name: 'a bucket that does not exist',
      opts: () => ({ bucket: 'no-such-bucket' }),
      code: FileStoreErrorCode.BucketNotFound,
      mentions: () => ['"no-such-bucket"', 'does not exist'],
    },
    {
      name: 'an unknown access key id',
      opts: () => ({ accessKeyId: BAD_KEY_ID }),
      code: FileStoreErrorCode.AccessDenied,
      mentions: () => ['access denied', 'is wrong'],
    },
  ];

  test.each(cases)('$name: check, put, get and list fail with a typed error naming the problem', async (c) => {
    const store = good({ maxAttempts: 1, requestTimeoutMs: 5000, ...c.opts() });
    try {
      for (const [op, call] of [
        ['check', () => store.check()],
        ['put', () => store.put('x/y', Buffer.from('data'))],
        ['get', () => store.get('x/y')],
        ['list', () => store.list('x')],
      ] as const) {
        const e = await caught(call());
        // HeadBucket has no response body, so a bad key id shows as a bare 403 → still AccessDenied.
        expect(e.code, `${op}: ${e.message}`).toBe(c.code);
        expect(e.message).toContain(op);
        for (const m of c.mentions()) expect(e.message, op).toContain(m);
        expectNoSecret(e, SECRET, BAD_KEY_ID);
      }
    } finally {
      await store.close();
    }
  });

  test.each([
    { name: 'only an access key id', opts: { accessKeyId: BAD_KEY_ID, secretAccessKey: '' }, want: 'both' },
    { name: 'only a secret', opts: { accessKeyId: '', secretAccessKey: SECRET }, want: 'both' },
    { name: 'no bucket', opts: { bucket: '' }, want: 'bucket is empty' },
    { name: 'a path prefix escaping with ..', opts: { pathPrefix: 'a/../b' }, want: 'pathPrefix' },
    { name: 'credentials inside the endpoint', opts: { endpoint: `http://${BAD_KEY_ID}:${encodeURIComponent(SECRET)}@127.0.0.1:9000` }, want: 'must not contain credentials' },
    { name: 'a part size below the S3 minimum', opts: { uploadPartSize: MiB }, want: 'uploadPartSize' },
  ])('opening with $name fails at once with a Config error', ({ opts, want }) => {
    let err: unknown = null;
    try {
      good(opts as Partial<S3FileStoreOptions>);
    } catch (e) {
      err = e;
    }
    expect(isFileStoreError(err, FileStoreErrorCode.Config), String(err)).toBe(true);
    expect((err as Error).message).toContain(want);
    expectNoSecret(err, SECRET, BAD_KEY_ID, encodeURIComponent(SECRET));
  });

  test('the store description names bucket, prefix and endpoint but no credential', () => {
    const store = good({ pathPrefix: 'mm' });
    expect(store.description).toBe(`s3://s3-main/mm at http://${s3.endpoint}`);
    expect(store.description).not.toContain(SECRET);
    expect(store.description).not.toContain(s3.accessKeyId);
  });
});

describe('S3 credentials from the AWS default chain when both keys are empty', () => {
  const saved: Record<string, string | undefined> = {};
  const vars = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_EC2_METADATA_DISABLED', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_WEB_IDENTITY_TOKEN_FILE'];
  beforeAll(() => {
    for (const v of vars) saved[v] = process.env[v];
    for (const v of vars) delete process.env[v];
    // Keep the chain local: no instance metadata probe, no profile files.
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    process.env.AWS_SHARED_CREDENTIALS_FILE = join(tmp, 'none-credentials');
    process.env.AWS_CONFIG_FILE = join(tmp, 'none-config');
  });
  afterAll(() => {
    for (const v of vars) {
      if (saved[v] === undefined) delete process.env[v];
      else process.env[v] = saved[v];
    }
  });

  test('keys in the environment are picked up', async () => {
    process.env.AWS_ACCESS_KEY_ID = s3.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = SECRET;
    const store = good({ accessKeyId: '', secretAccessKey: '' });
    try {
      await store.put('chain/ok', Buffer.from('via env'));
      expect((await readAll(await store.get('chain/ok'))).toString()).toBe('via env');
    } finally {
      delete process.env.AWS_ACCESS_KEY_ID;
      delete process.env.AWS_SECRET_ACCESS_KEY;
      await store.close();
    }
  });

  test('no credentials anywhere gives an AccessDenied error that says so', async () => {
    const store = good({ accessKeyId: '', secretAccessKey: '', maxAttempts: 1 });
    try {
      const e = await caught(store.check());
      expect(e.code).toBe(FileStoreErrorCode.AccessDenied);
      expect(e.message).toContain('no S3 credentials');
    } finally {
      await store.close();
    }
  });
});

describe('S3 uploads', () => {
  test('a small body is one PutObject; a large one is a multipart upload of 5 MiB parts', async () => {
    const events: S3TraceEvent[] = [];
    const store = good({ trace: (e) => events.push(e), pathPrefix: 'traced' });
    try {
      await store.put('small', Buffer.from('tiny'));
      expect(events.map((e) => e.command)).toEqual(['PutObjectCommand']);
      expect(events[0]).toMatchObject({ key: 'traced/small', status: 200, error: '' });
      events.length = 0;
      await store.put('big', patternStream(12 * MiB));
      const cmds = events.map((e) => e.command);
      expect(cmds[0]).toBe('CreateMultipartUploadCommand');
      expect(cmds.filter((c) => c === 'UploadPartCommand').length).toBe(3); // 5 + 5 + 2 MiB
      expect(cmds.at(-1)).toBe('CompleteMultipartUploadCommand');
      expect((await store.stat('big'))?.size).toBe(12 * MiB);
      expect(JSON.stringify(events)).not.toContain(SECRET);
    } finally {
      await store.close();
    }
  });

  test('a body exactly one part long is a single PutObject', async () => {
    const events: string[] = [];
    const store = good({ trace: (e) => events.push(e.command) });
    try {
      await store.put('exact', patternStream(5 * MiB));
      expect(events).toEqual(['PutObjectCommand']);
      expect((await store.stat('exact'))?.size).toBe(5 * MiB);
    } finally {
      await store.close();
    }
  });

  test('a stream failing after several parts aborts the multipart upload and creates nothing', async () => {
    const events: string[] = [];
    const store = good({ trace: (e) => events.push(e.command) });
    try {
      const src = patternStream(64 * MiB);
      let seen = 0;
      src.on('data', (c: Buffer) => {
        seen += c.length;
        if (seen > 12 * MiB) src.destroy(new Error('source went away'));
      });
      src.pause();
      await expect(store.put('aborted', src)).rejects.toThrow();
      expect(events).toContain('CreateMultipartUploadCommand');
      expect(events).toContain('AbortMultipartUploadCommand');
      expect(events).not.toContain('CompleteMultipartUploadCommand');
      expect(await store.exists('aborted')).toBe(false);
    } finally {
      await store.close();
    }
  });

  test('a declared size smaller than a multipart body aborts the upload', async () => {
    const events: string[] = [];
    const store = good({ trace: (e) => events.push(e.command) });
    try {
      const e = await caught(store.put('oversize', patternStream(16 * MiB), 11 * MiB));
      expect(e.code).toBe(FileStoreErrorCode.InvalidArgument);
      expect(events).toContain('AbortMultipartUploadCommand');
      expect(await store.exists('oversize')).toBe(false);
    } finally {
      await store.close();
    }
  });
});

describe('S3 listing', () => {
  test('list pages through ListObjectsV2 continuation tokens', async () => {
    const events: string[] = [];
    const store = good({ listPageSize: 3, pathPrefix: 'paging', trace: (e) => events.push(e.command) });
    try {
      const keys = Array.from({ length: 10 }, (_, i) => `p/k${String(i).padStart(2, '0')}`);
      for (const k of keys) await store.put(k, Buffer.from(k));
      events.length = 0;
      expect(await store.list('p')).toEqual(keys);
      expect(events.filter((c) => c === 'ListObjectsV2Command').length).toBe(4);
      await store.deletePrefix('p');
      expect(await store.list('p')).toEqual([]);
    } finally {
      await store.close();
    }
  });

  test('folder markers and odd keys written by other tools are not listed, but deletePrefix removes them', async () => {
    const raw = new S3Client({ region: 'us-east-1', endpoint: `http://${s3.endpoint}`, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: SECRET } });
    const store = good({ bucket: 's3-odd' });
    try {
      for (const Key of ['odd/dir/', 'odd/.mm-tmp-foreign', 'odd/ok', 'odd/sub/ok2']) await raw.send(new PutObjectCommand({ Bucket: 's3-odd', Key, Body: 'x' }));
      expect(await store.list('odd')).toEqual(['odd/ok', 'odd/sub/ok2']);
      expect(await store.listDirs('odd')).toEqual(['odd/dir', 'odd/sub']);
      await store.deletePrefix('odd');
      expect(await store.list('')).toEqual([]);
    } finally {
      raw.destroy();
      await store.close();
    }
  });
});

/** A recording HTTP proxy in front of s3rver: lets the test see the headers on the wire. */
async function recordingProxy(target: number): Promise<{ server: Server; port: number; seen: Array<{ method: string; url: string; headers: IncomingHttpHeaders }> }> {
  const seen: Array<{ method: string; url: string; headers: IncomingHttpHeaders }> = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const up = request({ host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port, seen };
}

describe('S3 server-side encryption (AmazonS3SSE)', () => {
  test.each([
    { sse: true, want: 'AES256' },
    { sse: false, want: undefined },
  ])('with sse=$sse, PutObject and CreateMultipartUpload carry x-amz-server-side-encryption=$want', async ({ sse, want }) => {
    const proxy = await recordingProxy(s3.port);
    // The proxy rewrites nothing, so the Host header names the proxy; s3rver does not care.
    const store = openS3FileStore({ bucket: 's3-sse', endpoint: `127.0.0.1:${proxy.port}`, ssl: false, accessKeyId: s3.accessKeyId, secretAccessKey: SECRET, sse });
    try {
      await store.put('sse/small', Buffer.from('x'));
      await store.put('sse/big', Readable.from(patternStream(11 * MiB)));
      const writes = proxy.seen.filter((r) => r.method === 'PUT' && !r.url.includes('partNumber') || (r.method === 'POST' && r.url.includes('uploads')));
      expect(writes.length).toBe(2);
      for (const w of writes) expect(w.headers['x-amz-server-side-encryption']).toBe(want);
      // The secret never travels; requests are signed with it.
      for (const r of proxy.seen) expect(JSON.stringify(r.headers)).not.toContain(SECRET);
      expect((await readAll(await store.get('sse/small'))).toString()).toBe('x');
    } finally {
      await store.close();
      proxy.server.close();
      proxy.server.closeAllConnections();
    }
  });
});

describe('S3 failures during a transfer', () => {
  test('a server dying mid-download surfaces as a typed Unreachable error on the stream', async () => {
    const own = await startS3rver(['dying']);
    const store = openS3FileStore({ bucket: 'dying', endpoint: own.endpoint, ssl: false, accessKeyId: own.accessKeyId, secretAccessKey: SECRET, maxAttempts: 1 });
    try {
      await store.put('big', patternStream(48 * MiB));
      const body = await store.get('big');
      let got = 0;
      let killed = false;
      const err = await new Promise<unknown>((resolve) => {
        body.on('data', (c: Buffer) => {
          got += c.length;
          if (!killed && got > MiB) {
            killed = true;
            body.pause();
            void own.kill().then(() => body.resume());
          }
        });
        body.on('error', resolve);
        body.on('end', () => resolve(null));
      });
      expect(got).toBeLessThan(48 * MiB);
      expect(isFileStoreError(err), String(err)).toBe(true);
      expect((err as { code: string }).code).toBe(FileStoreErrorCode.Unreachable);
      expect((err as Error).message).toContain('get "big"');
      expectNoSecret(err, SECRET);
    } finally {
      await store.close();
      await own.stop();
    }
  });
});
