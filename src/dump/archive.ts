/**
 * Streams a staged dump directory into the file store as one tar.gz, hashing it on
 * the way, so neither the archive nor any block file is ever held in memory whole.
 *
 *   staging/                         archive entries (paths as in the tar)
 *     data/<ULID>/meta.json     ──►  data/<ULID>/meta.json
 *     data/<ULID>/index              data/<ULID>/index …
 *     data/wal/                      (empty dir: `prometheus --storage.tsdb.path=data` wants none)
 *     metadata.yaml                  metadata.yaml
 *     SHA256SUMS                     SHA256SUMS (sha256sum -c compatible manifest of every file)
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { PassThrough, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { create as tarCreate } from 'tar';
import type { FileStore } from '../filestore/filestore.js';

export const MANIFEST_NAME = 'SHA256SUMS';

/** Every regular file below `dir`, as '/'-separated paths relative to `dir`, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string): Promise<void> {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.push(relative(dir, p).split(sep).join('/'));
    }
  }
  await walk(dir);
  return out.sort();
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * Writes `SHA256SUMS` into `dir` covering every file already there
 * (format of `sha256sum`: "<hex>  <path>\n"), and returns the file list it covers.
 */
export async function writeManifest(dir: string): Promise<string[]> {
  const files = (await listFiles(dir)).filter((f) => f !== MANIFEST_NAME);
  let text = '';
  for (const f of files) text += `${await sha256File(join(dir, f))}  ${f}\n`;
  await writeFile(join(dir, MANIFEST_NAME), text, { mode: 0o644 });
  return files;
}

/** Counts and hashes bytes flowing through. */
class HashCounter extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

export interface ArchiveResult {
  size: number;
  sha256: string;
}

/**
 * Tars and gzips `entries` (paths relative to `cwd`; directories recurse) into
 * `store` at `key`. gzip level 6, what `tar czf` uses, so archive sizes are comparable.
 * The store write is atomic: on failure nothing appears at `key`.
 */
export async function uploadTarGz(cwd: string, entries: string[], store: FileStore, key: string, signal?: AbortSignal): Promise<ArchiveResult> {
  const pack = tarCreate({ cwd, gzip: { level: 6 }, portable: true, noMtime: false }, entries);
  const counter = new HashCounter();
  const body = new PassThrough({ highWaterMark: 1 << 20 });
  const put = store.put(key, body);
  // If the store fails early, stop producing: destroying the body ends the pipeline too.
  put.catch((e: unknown) => body.destroy(e as Error));
  const piping = pipeline(pack as unknown as NodeJS.ReadableStream, counter, body, signal ? { signal } : {});
  await Promise.all([piping, put]);
  return { size: counter.bytes, sha256: counter.hash.digest('hex') };
}

/** Size of a file or 0 if absent. */
export async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}
