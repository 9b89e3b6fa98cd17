/**
 * Reader of block chunk segment files (Prometheus `chunks.Reader`).
 *
 * Prometheus mmaps every segment. We read positionally (`fs.readSync`) into 1 MiB
 * windows kept in a small LRU (default 32 windows = 32 MiB), so a sequential scan reads
 * each byte once and a block with multi-hundred-MB segments never has to be held in
 * memory. A chunk that straddles a window edge is read on its own. Returned chunks wrap
 * window memory (no copy); windows are never reused after eviction, so a chunk stays
 * valid as long as it is referenced.
 *
 * Reads are synchronous: a chunk read is one cached slice or one small pread.
 * Check order as Prometheus: segment index, room for the length field, the whole
 * record, CRC ("checksum mismatch"), then the encoding.
 */
import { closeSync, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { basename, join } from 'node:path';
import { crc32c } from '../encoding/index.js';
import { chunkFromData } from '../chunkenc/index.js';
import type { Chunk } from '../chunkenc/index.js';
import { CHUNKS_FORMAT_V1, CRC_SIZE, MAGIC_CHUNKS, MAX_CHUNK_LENGTH_FIELD_SIZE, SEGMENT_HEADER_SIZE, segmentFileName } from './meta.js';
import { ChunkFileError, ERR_CHUNK_CHECKSUM, ERR_CHUNK_FILE, ERR_CHUNK_REF, ERR_CHUNK_SEGMENT_HEADER } from './errors.js';

export interface ChunkReaderOptions {
  /** Window size in bytes. */
  windowSize: number;
  /** Windows kept in memory. */
  maxWindows: number;
}

export function defaultChunkReaderOptions(): ChunkReaderOptions {
  return { windowSize: 1 << 20, maxWindows: 32 };
}

interface Segment {
  path: string;
  fd: number;
  size: number;
}

/**
 * Lists the segment files of a chunks dir the way Prometheus's `sequenceFiles` does:
 * every entry whose name parses as an unsigned decimal integer, in name order.
 */
export function sequenceFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw new ChunkFileError(ERR_CHUNK_FILE, dir, -1, `open chunk dir: ${(e as Error).message}`, { cause: e });
  }
  return names
    .filter((n) => /^[0-9]+$/.test(n))
    .sort()
    .map((n) => join(dir, n));
}

export class ChunkReader {
  private readonly segs: Segment[];
  private readonly windowSize: number;
  private readonly maxWindows: number;
  /** LRU of windows keyed `seg * 2^32 + windowIndex` (Map keeps insertion order). */
  private readonly windows: Map<number, Uint8Array>;
  private readonly scratch: Uint8Array;
  private closed: boolean;
  /** Encoding byte of the chunk last returned by `chunkData`/`locate`. */
  lastEnc: number;
  /** Result of `locate`: the chunk data is `locBuf[locStart:locEnd)`. */
  locBuf: Uint8Array;
  locStart: number;
  locEnd: number;
  /** Offset set by `bytesAt`. */
  private bufOff: number;
  /** Most recently used window (skips the LRU bookkeeping for runs of hits). */
  private lastKey: number;
  private lastWin: Uint8Array | null;

  private constructor(segs: Segment[], opts: ChunkReaderOptions) {
    this.segs = segs;
    this.windowSize = opts.windowSize;
    this.maxWindows = opts.maxWindows;
    this.windows = new Map();
    this.scratch = new Uint8Array(MAX_CHUNK_LENGTH_FIELD_SIZE);
    this.closed = false;
    this.lastEnc = 0;
    this.locBuf = this.scratch;
    this.locStart = 0;
    this.locEnd = 0;
    this.bufOff = 0;
    this.lastKey = -1;
    this.lastWin = null;
  }

  /** Opens every segment of `dir` and validates its header. */
  static open(dir: string, opts: Partial<ChunkReaderOptions> = {}): ChunkReader {
    const o = { ...defaultChunkReaderOptions(), ...opts };
    const segs: Segment[] = [];
    const files = sequenceFiles(dir);
    // Refs address segments by position: a missing file in the middle would silently
    // shift every later ref onto the wrong file, so a gap is an error here.
    for (let i = 1; i < files.length; i++) {
      const prev = Number(basename(files[i - 1] as string));
      const cur = Number(basename(files[i] as string));
      if (cur !== prev + 1) {
        throw new ChunkFileError(ERR_CHUNK_FILE, dir, -1, `chunk segment files are not consecutive: ${segmentFileName(prev + 1)} is missing between ${basename(files[i - 1] as string)} and ${basename(files[i] as string)}`);
      }
    }
    try {
      for (const path of files) {
        let fd: number;
        try {
          fd = openSync(path, 'r');
        } catch (e) {
          throw new ChunkFileError(ERR_CHUNK_FILE, path, -1, `open segment: ${(e as Error).message}`, { cause: e });
        }
        const size = fstatSync(fd).size;
        segs.push({ path, fd, size });
        if (size < SEGMENT_HEADER_SIZE) throw new ChunkFileError(ERR_CHUNK_SEGMENT_HEADER, path, 0, `invalid segment header: file has ${size} bytes`);
        const h = new Uint8Array(SEGMENT_HEADER_SIZE);
        readFully(fd, h, 0, SEGMENT_HEADER_SIZE, 0);
        const magic = ((h[0] as number) * 2 ** 24 + (((h[1] as number) << 16) | ((h[2] as number) << 8) | (h[3] as number))) >>> 0;
        if (magic !== MAGIC_CHUNKS) throw new ChunkFileError(ERR_CHUNK_SEGMENT_HEADER, path, 0, `invalid magic number ${magic.toString(16)}`);
        if (h[4] !== CHUNKS_FORMAT_V1) throw new ChunkFileError(ERR_CHUNK_SEGMENT_HEADER, path, 4, `invalid chunk format version ${h[4]}`);
      }
    } catch (e) {
      for (const s of segs) closeSync(s.fd);
      throw e;
    }
    return new ChunkReader(segs, o);
  }

  /** Total size in bytes of all segments. */
  size(): number {
    let n = 0;
    for (const s of this.segs) n += s.size;
    return n;
  }

  /** Paths of the segment files in ref order. */
  segmentFiles(): string[] {
    return this.segs.map((s) => s.path);
  }

  /**
   * The chunk at `ref`. Throws ChunkFileError (code MM_ERR_CHUNK_REF or
   * MM_ERR_CHUNK_CHECKSUM) naming the file and offset, or ChunkEncodingError for an
   * unknown encoding byte.
   */
  chunk(ref: number): Chunk {
    const data = this.chunkData(ref);
    return chunkFromData(this.lastEnc, data);
  }

  /** The encoding byte and data of the chunk at `ref`, CRC checked. */
  chunkBytes(ref: number): { enc: number; data: Uint8Array } {
    const data = this.chunkData(ref);
    return { enc: this.lastEnc, data };
  }

  /**
   * The data of the chunk at `ref` (CRC checked), without allocating a result object:
   * its encoding byte is left in `lastEnc`. For hot loops (the block querier).
   */
  chunkData(ref: number): Uint8Array {
    this.locate(ref);
    return this.locBuf.subarray(this.locStart, this.locEnd);
  }

  /**
   * Finds and CRC-checks the chunk at `ref` without allocating: afterwards its data is
   * `locBuf[locStart:locEnd)` (a cached window or a private buffer, valid until the next
   * call) and its encoding byte is `lastEnc`. Throws ChunkFileError like `chunk()`.
   *
   * `verifyCrc = false` skips the checksum for a caller that checks it itself while it
   * reads the data (`XORIterator.resetRangeChecked`: the encoding byte is at
   * `locStart - 1`, the CRC at `locBuf[locEnd:locEnd+4)`) and calls `locate(ref)` again
   * for the error when it does not match. Every other check still happens here.
   */
  locate(ref: number, verifyCrc = true): void {
    if (this.closed) throw new Error('chunk reader closed');
    const segIdx = Math.floor(ref / 4294967296);
    const off = ref - segIdx * 4294967296;
    const seg = this.segs[segIdx];
    if (seg === undefined) {
      throw new ChunkFileError(ERR_CHUNK_REF, `chunk ref ${ref}`, -1, `segment index ${segIdx} out of range (${this.segs.length} segment files): chunk file ${segmentFileName(segIdx + 1)} is missing`);
    }
    if (off < SEGMENT_HEADER_SIZE || off + MAX_CHUNK_LENGTH_FIELD_SIZE > seg.size) {
      throw new ChunkFileError(ERR_CHUNK_REF, seg.path, off, `segment doesn't include enough bytes to read the chunk size data field - required:${off + MAX_CHUNK_LENGTH_FIELD_SIZE}, available:${seg.size}`);
    }
    // Length field (uvarint, at most 5 bytes).
    let b = this.bytesAt(segIdx, seg, off, off + MAX_CHUNK_LENGTH_FIELD_SIZE, true);
    let p = this.bufOff;
    let len = 0;
    let n = 0;
    let mul = 1;
    for (;;) {
      if (n >= MAX_CHUNK_LENGTH_FIELD_SIZE) throw new ChunkFileError(ERR_CHUNK_REF, seg.path, off, 'reading chunk length failed: malformed uvarint');
      const c = b[p + n++] as number;
      len += (c & 0x7f) * mul;
      if (c < 0x80) break;
      mul *= 128;
    }
    const encPos = off + n;
    const end = encPos + 1 + len + CRC_SIZE;
    if (end > seg.size) throw new ChunkFileError(ERR_CHUNK_REF, seg.path, off, `segment doesn't include enough bytes to read the chunk - required:${end}, available:${seg.size}`);
    b = this.bytesAt(segIdx, seg, encPos, end, false);
    p = this.bufOff;
    const dataEnd = p + 1 + len;
    if (verifyCrc) {
      const want = ((b[dataEnd] as number) * 16777216 + (((b[dataEnd + 1] as number) << 16) | ((b[dataEnd + 2] as number) << 8) | (b[dataEnd + 3] as number))) >>> 0;
      const got = crc32c(b, p, dataEnd);
      if (got !== want) throw new ChunkFileError(ERR_CHUNK_CHECKSUM, seg.path, off, `checksum mismatch expected:${want.toString(16)}, actual:${got.toString(16)}`);
    }
    this.lastEnc = b[p] as number;
    this.locBuf = b;
    this.locStart = p + 1;
    this.locEnd = dataEnd;
  }

  /**
   * A buffer holding segment bytes [start, end): returns it and sets `bufOff` to where
   * `start` is inside it. A cached window when the range fits in one, else a fresh read
   * (into the shared 5-byte scratch only for the length field: chunk data must stay
   * valid after later calls).
   */
  private bytesAt(segIdx: number, seg: Segment, start: number, end: number, lengthField: boolean): Uint8Array {
    const ws = this.windowSize;
    const wi = Math.floor(start / ws);
    const wStart = wi * ws;
    if (end <= wStart + ws) {
      this.bufOff = start - wStart;
      return this.window(segIdx, seg, wi, wStart);
    }
    // Straddles a window edge: read exactly.
    const out = lengthField ? this.scratch : new Uint8Array(end - start);
    readFully(seg.fd, out, 0, end - start, start, seg.path);
    this.bufOff = 0;
    return out;
  }

  private window(segIdx: number, seg: Segment, wi: number, wStart: number): Uint8Array {
    const key = segIdx * 4294967296 + wi;
    if (key === this.lastKey && this.lastWin !== null) return this.lastWin;
    const hit = this.windows.get(key);
    if (hit !== undefined) {
      // Refresh LRU position.
      this.windows.delete(key);
      this.windows.set(key, hit);
      this.lastKey = key;
      this.lastWin = hit;
      return hit;
    }
    const len = Math.min(this.windowSize, seg.size - wStart);
    const w = new Uint8Array(len);
    readFully(seg.fd, w, 0, len, wStart, seg.path);
    if (this.windows.size >= this.maxWindows) {
      const oldest = this.windows.keys().next().value as number;
      this.windows.delete(oldest);
    }
    this.windows.set(key, w);
    this.lastKey = key;
    this.lastWin = w;
    return w;
  }

  /** Closes the files. Chunks already returned stay readable. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.windows.clear();
    this.lastWin = null;
    for (const s of this.segs) closeSync(s.fd);
  }
}

function readFully(fd: number, buf: Uint8Array, off: number, len: number, pos: number, path = ''): void {
  let done = 0;
  while (done < len) {
    const n = readSync(fd, buf, off + done, len - done, pos + done);
    if (n === 0) throw new ChunkFileError(ERR_CHUNK_REF, path, pos + done, 'unexpected end of file');
    done += n;
  }
}

