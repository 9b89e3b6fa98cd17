/**
 * Buffered sequential file writer that tracks the absolute position, as Prometheus's
 * index `FileWriter` (pos, AddPadding). Writes to `<path>.tmp`; `finish()` flushes,
 * fsyncs, renames to `path` and fsyncs the directory; `abort()` removes the tmp file.
 */
import { open, rename, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

const ZEROS = new Uint8Array(16);

export class FileSink {
  readonly path: string;
  readonly tmpPath: string;
  private fh: FileHandle | null;
  private buf: Uint8Array;
  private bufLen: number;
  /** Bytes written so far (buffered included): the file offset of the next byte. */
  pos: number;

  private constructor(path: string, fh: FileHandle, bufferSize: number) {
    this.path = path;
    this.tmpPath = path + '.tmp';
    this.fh = fh;
    this.buf = new Uint8Array(bufferSize);
    this.bufLen = 0;
    this.pos = 0;
  }

  static async create(path: string, bufferSize = 1 << 20): Promise<FileSink> {
    const fh = await open(path + '.tmp', 'w');
    return new FileSink(path, fh, bufferSize);
  }

  async write(b: Uint8Array): Promise<void> {
    if (this.bufLen + b.length > this.buf.length) {
      await this.flush();
      if (b.length > this.buf.length) {
        await this.writeDirect(b);
        this.pos += b.length;
        return;
      }
    }
    this.buf.set(b, this.bufLen);
    this.bufLen += b.length;
    this.pos += b.length;
  }

  /** Zero bytes up to the next multiple of `align`. */
  async addPadding(align: number): Promise<void> {
    const p = this.pos % align;
    if (p === 0) return;
    await this.write(ZEROS.subarray(0, align - p));
  }

  private async writeDirect(b: Uint8Array): Promise<void> {
    let off = 0;
    while (off < b.length) {
      const { bytesWritten } = await this.fh!.write(b, off, b.length - off);
      off += bytesWritten;
    }
  }

  async flush(): Promise<void> {
    if (this.bufLen === 0) return;
    await this.writeDirect(this.buf.subarray(0, this.bufLen));
    this.bufLen = 0;
  }

  /** Flush, fsync, close, rename tmp → path, fsync the directory. */
  async finish(): Promise<void> {
    const fh = this.fh;
    if (fh === null) return;
    this.fh = null;
    try {
      await this.flushWith(fh);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(this.tmpPath, this.path);
    await fsyncDirOf(this.path);
  }

  private async flushWith(fh: FileHandle): Promise<void> {
    let off = 0;
    const b = this.buf.subarray(0, this.bufLen);
    while (off < b.length) {
      const { bytesWritten } = await fh.write(b, off, b.length - off);
      off += bytesWritten;
    }
    this.bufLen = 0;
  }

  /** Closes and removes the tmp file. */
  async abort(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    if (fh !== null) await fh.close().catch(() => undefined);
    await rm(this.tmpPath, { force: true });
  }
}

async function fsyncDirOf(path: string): Promise<void> {
  const fh = await open(dirname(path), 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
