/**
 * Writer of block chunk segment files `chunks/000001`, `000002`, … (Prometheus
 * `tsdb/chunks/chunks.go` `Writer`), byte-identical for the same chunks.
 *
 *     segment:  ┌──────────────┬──────────┬────────────┬──────────────────────────────┐
 *               │ magic BE32   │ version 1│ pad 3 × 00 │ chunk records …              │
 *               └──────────────┴──────────┴────────────┴──────────────────────────────┘
 *     record:   │ len uvarint (data only) │ encoding u8 │ data │ CRC32C(encoding+data) BE32 │
 *
 * Segments are cut exactly where `WriteChunks` cuts them: a batch of chunks is split
 * before the chunk that would push the segment past `segmentSize`, counting each chunk
 * as 5 + 1 + len(data) + 4 bytes (the maximal length field), so small and large
 * segment limits give the same files as Prometheus.
 *
 * Writes are buffered (4 MiB) and go out through a FileHandle; `close()` flushes,
 * fsyncs every segment and the directory. Single owner; calls must not overlap.
 */
import { mkdir, open, readdir } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32c } from '../encoding/index.js';
import type { ChunkMeta } from './meta.js';
import {
  blockChunkRef,
  CHUNK_ENCODING_SIZE,
  CHUNKS_FORMAT_V1,
  CRC_SIZE,
  DEFAULT_CHUNK_SEGMENT_SIZE,
  MAGIC_CHUNKS,
  MAX_CHUNK_LENGTH_FIELD_SIZE,
  SEGMENT_HEADER_SIZE,
  segmentFileName,
} from './meta.js';
import { ChunkFileError, ERR_CHUNK_FILE } from './errors.js';

export interface ChunkWriterOptions {
  /** Maximum segment size in bytes (Prometheus `DefaultChunkSegmentSize`, 512 MiB). */
  segmentSize: number;
  /** Write buffer size in bytes. */
  bufferSize: number;
}

export function defaultChunkWriterOptions(): ChunkWriterOptions {
  return { segmentSize: DEFAULT_CHUNK_SEGMENT_SIZE, bufferSize: 4 * 1024 * 1024 };
}

export class ChunkWriter {
  private readonly dir: string;
  private readonly segmentSize: number;
  /** Paths of the segments created so far; the last one is open. */
  private readonly files: string[];
  private fh: FileHandle | null;
  /** Bytes in the current segment (Go `w.n`), buffered ones included. */
  private n: number;
  private buf: Uint8Array;
  private bufLen: number;
  private closed: boolean;

  private constructor(dir: string, opts: ChunkWriterOptions) {
    this.dir = dir;
    this.segmentSize = opts.segmentSize;
    this.files = [];
    this.fh = null;
    this.n = 0;
    this.buf = new Uint8Array(opts.bufferSize);
    this.bufLen = 0;
    this.closed = false;
  }

  /** Creates `dir` (which must be empty or absent) for writing segments. */
  static async create(dir: string, opts: Partial<ChunkWriterOptions> = {}): Promise<ChunkWriter> {
    const o = { ...defaultChunkWriterOptions(), ...opts };
    if (o.segmentSize <= SEGMENT_HEADER_SIZE) throw new RangeError(`chunk segment size ${o.segmentSize} too small`);
    await mkdir(dir, { recursive: true });
    const existing = await readdir(dir);
    if (existing.length > 0) throw new ChunkFileError(ERR_CHUNK_FILE, dir, -1, 'open chunk writer: directory is not empty');
    return new ChunkWriter(dir, o);
  }

  /** Paths of the segment files written so far. */
  segmentFiles(): readonly string[] {
    return this.files;
  }

  /**
   * Appends the chunks (each `meta.chunk` must be set) and sets each `meta.ref`.
   * Cuts new segments as Prometheus does. Chunks are written in the given order.
   */
  async writeChunks(chks: readonly ChunkMeta[]): Promise<void> {
    if (this.closed) throw new Error('chunk writer closed');
    if (chks.length === 0) return;
    // Plan batches exactly like Go's WriteChunks.
    const batchStarts: number[] = [0];
    let batchSize = 0;
    let firstBatch = true;
    for (let i = 0; i < chks.length; i++) {
      const c = (chks[i] as ChunkMeta).chunk;
      if (c === null) throw new Error('writeChunks: chunk meta without chunk data');
      const chkSize = MAX_CHUNK_LENGTH_FIELD_SIZE + CHUNK_ENCODING_SIZE + c.bytes().length + CRC_SIZE;
      batchSize += chkSize;
      let cutNewBatch = i !== 0 && batchSize + SEGMENT_HEADER_SIZE > this.segmentSize;
      if (firstBatch && this.n > SEGMENT_HEADER_SIZE) {
        cutNewBatch = batchSize + this.n > this.segmentSize;
        if (cutNewBatch) firstBatch = false;
      }
      if (cutNewBatch) {
        batchStarts.push(i);
        batchSize = chkSize;
      }
    }
    if (this.n === 0) await this.cut();
    for (let b = 0; b < batchStarts.length; b++) {
      const from = batchStarts[b] as number;
      const to = b + 1 < batchStarts.length ? (batchStarts[b + 1] as number) : chks.length;
      for (let i = from; i < to; i++) await this.writeOne(chks[i] as ChunkMeta);
      if (b < batchStarts.length - 1) await this.cut();
    }
  }

  private async writeOne(m: ChunkMeta): Promise<void> {
    const c = m.chunk!;
    const data = c.bytes();
    const len = data.length;
    const need = MAX_CHUNK_LENGTH_FIELD_SIZE + CHUNK_ENCODING_SIZE + len + CRC_SIZE;
    if (this.bufLen + need > this.buf.length) {
      await this.flush();
      if (need > this.buf.length) this.buf = new Uint8Array(need);
    }
    m.ref = blockChunkRef(this.files.length - 1, this.n);
    const b = this.buf;
    let p = this.bufLen;
    let x = len;
    while (x >= 0x80) {
      b[p++] = (x & 0x7f) | 0x80;
      x >>>= 7;
    }
    b[p++] = x;
    const encPos = p;
    b[p++] = c.encoding();
    b.set(data, p);
    p += len;
    const crc = crc32c(b, encPos, p);
    b[p++] = crc >>> 24;
    b[p++] = (crc >>> 16) & 0xff;
    b[p++] = (crc >>> 8) & 0xff;
    b[p++] = crc & 0xff;
    this.n += p - this.bufLen;
    this.bufLen = p;
  }

  private async flush(): Promise<void> {
    if (this.bufLen === 0 || this.fh === null) return;
    let off = 0;
    while (off < this.bufLen) {
      const { bytesWritten } = await this.fh.write(this.buf, off, this.bufLen - off);
      off += bytesWritten;
    }
    this.bufLen = 0;
  }

  /** Flushes, fsyncs and closes the current segment. */
  private async finalizeTail(): Promise<void> {
    if (this.fh === null) return;
    await this.flush();
    await this.fh.sync();
    await this.fh.close();
    this.fh = null;
  }

  /** Starts the next segment file with its header. */
  private async cut(): Promise<void> {
    await this.finalizeTail();
    const path = join(this.dir, segmentFileName(this.files.length + 1));
    this.fh = await open(path, 'wx');
    this.files.push(path);
    const b = this.buf;
    b[0] = MAGIC_CHUNKS >>> 24;
    b[1] = (MAGIC_CHUNKS >>> 16) & 0xff;
    b[2] = (MAGIC_CHUNKS >>> 8) & 0xff;
    b[3] = MAGIC_CHUNKS & 0xff;
    b[4] = CHUNKS_FORMAT_V1;
    b[5] = 0;
    b[6] = 0;
    b[7] = 0;
    this.bufLen = SEGMENT_HEADER_SIZE;
    this.n = SEGMENT_HEADER_SIZE;
  }

  /** Flushes and fsyncs everything, then the directory. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.finalizeTail();
    await fsyncDir(this.dir);
  }
}

/** fsync of a directory, so renames and new entries in it are durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
