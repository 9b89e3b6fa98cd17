/**
 * Streams a dump into the file store as one tar.gz, hashing every file on the way (for
 * SHA256SUMS) and the archive itself, so neither the archive nor any file is ever held
 * in memory whole and every input byte is read exactly once.
 *
 *   entries (added one at a time, in archive order)
 *     data/<ULID>/chunks/000001 …   ─► ustar header + content + padding ─► gzip (level 6, 1 MiB blocks
 *     data/<ULID>/index, meta.json …                                        deflated in parallel on the
 *                                                                           libuv thread pool, pgzip.ts)
 *     data/wal/                                                                 │
 *     metadata.yaml                                                             ▼
 *     SHA256SUMS (sha256sum -c compatible manifest of every file)   count + sha256 ─► store.put(key)
 *
 * Why a hand-written ustar writer instead of node-tar: the archive holds a handful of
 * regular files and directories, written by us, and node-tar's per-entry machinery
 * (stat, readdir, mode/owner handling, its own stream stack) cost more than the headers
 * (bench/dump/dump.bench.ts keeps node-tar side by side). Entries can be added while the
 * dump block is still being written, so gzip runs on another thread while the main
 * thread assembles the next chunks.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir, stat, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, relative, sep } from 'node:path';
import { PassThrough } from 'node:stream';
import type { FileStore } from '../filestore/filestore.js';
import { ParallelGzip } from './pgzip.js';

export const MANIFEST_NAME = 'SHA256SUMS';

/** Every regular file below `dir`, as '/'-separated paths relative to `dir`, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string): Promise<void> {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && d === dir) return;
      throw e;
    }
    for (const e of entries) {
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

/** `sha256sum` manifest text ("<hex>  <path>\n", paths sorted) for `sums` (path → hex). */
export function manifestText(sums: ReadonlyMap<string, string>): string {
  let text = '';
  for (const f of [...sums.keys()].sort()) text += `${sums.get(f) as string}  ${f}\n`;
  return text;
}

/**
 * Writes `SHA256SUMS` into `dir` covering every file already there
 * (format of `sha256sum`: "<hex>  <path>\n"), and returns the file list it covers.
 */
export async function writeManifest(dir: string): Promise<string[]> {
  const files = (await listFiles(dir)).filter((f) => f !== MANIFEST_NAME);
  const sums = new Map<string, string>();
  for (const f of files) sums.set(f, await sha256File(join(dir, f)));
  await writeFile(join(dir, MANIFEST_NAME), manifestText(sums), { mode: 0o644 });
  return files;
}

export interface ArchiveResult {
  size: number;
  sha256: string;
}

export class ArchiveError extends Error {
  readonly code = 'MM_ERR_DUMP_ARCHIVE';
}

/** Bytes read from a file at a time (one buffer per writer, reused: gzip copies what it is given). */
const READ_SIZE = 1 << 20;
const BLOCK = 512;
const ZEROS = new Uint8Array(2 * BLOCK);
/** Largest size an 11-digit octal field holds; beyond it the GNU base-256 form is used. */
const MAX_OCTAL_SIZE = 0o77777777777;

function putString(h: Uint8Array, off: number, len: number, s: string): void {
  const b = Buffer.from(s, 'utf8');
  if (b.length > len) throw new ArchiveError(`tar header field too long: ${JSON.stringify(s)}`);
  h.set(b, off);
}

/** Zero-padded octal of `width - 1` digits plus NUL, as POSIX ustar wants. */
function putOctal(h: Uint8Array, off: number, width: number, v: number): void {
  putString(h, off, width, v.toString(8).padStart(width - 1, '0') + '\0');
}

/**
 * One ustar header. Names longer than 100 bytes are split at a '/' into prefix (≤155)
 * and name (≤100); anything longer is refused (our paths are short and fixed).
 */
export function tarHeader(path: string, type: 'file' | 'dir', size: number, mtimeSec: number): Uint8Array {
  const h = new Uint8Array(BLOCK);
  let name = type === 'dir' && !path.endsWith('/') ? path + '/' : path;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', name.length - 2);
    prefix = name.slice(0, cut);
    name = name.slice(cut + 1);
    if (cut <= 0 || Buffer.byteLength(name) > 100 || Buffer.byteLength(prefix) > 155) throw new ArchiveError(`path too long for a ustar header: ${path}`);
  }
  putString(h, 0, 100, name);
  putOctal(h, 100, 8, type === 'dir' ? 0o755 : 0o644);
  putOctal(h, 108, 8, 0); // uid
  putOctal(h, 116, 8, 0); // gid
  if (size <= MAX_OCTAL_SIZE) putOctal(h, 124, 12, size);
  else {
    // GNU base-256: high bit set, big-endian binary in the remaining 11 bytes.
    h[124] = 0x80;
    let v = size;
    for (let i = 135; i > 124; i--) {
      h[i] = v % 256;
      v = Math.floor(v / 256);
    }
  }
  putOctal(h, 136, 12, Math.floor(mtimeSec));
  h.fill(0x20, 148, 156); // checksum field counts as spaces
  h[156] = type === 'dir' ? 0x35 : 0x30;
  putString(h, 257, 6, 'ustar\0');
  putString(h, 263, 2, '00');
  putString(h, 345, 155, prefix);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i] as number;
  putString(h, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  return h;
}

export interface TarGzOptions {
  /** gzip level (default 6, what `tar czf` uses, so archive sizes are comparable). */
  level?: number;
  /** Deflate jobs in flight (pgzip.ts); default: the CPUs available to the process, at most 3. */
  parallel?: number;
  signal?: AbortSignal;
  /** mtime of every entry (seconds); default now. */
  mtimeSec?: number;
}

/**
 * A tar.gz being streamed into `store` at `key`. Add entries one at a time (calls must
 * not overlap), then `finish()`; on any failure call `abort(err)`, which waits until the
 * store has dropped the partial object: the store write is atomic, so on failure or
 * cancellation nothing appears at `key`.
 */
export class TarGzWriter {
  private readonly gz: ParallelGzip;
  private readonly body: PassThrough;
  private readonly put: Promise<void>;
  private readonly hash: Hash;
  private bytes: number;
  private readonly mtime: number;
  private readonly readBuf: Buffer;
  private failure: Error | null;
  /** sha256 (hex) of every file added, by archive path. */
  readonly sums: Map<string, string>;

  constructor(store: FileStore, key: string, opts: TarGzOptions = {}) {
    this.hash = createHash('sha256');
    this.bytes = 0;
    this.mtime = opts.mtimeSec ?? Date.now() / 1000;
    this.readBuf = Buffer.allocUnsafe(READ_SIZE);
    this.failure = null;
    this.sums = new Map();
    this.body = new PassThrough({ highWaterMark: 4 << 20 });
    // Destroying the body with the failure emits 'error'; `failure` already carries it.
    this.body.on('error', () => {});
    this.put = store.put(key, this.body);
    // A store failing early stops the producer: every later write sees `failure`.
    this.put.catch((e: unknown) => this.fail(e as Error));
    // At most 3 jobs: the thread pool (4 threads by default) keeps one for file I/O.
    this.gz = new ParallelGzip((b) => this.sink(b), { level: opts.level ?? 6, parallel: opts.parallel ?? Math.min(3, availableParallelism()) });
    const signal = opts.signal;
    if (signal) {
      if (signal.aborted) this.fail(signal.reason as Error);
      else signal.addEventListener('abort', () => this.fail(signal.reason as Error), { once: true });
    }
  }

  private fail(e: Error): void {
    this.failure ??= e;
    this.gz.destroy();
    if (!this.body.destroyed) this.body.destroy(this.failure);
  }

  /** Compressed bytes out: counted, hashed, handed to the store with backpressure. */
  private async sink(b: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    this.hash.update(b);
    this.bytes += b.length;
    if (this.body.write(b)) return;
    await new Promise<void>((resolve, reject) => {
      const body = this.body;
      const cleanup = () => {
        body.off('drain', onDrain);
        body.off('close', onClose);
      };
      const onDrain = () => {
        cleanup();
        resolve();
      };
      const onClose = () => {
        cleanup();
        reject(this.failure ?? new ArchiveError('archive upload closed'));
      };
      body.on('drain', onDrain);
      body.on('close', onClose);
    });
  }

  private async write(b: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    await this.gz.write(b);
  }

  async addDirectory(path: string): Promise<void> {
    await this.write(tarHeader(path, 'dir', 0, this.mtime));
  }

  /** Adds a file from memory; returns its sha256 (hex). */
  async addBytes(path: string, data: Uint8Array): Promise<string> {
    await this.write(tarHeader(path, 'file', data.length, this.mtime));
    if (data.length > 0) await this.write(data);
    await this.pad(data.length);
    const hex = createHash('sha256').update(data).digest('hex');
    this.sums.set(path, hex);
    return hex;
  }

  /**
   * Streams the file at `local` into the archive as `path`, hashing it; returns its
   * sha256 (hex). The file must not change while it is added (ours never do: they are
   * finished dump files or hard links of immutable block files).
   */
  async addFile(path: string, local: string): Promise<string> {
    const fh = await open(local, 'r');
    try {
      const size = (await fh.stat()).size;
      await this.write(tarHeader(path, 'file', size, this.mtime));
      const h = createHash('sha256');
      const buf = this.readBuf;
      let pos = 0;
      while (pos < size) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(READ_SIZE, size - pos), pos);
        if (bytesRead === 0) throw new ArchiveError(`${local} shrank while being archived (${pos} of ${size} bytes)`);
        const part = buf.subarray(0, bytesRead);
        h.update(part);
        await this.write(part); // copied by gzip: `buf` is free again
        pos += bytesRead;
      }
      await this.pad(size);
      const hex = h.digest('hex');
      this.sums.set(path, hex);
      return hex;
    } finally {
      await fh.close();
    }
  }

  private async pad(size: number): Promise<void> {
    const rem = size % BLOCK;
    if (rem !== 0) await this.write(ZEROS.subarray(0, BLOCK - rem));
  }

  /** Ends the archive (two zero blocks), waits for the store, returns size and sha256. */
  async finish(): Promise<ArchiveResult> {
    await this.write(ZEROS);
    await this.gz.end();
    if (this.failure) throw this.failure;
    this.body.end();
    await this.put;
    return { size: this.bytes, sha256: this.hash.digest('hex') };
  }

  /** Stops the upload; resolves once the store has given up the partial object. */
  async abort(err: Error): Promise<void> {
    this.fail(err);
    await this.put.catch(() => {});
  }
}

/**
 * Tars and gzips `entries` (paths relative to `cwd`; directories recurse) into `store`
 * at `key`. The store write is atomic: on failure nothing appears at `key`.
 */
export async function uploadTarGz(cwd: string, entries: string[], store: FileStore, key: string, signal?: AbortSignal, opts: Omit<TarGzOptions, 'signal'> = {}): Promise<ArchiveResult> {
  const w = new TarGzWriter(store, key, signal ? { ...opts, signal } : opts);
  try {
    for (const e of entries) {
      const st = await stat(join(cwd, e));
      if (!st.isDirectory()) {
        await w.addFile(e, join(cwd, e));
        continue;
      }
      // Directories first, then their files, as `tar c` lists them.
      const walk = async (rel: string): Promise<void> => {
        await w.addDirectory(rel);
        const list = await readdir(join(cwd, rel), { withFileTypes: true });
        list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        for (const d of list) {
          const p = `${rel}/${d.name}`;
          if (d.isDirectory()) await walk(p);
          else if (d.isFile()) await w.addFile(p, join(cwd, p));
        }
      };
      await walk(e);
    }
    return await w.finish();
  } catch (e) {
    await w.abort(e as Error);
    throw e;
  }
}

/** Size of a file or 0 if absent. */
export async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}
