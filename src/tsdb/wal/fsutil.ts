/** Small durability helpers (STYLE.md §7: tmp → fsync → rename → fsync dir). */
import { open, type FileHandle } from 'node:fs/promises';
import { openSync, fsyncSync, closeSync } from 'node:fs';

/** fsyncs a directory so created, renamed or deleted entries survive a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Synchronous `fsyncDir`. */
export function fsyncDirSync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes all of `buf[start:end)` at the current (append) position; `write` may be partial. */
export async function writeAll(fh: FileHandle, buf: Uint8Array, start: number, end: number): Promise<void> {
  let p = start;
  while (p < end) {
    const { bytesWritten } = await fh.write(buf, p, end - p);
    if (bytesWritten <= 0) throw new Error(`short write: ${bytesWritten} bytes`);
    p += bytesWritten;
  }
}
