/**
 * S3-compatible FileStore (Mattermost FileSettings.DriverName = "amazons3"), on
 * @aws-sdk/client-s3 v3. Options mirror Mattermost's FileSettings.AmazonS3* keys (FACTS §2):
 *
 *   Mattermost key                       option
 *   AmazonS3Bucket                       bucket
 *   AmazonS3PathPrefix                   pathPrefix   (prepended to every key, like path.Join)
 *   AmazonS3Region                       region       ('' → us-east-1 + follow region redirects)
 *   AmazonS3Endpoint                     endpoint     (host[:port], no scheme; "s3.amazonaws.com" = AWS)
 *   AmazonS3SSL                          ssl
 *   AmazonS3AccessKeyId / SecretAccessKey accessKeyId / secretAccessKey (both empty → SDK default chain)
 *   AmazonS3SSE                          sse          (SSE-S3, AES256)
 *   AmazonS3Trace                        trace        (callback per request; never sees credentials)
 *   AmazonS3RequestTimeoutMilliseconds   requestTimeoutMs (connect + socket idle; not a cap on a whole download)
 *   AmazonS3UploadPartSizeBytes          uploadPartSize
 *   AmazonS3SignV2                       — not supported by SDK v3 (config warns)
 *
 * Differences from the Go plugin on purpose (FACTS §9.11): TLS verification is on unless
 * `skipVerify`; SSE is honoured when asked for.
 *
 * Upload path:
 *   body ──► parts(partSize) ──► first part only? ──► PutObject (one request)
 *                                  └─ more ──► CreateMultipartUpload, UploadPart × N
 *                                              (≤ uploadQueueSize in flight), Complete
 *                                              (any failure → AbortMultipartUpload)
 * Memory is bounded by about partSize × (uploadQueueSize + 2) plus transport buffers, whatever
 * the object size (measured with 5 MiB parts: 21 / 26 / 40 MiB peak for queue 1 / 2 / 4).
 */
import { Agent as HttpsAgent } from 'node:https';
import { Readable } from 'node:stream';
import { createReadStream } from 'node:fs';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { FileStoreError, FileStoreErrorCode, InvalidRangeError } from './errors.js';
import type { Body, ByteRange, FileStore, ObjectInfo } from './filestore.js';
import { checkKey, checkPrefix, compareKeys, joinKey, keyProblem } from './keys.js';
import { mapS3Error, scrub, type S3ErrorContext } from './s3-errors.js';
import { checkRangeShape, checkSizeArg, chunkBytes, downloadTo, sizeMismatch, sliceStream, sourceSize, typedReadable } from './util.js';

/** One traced S3 request (AmazonS3Trace). Contains no credentials and no bodies. */
export interface S3TraceEvent {
  command: string;
  /** Full S3 key (with path prefix) or '' for bucket-level calls. */
  key: string;
  /** HTTP status, 0 if no response. */
  status: number;
  durationMs: number;
  /** S3 error code or errno when the request failed, else ''. */
  error: string;
}

export interface S3FileStoreOptions {
  bucket: string;
  pathPrefix: string;
  region: string;
  endpoint: string;
  ssl: boolean;
  /** true: https://endpoint/bucket/key; false: https://bucket.endpoint/key; null: auto (path style off AWS). */
  pathStyle: boolean | null;
  accessKeyId: string;
  secretAccessKey: string;
  sse: boolean;
  /** Skip TLS certificate verification (self-signed MinIO). The Go plugin always skipped it; we do not by default. */
  skipVerify: boolean;
  requestTimeoutMs: number;
  /** Multipart part size; S3 requires ≥ 5 MiB for every part but the last, and at most 10,000 parts. */
  uploadPartSize: number;
  /** Parts uploaded concurrently. */
  uploadQueueSize: number;
  /** SDK attempts per request (1 = no retry). */
  maxAttempts: number;
  /** Keys per ListObjectsV2 page (S3 caps it at 1000; smaller only to exercise paging in tests). */
  listPageSize: number;
  trace: ((ev: S3TraceEvent) => void) | null;
}

export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PART_SIZE = 5 * 1024 * 1024 * 1024;
/** S3's DeleteObjects limit. */
const DELETE_BATCH = 1000;
const AWS_ENDPOINT = 's3.amazonaws.com';

/** Every default in one place (Mattermost's FileSettings.SetDefaults values). */
export function defaultS3Options(): S3FileStoreOptions {
  return {
    bucket: '',
    pathPrefix: '',
    region: '',
    endpoint: AWS_ENDPOINT,
    ssl: true,
    pathStyle: null,
    accessKeyId: '',
    secretAccessKey: '',
    sse: false,
    skipVerify: false,
    requestTimeoutMs: 30_000,
    uploadPartSize: MIN_PART_SIZE,
    uploadQueueSize: 4,
    maxAttempts: 3,
    listPageSize: 1000,
    trace: null,
  };
}

/** Creates an S3 store. Validates options; does no network I/O (call check() for that). */
export function openS3FileStore(opts: Partial<S3FileStoreOptions>): S3FileStore {
  return new S3FileStore({ ...defaultS3Options(), ...opts });
}

function configError(msg: string): FileStoreError {
  return new FileStoreError(FileStoreErrorCode.Config, 'open', '', `open S3 file store: ${msg}`);
}

export class S3FileStore implements FileStore {
  readonly description: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  /** Normalised path prefix: '' or "a/b" (no leading/trailing slash). */
  private readonly prefix: string;
  private readonly sse: boolean;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly pageSize: number;
  private readonly ctx: S3ErrorContext;
  private closed: boolean;

  constructor(o: S3FileStoreOptions) {
    if (o.bucket === '') throw configError('bucket is empty (FileSettings.AmazonS3Bucket)');
    if ((o.accessKeyId === '') !== (o.secretAccessKey === '')) {
      throw configError('set both the access key id and the secret access key, or neither (to use the AWS default credential chain)');
    }
    if (!Number.isSafeInteger(o.uploadPartSize) || o.uploadPartSize < MIN_PART_SIZE || o.uploadPartSize > MAX_PART_SIZE) {
      throw configError(`uploadPartSize must be between ${MIN_PART_SIZE} and ${MAX_PART_SIZE} bytes, got ${o.uploadPartSize}`);
    }
    if (!Number.isSafeInteger(o.uploadQueueSize) || o.uploadQueueSize < 1) throw configError(`uploadQueueSize must be ≥ 1, got ${o.uploadQueueSize}`);
    const prefix = o.pathPrefix.replace(/^\/+|\/+$/g, '');
    if (prefix !== '' && keyProblem(prefix) !== '') throw configError(`pathPrefix ${JSON.stringify(o.pathPrefix)}: ${keyProblem(prefix)}`);

    // Endpoint: Mattermost stores host[:port] and a separate SSL flag; a full URL is accepted too.
    const ep = o.endpoint.trim();
    const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(ep);
    const isAws = ep === '' || ep === AWS_ENDPOINT;
    let endpointUrl: string | undefined;
    if (!isAws || !o.ssl) {
      const raw = hasScheme ? ep : `${o.ssl ? 'https' : 'http'}://${ep === '' ? AWS_ENDPOINT : ep}`;
      let u: URL;
      try {
        u = new URL(raw);
      } catch {
        throw configError(`endpoint ${JSON.stringify(scrub(ep, [o.accessKeyId, o.secretAccessKey]))} is not a valid host[:port]`);
      }
      if (u.username !== '' || u.password !== '') throw configError('endpoint must not contain credentials');
      endpointUrl = `${u.protocol}//${u.host}`;
    }
    const pathStyle = o.pathStyle ?? !isAws;
    const cfg: S3ClientConfig = {
      region: o.region !== '' ? o.region : 'us-east-1',
      followRegionRedirects: true,
      forcePathStyle: pathStyle,
      maxAttempts: o.maxAttempts,
      // Checksums only when an API requires them: third-party S3 servers (MinIO versions, Ceph,
      // s3rver) reject or mangle the aws-chunked trailers the SDK sends by default since 3.729.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        connectionTimeout: o.requestTimeoutMs,
        socketTimeout: o.requestTimeoutMs,
        ...(o.skipVerify ? { httpsAgent: new HttpsAgent({ keepAlive: true, rejectUnauthorized: false }) } : {}),
      },
    };
    if (endpointUrl !== undefined) cfg.endpoint = endpointUrl;
    if (o.accessKeyId !== '') cfg.credentials = { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey };
    this.client = new S3Client(cfg);
    this.bucket = o.bucket;
    this.prefix = prefix;
    this.sse = o.sse;
    this.partSize = o.uploadPartSize;
    this.queueSize = o.uploadQueueSize;
    this.pageSize = Math.max(1, Math.min(1000, Math.floor(o.listPageSize)));
    this.closed = false;
    const where = endpointUrl ?? 'AWS S3';
    this.ctx = { endpoint: where, bucket: o.bucket, secrets: [o.accessKeyId, o.secretAccessKey] };
    this.description = `s3://${o.bucket}${prefix !== '' ? '/' + prefix : ''} at ${where}`;
    if (o.trace !== null) this.installTrace(o.trace);
  }

  /** Adds a middleware that reports each request; it sees command names and keys only. */
  private installTrace(trace: (ev: S3TraceEvent) => void): void {
    this.client.middlewareStack.add(
      (next, context) => async (args) => {
        const t0 = performance.now();
        const input = args.input as { Key?: string };
        const ev: S3TraceEvent = { command: String(context.commandName ?? ''), key: input.Key ?? '', status: 0, durationMs: 0, error: '' };
        try {
          const out = await next(args);
          ev.status = (out.output as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 0;
          return out;
        } catch (e) {
          const m = e as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
          ev.status = m.$metadata?.httpStatusCode ?? 0;
          ev.error = m.code ?? m.name ?? 'Error';
          throw e;
        } finally {
          ev.durationMs = performance.now() - t0;
          try {
            trace(ev);
          } catch {
            // a faulty tracer must not break storage
          }
        }
      },
      { step: 'initialize', name: 'mmMetricsTrace' },
    );
  }

  private open(op: string): void {
    if (this.closed) throw new FileStoreError(FileStoreErrorCode.Closed, op, '', `${op}: file store ${this.description} is closed`);
  }

  private full(key: string): string {
    return joinKey(this.prefix, key);
  }

  /** Inverse of full(): strips the path prefix from a listed S3 key. */
  private rel(s3Key: string): string {
    return this.prefix === '' ? s3Key : s3Key.slice(this.prefix.length + 1);
  }

  private err(op: string, key: string, e: unknown): FileStoreError {
    return mapS3Error(op, key, e, this.ctx);
  }

  async put(key: string, body: Body, size?: number): Promise<void> {
    this.open('put');
    checkKey('put', key);
    checkSizeArg('put', key, body, size);
    const parts = body instanceof Uint8Array ? sliceParts(body, this.partSize) : streamParts(body, this.partSize);
    let upload: { id: string; etags: string[] } | null = null;
    const inflight = new Set<Promise<void>>();
    try {
      const first = await parts.next();
      const second = first.done ? first : await parts.next();
      if (second.done) {
        const buf = first.done ? new Uint8Array(0) : first.value;
        if (size !== undefined && buf.length !== size) throw sizeMismatch('put', key, size, buf.length);
        await this.client.send(new PutObjectCommand({ ...this.putBase(key), Body: buf, ContentLength: buf.length }));
        return;
      }
      const created = await this.client.send(new CreateMultipartUploadCommand(this.putBase(key)));
      upload = { id: created.UploadId ?? '', etags: [] };
      let total = 0;
      let failure: unknown = null;
      const send = (n: number, buf: Uint8Array) => {
        const u = upload!;
        const task: Promise<void> = this.client
          .send(new UploadPartCommand({ Bucket: this.bucket, Key: this.full(key), UploadId: u.id, PartNumber: n, Body: buf, ContentLength: buf.length }))
          .then(
            (r) => {
              u.etags[n - 1] = r.ETag ?? '';
            },
            (e: unknown) => {
              if (failure === null) failure = e;
            },
          )
          .finally(() => inflight.delete(task));
        inflight.add(task);
      };
      let n = 0;
      for (const r of [first, second]) {
        if (r.done) break;
        total += r.value.length;
        send(++n, r.value);
      }
      for (;;) {
        while (inflight.size >= this.queueSize) await Promise.race(inflight);
        if (failure !== null) break;
        if (size !== undefined && total > size) break;
        const r = await parts.next();
        if (r.done) break;
        total += r.value.length;
        if (n >= 10_000) throw new FileStoreError(FileStoreErrorCode.InvalidArgument, 'put', key, `put ${JSON.stringify(key)}: more than 10000 parts; raise the upload part size`);
        send(++n, r.value);
      }
      await Promise.all(inflight);
      if (failure !== null) throw failure;
      if (size !== undefined && total !== size) throw sizeMismatch('put', key, size, total > size ? `> ${size}` : total);
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: this.full(key),
          UploadId: upload.id,
          MultipartUpload: { Parts: upload.etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
        }),
      );
      upload = null;
    } catch (e) {
      throw this.err('put', key, e);
    } finally {
      await parts.return(undefined).catch(() => undefined); // releases (destroys) the source stream
      if (upload !== null) {
        // Let in-flight parts settle first: a part finishing after the abort could survive it.
        await Promise.allSettled(inflight);
        // Best effort: an unaborted upload keeps billing storage until a lifecycle rule removes it.
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.full(key), UploadId: upload.id })).catch(() => undefined);
      }
    }
  }

  private putBase(key: string): { Bucket: string; Key: string; ServerSideEncryption?: 'AES256' } {
    return this.sse ? { Bucket: this.bucket, Key: this.full(key), ServerSideEncryption: 'AES256' } : { Bucket: this.bucket, Key: this.full(key) };
  }

  async putFile(key: string, localPath: string): Promise<void> {
    this.open('putFile');
    checkKey('putFile', key);
    const size = await sourceSize('putFile', key, localPath);
    await this.put(key, createReadStream(localPath, { highWaterMark: 1024 * 1024 }), size);
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    this.open('get');
    checkKey('get', key);
    checkRangeShape('get', key, range);
    try {
      const r = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.full(key),
          ...(range !== undefined ? { Range: `bytes=${range.start}-${range.end ?? ''}` } : {}),
        }),
      );
      const body = r.Body;
      if (!(body instanceof Readable)) throw new FileStoreError(FileStoreErrorCode.Io, 'get', key, `get ${JSON.stringify(key)}: S3 response has no stream body`);
      const typed = typedReadable(body, (e) => this.err('get', key, e));
      if (range === undefined) return typed;
      // Trust but verify: S3-compatible servers get ranges wrong (s3rver serves "bytes=0-0" as the
      // whole object; some proxies drop Range and answer 200). Cut the served bytes down to the
      // requested slice, which is exact whenever the server started at or before our start.
      const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(r.ContentRange ?? '');
      const gotStart = m !== null ? Number(m[1]) : 0;
      const gotEnd = m !== null ? Number(m[2]) : (r.ContentLength ?? 0) - 1;
      if (m === null && range.start > gotEnd) {
        typed.destroy();
        throw new InvalidRangeError('get', key, `start ${range.start} is beyond the object size ${gotEnd + 1}`);
      }
      if (gotStart > range.start) {
        typed.destroy();
        throw new FileStoreError(FileStoreErrorCode.Io, 'get', key, `get ${JSON.stringify(key)}: S3 server returned bytes from ${gotStart}, asked from ${range.start}`);
      }
      const wantEnd = Math.min(range.end ?? Infinity, gotEnd);
      if (gotStart === range.start && wantEnd === gotEnd) return typed;
      return sliceStream(typed, range.start - gotStart, wantEnd - range.start + 1);
    } catch (e) {
      throw this.err('get', key, e);
    }
  }

  async getFile(key: string, localPath: string): Promise<void> {
    this.open('getFile');
    checkKey('getFile', key);
    const src = await this.get(key);
    try {
      await downloadTo(src, localPath);
    } catch (e) {
      if (e instanceof FileStoreError) throw e;
      throw new FileStoreError(FileStoreErrorCode.Io, 'getFile', key, `getFile ${JSON.stringify(key)} (local file ${localPath}): ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    this.open('stat');
    checkKey('stat', key);
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.full(key) }));
      return { size: r.ContentLength ?? 0, mtime: r.LastModified ?? new Date(0) };
    } catch (e) {
      const m = this.err('stat', key, e);
      if (m.code === FileStoreErrorCode.NotFound) return null;
      throw m;
    }
  }

  async exists(key: string): Promise<boolean> {
    checkKey('exists', key);
    return (await this.stat(key)) !== null;
  }

  /**
   * Pages through ListObjectsV2 under `dirKey/`. With `delimiter`, yields CommonPrefixes
   * (without the trailing "/") instead of keys. Yields raw S3 keys (with the path prefix).
   */
  private async *listRaw(op: string, userPrefix: string, dirKey: string, delimiter: boolean): AsyncGenerator<string> {
    const full = this.full(dirKey);
    const Prefix = full === '' ? '' : full + '/';
    let token: string | undefined;
    do {
      let r;
      try {
        r = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix, MaxKeys: this.pageSize, ContinuationToken: token, ...(delimiter ? { Delimiter: '/' } : {}) }),
        );
      } catch (e) {
        throw this.err(op, userPrefix, e);
      }
      if (delimiter) {
        for (const cp of r.CommonPrefixes ?? []) if (cp.Prefix !== undefined) yield cp.Prefix.replace(/\/+$/, '');
      } else {
        for (const o of r.Contents ?? []) if (o.Key !== undefined) yield o.Key;
      }
      token = r.IsTruncated === true ? r.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async list(prefix: string): Promise<string[]> {
    this.open('list');
    const p = checkPrefix('list', prefix);
    const out: string[] = [];
    for await (const k of this.listRaw('list', prefix, p, false)) {
      const rel = this.rel(k);
      // Skip what our own get() could not address: folder markers ("x/") written by S3 consoles, odd keys ("a//b").
      if (keyProblem(rel) === '') out.push(rel);
    }
    return out.sort(compareKeys);
  }

  async listDirs(prefix: string): Promise<string[]> {
    this.open('listDirs');
    const p = checkPrefix('listDirs', prefix);
    const out: string[] = [];
    for await (const k of this.listRaw('listDirs', prefix, p, true)) {
      const rel = this.rel(k);
      if (keyProblem(rel) === '') out.push(rel);
    }
    return out.sort(compareKeys);
  }

  async delete(key: string): Promise<void> {
    this.open('delete');
    checkKey('delete', key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.full(key) }));
    } catch (e) {
      const m = this.err('delete', key, e);
      if (m.code !== FileStoreErrorCode.NotFound) throw m;
    }
  }

  async deletePrefix(prefix: string): Promise<void> {
    this.open('deletePrefix');
    const p = checkPrefix('deletePrefix', prefix, false);
    let batch: string[] = [];
    // Every raw key, including folder markers and odd keys, is deleted: the prefix is gone afterwards.
    for await (const k of this.listRaw('deletePrefix', prefix, p, false)) {
      batch.push(k);
      if (batch.length === DELETE_BATCH) {
        await this.deleteBatch(prefix, batch);
        batch = [];
      }
    }
    if (batch.length > 0) await this.deleteBatch(prefix, batch);
  }

  private async deleteBatch(prefix: string, keys: string[]): Promise<void> {
    let r;
    try {
      r = await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }));
    } catch (e) {
      const m = this.err('deletePrefix', prefix, e);
      const s3Code = (m as { s3Code?: string }).s3Code;
      // Some S3-compatible servers (GCS interop, old Ceph) lack DeleteObjects: fall back to one by one.
      if (s3Code !== 'NotImplemented' && s3Code !== 'MethodNotAllowed') throw m;
      await this.deleteEach(prefix, keys);
      return;
    }
    const errs = r.Errors ?? [];
    if (errs.length > 0) {
      const e0 = errs[0]!;
      throw new FileStoreError(
        FileStoreErrorCode.Io,
        'deletePrefix',
        prefix,
        `deletePrefix ${JSON.stringify(prefix)}: ${errs.length} of ${keys.length} objects not deleted (first: ${JSON.stringify(this.rel(e0.Key ?? ''))}: ${e0.Code ?? 'error'})`,
      );
    }
  }

  private async deleteEach(prefix: string, keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 8) {
      await Promise.all(
        keys.slice(i, i + 8).map((Key) =>
          this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key })).catch((e: unknown) => {
            throw this.err('deletePrefix', prefix, e);
          }),
        ),
      );
    }
  }

  async check(): Promise<void> {
    this.open('check');
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (e) {
      throw this.err('check', '', e);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.destroy();
  }
}

/** Parts of a buffer: zero-copy subarrays. An empty buffer yields one empty part. */
async function* sliceParts(buf: Uint8Array, partSize: number): AsyncGenerator<Uint8Array, void, undefined> {
  if (buf.length === 0) {
    yield buf;
    return;
  }
  for (let off = 0; off < buf.length; off += partSize) yield buf.subarray(off, Math.min(off + partSize, buf.length));
}

/**
 * Parts of a stream, each exactly `partSize` bytes except the last. Chunks are copied into a
 * fresh part buffer (a part is handed to an in-flight request, so it cannot be reused). An
 * empty stream yields one empty part. Returning early (generator .return()) destroys the stream.
 */
async function* streamParts(stream: Readable, partSize: number): AsyncGenerator<Uint8Array, void, undefined> {
  let buf = Buffer.allocUnsafe(partSize);
  let fill = 0;
  let yielded = false;
  try {
    for await (const chunk of stream) {
      const b = chunkBytes(chunk);
      let off = 0;
      while (off < b.length) {
        const n = Math.min(partSize - fill, b.length - off);
        buf.set(b.subarray(off, off + n), fill);
        fill += n;
        off += n;
        if (fill === partSize) {
          yielded = true;
          yield buf;
          buf = Buffer.allocUnsafe(partSize);
          fill = 0;
        }
      }
    }
    if (fill > 0 || !yielded) yield buf.subarray(0, fill);
  } finally {
    if (!stream.destroyed) stream.destroy();
  }
}
