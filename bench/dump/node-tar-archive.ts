/**
 * The archive step as it was before the hand-written writer (node-tar `create` with
 * gzip level 6 → hash/count → store.put), kept only so dump.bench.ts can measure both
 * side by side (STYLE.md §13). Not used by the product.
 */
import { createHash } from 'node:crypto';
import { PassThrough, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { create as tarCreate } from 'tar';
import type { FileStore } from '../../src/filestore/filestore.js';

class HashCounter extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

export async function uploadTarGzNodeTar(cwd: string, entries: string[], store: FileStore, key: string): Promise<{ size: number; sha256: string }> {
  const pack = tarCreate({ cwd, gzip: { level: 6 }, portable: true, noMtime: false }, entries);
  const counter = new HashCounter();
  const body = new PassThrough({ highWaterMark: 1 << 20 });
  const put = store.put(key, body);
  put.catch((e: unknown) => body.destroy(e as Error));
  await Promise.all([pipeline(pack as unknown as NodeJS.ReadableStream, counter, body), put]);
  return { size: counter.bytes, sha256: counter.hash.digest('hex') };
}
