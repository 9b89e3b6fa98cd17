/**
 * Helpers shared by the backends: durable local writes, argument checks, typed streams.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { FileStoreError, FileStoreErrorCode, InvalidRangeError, type FileStoreErrorCode as Code } from './errors.js';
import type { Body, ByteRange } from './filestore.js';
import { TEMP_MARKER } from './keys.js';

/** A fresh temp name in the same directory as `target` (same filesystem, so rename is atomic). */
export function tempPathFor(target: string): string {
  return join(dirname(target), TEMP_MARKER + basename(target).slice(0, 64) + '.' + randomBytes(6).toString('hex'));
}

/** fsync a directory so a rename/create/unlink inside it survives a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes all of `buf` (FileHandle.write may write less than asked). */
export async function writeAll(fh: FileHandle, buf: Uint8Array): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const { bytesWritten } = await fh.write(buf, off, buf.length - off);
    off += bytesWritten;
  }
}

/** Normalises a stream chunk to bytes (object-mode or string streams are accepted defensively). */
export function chunkBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk);
  throw new TypeError(`body stream yielded a ${typeof chunk}, expected Buffer/Uint8Array`);
}

/** Validates the optional `size` argument of put(). */
export function checkSizeArg(op: string, key: string, body: Body, size: number | undefined): void {
  if (size !== undefined && (!Number.isSafeInteger(size) || size < 0)) {
    throw new FileStoreError(FileStoreErrorCode.InvalidArgument, op, key, `${op} ${JSON.stringify(key)}: size must be a non-negative integer, got ${size}`);
  }
  if (body instanceof Uint8Array) {
    if (size !== undefined && size !== body.length) throw sizeMismatch(op, key, size, body.length);
  } else if (!(body instanceof Readable)) {
    throw new FileStoreError(FileStoreErrorCode.InvalidArgument, op, key, `${op} ${JSON.stringify(key)}: body must be a Buffer, Uint8Array or Readable`);
  }
}

export function sizeMismatch(op: string, key: string, expected: number, got: number | string): FileStoreError {
  return new FileStoreError(
    FileStoreErrorCode.InvalidArgument,
    op,
    key,
    `${op} ${JSON.stringify(key)}: body length ${got} does not match the declared size ${expected}; nothing was written`,
  );
}

/**
 * Validates a range against the object size and returns the inclusive [start, end] to read.
 * Mirrors S3: start ≥ size is unsatisfiable (even for start 0 on an empty object), end is clamped.
 */
export function resolveRange(op: string, key: string, range: ByteRange, size: number): [number, number] {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || start < 0) throw new InvalidRangeError(op, key, `start must be a non-negative integer, got ${start}`);
  if (end !== undefined && (!Number.isSafeInteger(end) || end < start)) {
    throw new InvalidRangeError(op, key, `end must be an integer ≥ start (${start}), got ${end}`);
  }
  if (start >= size) throw new InvalidRangeError(op, key, `start ${start} is beyond the object size ${size}`);
  return [start, end === undefined ? size - 1 : Math.min(end, size - 1)];
}

/** Checks the range argument shape before any I/O (sizes are checked later by resolveRange). */
export function checkRangeShape(op: string, key: string, range: ByteRange | undefined): void {
  if (range === undefined) return;
  if (range === null || typeof range !== 'object') throw new InvalidRangeError(op, key, 'range must be an object {start, end?}');
  if (!Number.isSafeInteger(range.start) || range.start < 0) throw new InvalidRangeError(op, key, `start must be a non-negative integer, got ${range.start}`);
  if (range.end !== undefined && (!Number.isSafeInteger(range.end) || range.end < range.start)) {
    throw new InvalidRangeError(op, key, `end must be an integer ≥ start (${range.start}), got ${range.end}`);
  }
}

/**
 * Re-emits `src` through a PassThrough whose 'error' events carry typed errors. Destroying the
 * returned stream destroys the source (so an HTTP client hanging up releases the S3 socket or
 * the file descriptor).
 */
export function typedReadable(src: Readable, mapError: (e: unknown) => Error): Readable {
  const out = new PassThrough();
  src.on('error', (e) => out.destroy(mapError(e)));
  out.on('close', () => {
    if (!src.destroyed) src.destroy();
  });
  src.pipe(out);
  return out;
}

/**
 * Streams `src` into `localPath` durably: temp file beside it, fsync, rename, fsync directory.
 * The temp file is removed on any failure. `mapError` converts I/O errors of the source.
 */
export async function downloadTo(src: Readable, localPath: string): Promise<void> {
  const tmp = tempPathFor(localPath);
  let fh: FileHandle | null = null;
  let renamed = false;
  try {
    fh = await open(tmp, 'wx', 0o644);
    for await (const chunk of src) await writeAll(fh, chunkBytes(chunk));
    await fh.sync();
    await fh.close();
    fh = null;
    await rename(tmp, localPath);
    renamed = true;
    await fsyncDir(dirname(localPath));
  } finally {
    if (fh !== null) await fh.close().catch(() => undefined);
    if (!renamed) await rm(tmp, { force: true }).catch(() => undefined);
    if (!src.destroyed) src.destroy();
  }
}

/** A generic wrapper for failures we have no better code for. */
export function ioError(op: string, key: string, detail: string, code: Code = FileStoreErrorCode.Io): FileStoreError {
  return new FileStoreError(code, op, key, `${op} ${JSON.stringify(key)}: ${detail}`);
}

/** Size of a local source file for putFile, with a typed error if it cannot be read. */
export async function sourceSize(op: string, key: string, localPath: string): Promise<number> {
  try {
    const st = await stat(localPath);
    if (!st.isFile()) throw new Error('not a regular file');
    return st.size;
  } catch (e) {
    throw new FileStoreError(FileStoreErrorCode.InvalidArgument, op, key, `${op} ${JSON.stringify(key)}: cannot read source file ${localPath}: ${(e instanceof Error ? e.message : String(e))}`);
  }
}

/**
 * Passes through bytes [skip, skip+limit) of `src` and ends; the source is destroyed once the
 * slice is complete so no more bytes are fetched than needed.
 */
export function sliceStream(src: Readable, skip: number, limit: number): Readable {
  let toSkip = skip;
  let left = limit;
  if (left === 0) throw new RangeError('sliceStream: empty slice');
  const out = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (left === 0) {
        cb(); // chunks already in flight after the slice ended
        return;
      }
      let b = chunk;
      if (toSkip > 0) {
        const n = Math.min(toSkip, b.length);
        toSkip -= n;
        b = b.subarray(n);
      }
      if (left > 0 && b.length > 0) {
        const piece = b.length > left ? b.subarray(0, left) : b;
        left -= piece.length;
        this.push(piece);
      }
      if (left === 0) {
        this.push(null); // left only reaches 0 here once: later chunks return early above
        src.unpipe(out);
        src.destroy();
      }
      cb();
    },
  });
  src.on('error', (e) => out.destroy(e));
  out.on('close', () => {
    if (!src.destroyed) src.destroy();
  });
  src.pipe(out);
  return out;
}
