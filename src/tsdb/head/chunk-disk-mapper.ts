/**
 * Finished head chunks on disk, in Prometheus 2.42's `chunks_head/` format (tsdb/chunks/
 * head_chunks.go, tsdb/docs/format/head_chunks.md), so they are not in the process's
 * memory: the head keeps only a reference per chunk and reads the bytes back on demand.
 *
 * ```
 *  chunks_head/000001   magic 0x0130BC91 (BE32) │ version 1 │ 3 zero bytes
 *                       record: seriesRef BE64 │ mint BE64 │ maxt BE64 │ encoding u8 │
 *                               uvarint len │ data │ CRC32C(seriesRef … data) BE32
 *  chunks_head/000002   …  (new file at 128 MiB, at every head truncation, and after a restart)
 *
 *  ref = fileNumber * 2^32 + offset of the record   (Prometheus ChunkDiskMapperRef)
 * ```
 *
 * Writes go to a 1 MiB buffer (Prometheus: 4 MiB, see DEFAULT_WRITE_BUFFER_SIZE) that is written to the
 * current file when full, at a file cut and at close; chunks still in the buffer are
 * served from it, so a reader always sees every chunk written. Nothing is fsynced per
 * chunk: the WAL stays the source of truth (as in Prometheus), a file is fsynced when it
 * is finished (cut or close).
 *
 * Reads are synchronous `pread`s on a file descriptor kept open per file: page-cache
 * backed like Prometheus's mmap, without a mapping per file and without reading whole
 * files. A read returns a copy, so a query keeps its bytes even if the file is deleted
 * afterwards (head truncation).
 *
 * Startup (`open` + `loadAll`): files are listed, an empty last file removed, files
 * after a gap in the numbering dropped, every record CRC-checked in order. The first
 * corruption (torn tail, bad CRC, bad header) makes that file and every later one go
 * (one log line), exactly Prometheus's `DeleteCorrupted`; the WAL replays what they held.
 */
import { closeSync, fstatSync, fsyncSync, mkdirSync, openSync, readdirSync, readSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32c } from '../encoding/crc32c.js';

/** `MagicHeadChunks`. */
export const HEAD_CHUNKS_MAGIC = 0x0130bc91;
/** File header: magic, version, 3 bytes padding. */
export const HEAD_CHUNK_FILE_HEADER_SIZE = 8;
/** `MaxHeadChunkFileSize`: 128 MiB. */
export const MAX_HEAD_CHUNK_FILE_SIZE = 128 * 1024 * 1024;
/** seriesRef + mint + maxt + encoding + max uvarint(5) + crc: `MaxHeadChunkMetaSize`. */
export const MAX_HEAD_CHUNK_META_SIZE = 8 + 16 + 1 + 5 + 4;
/**
 * Write buffer: 1 MiB where Prometheus's `DefaultWriteBufferSize` is 4 MiB. Once the
 * first 4 MiB of chunks went through it, the whole buffer stays resident (~80 bytes
 * per series at 50k series); 1 MiB still means one `write` per ~5,000 chunks (a
 * handful per cut round), and the file format does not depend on it.
 */
export const DEFAULT_WRITE_BUFFER_SIZE = 1024 * 1024;

const TWO32 = 4294967296;
/**
 * Most files truncation may leave on disk for open readers (see `acquireReader`): beyond
 * this, the oldest go even if a reader still holds them (a reader never closed must not
 * keep the disk filling up; 64 truncations = 5 days at the default 2 h block range).
 */
const MAX_RETIRED = 64;
/** Read cache: block size and number of blocks. */
const CACHE_BLOCK = 64 * 1024;
const CACHE_SLOTS = 16;
const RECORD_FIXED = 8 + 8 + 8 + 1; // before the uvarint length

export const ERR_HEAD_CHUNKS_CORRUPT = 'MM_ERR_HEAD_CHUNKS_CORRUPT';
export const ERR_HEAD_CHUNKS_CLOSED = 'MM_ERR_HEAD_CHUNKS_CLOSED';
export const ERR_HEAD_CHUNKS_READ_ONLY = 'MM_ERR_HEAD_CHUNKS_READ_ONLY';

/** A chunks_head file that cannot be read past some point, or a reference that does not resolve. */
export class HeadChunksError extends Error {
  readonly code: string;
  /** File number concerned (-1 when none). */
  readonly fileIndex: number;
  constructor(code: string, fileIndex: number, message: string) {
    super(message);
    this.code = code;
    this.fileIndex = fileIndex;
    this.name = 'HeadChunksError';
  }
}

/** pino-style logger (the DB's). */
export interface HeadChunksLogger {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
}

/** File number of a reference. */
export function refFile(ref: number): number {
  return Math.floor(ref / TWO32);
}

/** Byte offset of a reference's record in its file. */
export function refOffset(ref: number): number {
  return ref - Math.floor(ref / TWO32) * TWO32;
}

/** `%06d`, as Prometheus's `segmentFile`. */
export function headChunkFileName(n: number): string {
  return String(n).padStart(6, '0');
}

function uvarintSize(x: number): number {
  let n = 1;
  while (x >= 0x80) {
    x = Math.floor(x / 128);
    n++;
  }
  return n;
}

/**
 * Chunks found by `loadAll`, in file order: per chunk `[seriesRef, ref, mint, maxt, len, numSamples, encoding]`.
 * Flat, so loading millions of chunks does not make an object each.
 */
export class LoadedChunks {
  static readonly STRIDE = 7;
  data: Float64Array;
  length: number;
  constructor() {
    this.data = new Float64Array(7 * 1024);
    this.length = 0;
  }
  push(seriesRef: number, ref: number, mint: number, maxt: number, len: number, numSamples: number, encoding: number): void {
    let d = this.data;
    const o = this.length * 7;
    if (o + 7 > d.length) {
      const nd = new Float64Array(d.length * 2);
      nd.set(d);
      this.data = d = nd;
    }
    d[o] = seriesRef;
    d[o + 1] = ref;
    d[o + 2] = mint;
    d[o + 3] = maxt;
    d[o + 4] = len;
    d[o + 5] = numSamples;
    d[o + 6] = encoding;
    this.length++;
  }
  /** Drops every chunk stored in file `file` or later. */
  dropFrom(file: number): void {
    let w = 0;
    const d = this.data;
    for (let i = 0; i < this.length; i++) {
      if (refFile(d[i * 7 + 1] as number) >= file) continue;
      if (w !== i) d.copyWithin(w * 7, i * 7, i * 7 + 7);
      w++;
    }
    this.length = w;
  }
}

/** Result of `loadAll`. */
export interface LoadResult {
  chunks: LoadedChunks;
  /** Largest series ref seen (new series must get larger refs). */
  maxSeriesRef: number;
  /** Files dropped because of corruption or a gap (their data comes from the WAL). */
  droppedFiles: number[];
  /** The corruption that made files go, if any. */
  corruption: HeadChunksError | null;
}

export interface ChunkDiskMapperOptions {
  writeBufferSize: number;
  maxFileSize: number;
  logger: HeadChunksLogger | null;
  /** Read through the 64 KiB block cache (default true). */
  readCache: boolean;
  /**
   * Read-only (a read-only DB, `tsdb dump`): nothing is created, written, repaired or
   * deleted; a corrupt file and the later ones are skipped in memory only. `write`/`cut`
   * throw `MM_ERR_HEAD_CHUNKS_READ_ONLY`. Default false.
   */
  readOnly: boolean;
}

/** Open file: descriptor, bytes on disk, newest chunk maxt (for stats/size). */
interface ChunkFile {
  fd: number;
  size: number;
}

export class ChunkDiskMapper {
  readonly dir: string;
  private readonly opts: ChunkDiskMapperOptions;
  /** Files by number; the current one included once it exists. */
  private readonly files: Map<number, ChunkFile>;
  /**
   * Files truncation no longer needs, left on disk and open while a reader acquired
   * before that truncation is open (Prometheus waits for such pending readers before it
   * truncates; we let the truncation go on and defer only the deletion). Value: file and
   * the truncation generation that retired it.
   */
  private readonly retired: Map<number, ChunkFile>;
  private readonly retiredGen: Map<number, number>;
  /** Truncations so far; a reader is tagged with the generation it was acquired in. */
  private gen: number;
  /** Open readers per generation. */
  private readonly readers: Map<number, number>;
  /** File being appended to (0 = none yet: the next write cuts one). */
  private cur: number;
  /** Bytes of `cur` already written to disk. */
  private curFlushed: number;
  /** Pending bytes of `cur`, appended at `curFlushed`. */
  private buf: Buffer;
  private bufLen: number;
  /** Highest file number ever seen (new files are numbered after it). */
  private lastSeq: number;
  private closed: boolean;
  /** Read cache (see `readInto`): file * 2^20 + block per slot (-1 empty), bytes valid, buffers. */
  private readonly cacheKeys: number[];
  private readonly cacheIndex: Map<number, number>;
  private readonly cacheValid: number[];
  private readonly cacheBufs: (Buffer | undefined)[];
  private cacheNext: number;
  /** Chunks written / read back (for stats and tests). */
  chunksWritten: number;
  chunksRead: number;

  /** Creates `dir` if needed and lists its files; call `loadAll` once before writing. */
  constructor(dir: string, opts: Partial<ChunkDiskMapperOptions> = {}) {
    this.dir = dir;
    this.opts = { writeBufferSize: DEFAULT_WRITE_BUFFER_SIZE, maxFileSize: MAX_HEAD_CHUNK_FILE_SIZE, logger: null, readCache: true, readOnly: false, ...opts };
    this.files = new Map();
    this.retired = new Map();
    this.retiredGen = new Map();
    this.gen = 0;
    this.readers = new Map();
    this.cur = 0;
    this.curFlushed = 0;
    this.buf = Buffer.allocUnsafe(this.opts.readOnly ? 0 : this.opts.writeBufferSize);
    this.bufLen = 0;
    this.lastSeq = 0;
    this.closed = false;
    this.cacheKeys = new Array<number>(CACHE_SLOTS).fill(-1);
    this.cacheIndex = new Map();
    this.cacheValid = new Array<number>(CACHE_SLOTS).fill(0);
    this.cacheBufs = new Array<Buffer | undefined>(CACHE_SLOTS).fill(undefined);
    this.cacheNext = 0;
    this.chunksWritten = 0;
    this.chunksRead = 0;
    if (!this.opts.readOnly) mkdirSync(dir, { recursive: true });
  }

  /** True when opened with `readOnly` (nothing on disk is ever changed). */
  get readOnly(): boolean {
    return this.opts.readOnly;
  }

  // --- startup -----------------------------------------------------------------------

  /**
   * Opens the existing files and reads every chunk's metadata (CRC-checked). Repairs
   * as Prometheus: an empty last file is removed; files after a gap in the numbering,
   * and the first corrupt file with every later one, are deleted (one warning). Chunk
   * data stays on disk; only the references are returned.
   */
  loadAll(): LoadResult {
    const res: LoadResult = { chunks: new LoadedChunks(), maxSeriesRef: 0, droppedFiles: [], corruption: null };
    const nums: number[] = [];
    let names: string[] = [];
    try {
      names = readdirSync(this.dir);
    } catch (e) {
      if (!this.opts.readOnly || (e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    for (const name of names) {
      if (!/^\d+$/.test(name)) continue;
      nums.push(Number(name));
    }
    nums.sort((a, b) => a - b);
    if (nums.length > 0) this.lastSeq = nums[nums.length - 1] as number;
    // An empty last file: created but never written before a crash (Prometheus repairLastChunkFile).
    if (nums.length > 0) {
      const last = nums[nums.length - 1] as number;
      if (statSync(this.path(last)).size === 0) {
        if (!this.opts.readOnly) this.unlinkFile(last);
        nums.pop();
      }
    }
    let bad: HeadChunksError | null = null;
    let ok = 0;
    for (let i = 0; i < nums.length; i++) {
      const n = nums[i] as number;
      if (i > 0 && n !== (nums[i - 1] as number) + 1) {
        bad = new HeadChunksError(ERR_HEAD_CHUNKS_CORRUPT, n, `head chunk files ${headChunkFileName(nums[i - 1] as number)} and ${headChunkFileName(n)} are not sequential`);
        break;
      }
      const fd = openSync(this.path(n), 'r');
      const size = fstatSync(fd).size;
      this.files.set(n, { fd, size });
      ok = i + 1;
      const e = this.scanFile(n, fd, size, res);
      if (e !== null) {
        bad = e;
        break;
      }
    }
    if (bad !== null) {
      res.corruption = bad;
      const drop = nums.slice(nums.indexOf(bad.fileIndex) >= 0 ? nums.indexOf(bad.fileIndex) : ok);
      this.deleteFilesFrom(drop);
      res.droppedFiles = drop;
      res.chunks.dropFrom(bad.fileIndex);
      const what = this.opts.readOnly ? 'skipped (read-only, not repaired)' : 'deleted';
      this.opts.logger?.warn({ dir: this.dir, files: drop.map(headChunkFileName).join(','), err: bad.message }, `head chunk files corrupt: ${what} from the first bad one on, the WAL replays their samples`);
    }
    let maxRef = 0;
    const d = res.chunks.data;
    for (let i = 0; i < res.chunks.length; i++) if ((d[i * 7] as number) > maxRef) maxRef = d[i * 7] as number;
    res.maxSeriesRef = maxRef;
    return res;
  }

  /**
   * Deletes files `nums` (sorted ascending) after a failed load or check; forgets them.
   * The next file is numbered after the highest remaining one, so no gap is left
   * (Prometheus refuses unsequential head chunk files).
   */
  deleteFilesFrom(nums: readonly number[]): void {
    this.dropCache();
    if (this.cur === 0) {
      const del = new Set(nums);
      let last = 0;
      for (const n of this.files.keys()) if (!del.has(n) && n > last) last = n;
      this.lastSeq = last;
    }
    for (const n of nums) {
      const f = this.files.get(n);
      if (f !== undefined) closeSync(f.fd);
      this.files.delete(n);
      if (!this.opts.readOnly) this.unlinkFile(n);
    }
  }

  /**
   * Reads records of file `n` (sequentially, 1 MiB at a time) into `res`; returns the
   * corruption that stopped it, or null. The end of data is the file end, an all-zero
   * record header (Prometheus preallocates), or fewer than 34 remaining zero bytes.
   */
  private scanFile(n: number, fd: number, size: number, res: LoadResult): HeadChunksError | null {
    const corrupt = (msg: string): HeadChunksError => new HeadChunksError(ERR_HEAD_CHUNKS_CORRUPT, n, `head chunk file ${headChunkFileName(n)}: ${msg}`);
    if (size < HEAD_CHUNK_FILE_HEADER_SIZE) return corrupt(`invalid header: ${size} bytes`);
    let win = Buffer.allocUnsafe(1 << 20);
    let winStart = 0;
    let winLen = 0;
    const load = (pos: number, need: number): void => {
      if (need > win.length) win = Buffer.allocUnsafe(need);
      winStart = pos;
      winLen = 0;
      const want = Math.min(win.length, size - pos);
      while (winLen < want) {
        const r = readSync(fd, win, winLen, want - winLen, pos + winLen);
        if (r === 0) break;
        winLen += r;
      }
    };
    load(0, HEAD_CHUNK_FILE_HEADER_SIZE);
    const magic = win.readUInt32BE(0);
    if (magic !== HEAD_CHUNKS_MAGIC) return corrupt(`invalid magic number ${magic.toString(16)}`);
    if (win[4] !== 1) return corrupt(`invalid chunk format version ${win[4]}`);
    let pos = HEAD_CHUNK_FILE_HEADER_SIZE;
    while (pos < size) {
      const left = size - pos;
      if (pos + Math.min(left, MAX_HEAD_CHUNK_META_SIZE) > winStart + winLen) load(pos, MAX_HEAD_CHUNK_META_SIZE);
      let o = pos - winStart;
      if (left < MAX_HEAD_CHUNK_META_SIZE) {
        for (let i = 0; i < left; i++) if (win[o + i] !== 0) return corrupt(`${left} bytes of unread data at ${pos}, too few for a chunk header`);
        break;
      }
      const seriesRef = readI64(win, o);
      const mint = readI64(win, o + 8);
      const maxt = readI64(win, o + 16);
      if (seriesRef === 0 && mint === 0 && maxt === 0) break;
      const enc = win[o + 24] as number;
      let len = 0;
      let mul = 1;
      let k = o + RECORD_FIXED;
      for (let i = 0; ; i++) {
        if (i >= 5) return corrupt(`bad chunk length at ${pos}`);
        const b = win[k++] as number;
        len += (b & 0x7f) * mul;
        mul *= 128;
        if (b < 0x80) break;
      }
      const dataStart = k - o; // relative to record start
      const total = dataStart + len + 4;
      if (pos + total > size) return corrupt(`chunk at ${pos} needs ${total} bytes, ${left} left (torn write)`);
      if (pos + total > winStart + winLen) {
        load(pos, total);
        o = 0;
      }
      const want = win.readUInt32BE(o + dataStart + len);
      const got = crc32c(win, o, o + dataStart + len);
      if (want !== got) return corrupt(`checksum mismatch at ${pos}: stored ${want.toString(16)}, computed ${got.toString(16)}`);
      const ns = len >= 2 ? ((win[o + dataStart] as number) << 8) | (win[o + dataStart + 1] as number) : 0;
      res.chunks.push(seriesRef, n * TWO32 + pos, mint, maxt, len, ns, enc);
      pos += total;
    }
    return null;
  }

  // --- writing -----------------------------------------------------------------------

  /**
   * Appends a chunk record and returns its reference. Cuts a new file when the chunk
   * would take the current one past 128 MiB (or none is open yet).
   */
  write(seriesRef: number, mint: number, maxt: number, encoding: number, data: Uint8Array): number {
    if (this.closed) throw new HeadChunksError(ERR_HEAD_CHUNKS_CLOSED, -1, `head chunks ${this.dir}: closed`);
    const len = data.length;
    const total = RECORD_FIXED + uvarintSize(len) + len + 4;
    if (this.cur === 0 || this.curSize() + len + MAX_HEAD_CHUNK_META_SIZE > this.opts.maxFileSize) this.cut();
    if (this.bufLen + total > this.buf.length) {
      this.flush();
      if (total > this.buf.length) this.buf = Buffer.allocUnsafe(total);
    }
    const ref = this.cur * TWO32 + this.curSize();
    const b = this.buf;
    const s = this.bufLen;
    writeI64(b, s, seriesRef);
    writeI64(b, s + 8, mint);
    writeI64(b, s + 16, maxt);
    b[s + 24] = encoding;
    let k = s + RECORD_FIXED;
    let x = len;
    while (x >= 0x80) {
      b[k++] = (x & 0x7f) | 0x80;
      x = Math.floor(x / 128);
    }
    b[k++] = x;
    b.set(data, k);
    k += len;
    b.writeUInt32BE(crc32c(b, s, k), k);
    this.bufLen = k + 4;
    this.chunksWritten++;
    return ref;
  }

  /** Bytes of the current file including the buffer. */
  private curSize(): number {
    return this.curFlushed + this.bufLen;
  }

  /** Writes the buffer to the current file (no fsync). */
  flush(): void {
    if (this.bufLen === 0 || this.cur === 0) return;
    const f = this.files.get(this.cur) as ChunkFile;
    let off = 0;
    while (off < this.bufLen) off += writeSync(f.fd, this.buf, off, this.bufLen - off, this.curFlushed + off);
    this.curFlushed += this.bufLen;
    f.size = this.curFlushed;
    this.bufLen = 0;
  }

  /**
   * Finishes the current file (flush + fsync) and starts the next one with its header
   * (Prometheus `cut`). Files are never appended to after a restart: the first write
   * of a process cuts a new file.
   */
  cut(): void {
    if (this.opts.readOnly) throw new HeadChunksError(ERR_HEAD_CHUNKS_READ_ONLY, -1, `head chunks ${this.dir}: open read-only`);
    if (this.cur !== 0) {
      this.flush();
      fsyncSync((this.files.get(this.cur) as ChunkFile).fd);
    }
    const n = this.lastSeq + 1;
    const fd = openSync(this.path(n), 'wx+');
    const hdr = Buffer.alloc(HEAD_CHUNK_FILE_HEADER_SIZE);
    hdr.writeUInt32BE(HEAD_CHUNKS_MAGIC, 0);
    hdr[4] = 1;
    writeSync(fd, hdr, 0, hdr.length, 0);
    this.files.set(n, { fd, size: HEAD_CHUNK_FILE_HEADER_SIZE });
    this.lastSeq = n;
    this.cur = n;
    this.curFlushed = HEAD_CHUNK_FILE_HEADER_SIZE;
    this.bufLen = 0;
  }

  /**
   * Head truncation (Prometheus 2.42 `Truncate(fileNo)`): cuts a new file if the current
   * one holds chunks (so it can go at a later truncation), then deletes every file
   * numbered below `minLiveFile` (the lowest file a live chunk is in), never the current
   * one — at once when no reader acquired before this truncation is open, else when the
   * last such reader is released (`releaseReader`). Returns the file numbers retired.
   */
  truncate(minLiveFile: number): number[] {
    if (this.closed || this.opts.readOnly) return [];
    const del: number[] = [];
    for (const n of [...this.files.keys()].sort((a, b) => a - b)) {
      if (n >= minLiveFile || n === this.cur) break;
      del.push(n);
    }
    if (this.cur !== 0 && this.curSize() > HEAD_CHUNK_FILE_HEADER_SIZE) this.cut();
    this.gen++;
    for (const n of del) {
      this.retired.set(n, this.files.get(n) as ChunkFile);
      this.retiredGen.set(n, this.gen);
      this.files.delete(n);
    }
    this.deleteRetired();
    return del;
  }

  /**
   * Registers a reader (a head querier) that may read any chunk live now, until
   * `releaseReader(token)`: files a later truncation retires stay on disk and readable
   * until then. Returns the token. Cheap (a map update).
   */
  acquireReader(): number {
    const g = this.gen;
    this.readers.set(g, (this.readers.get(g) ?? 0) + 1);
    return g;
  }

  /** Ends a reader from `acquireReader`; retired files no open reader needs are deleted. Idempotence is the caller's. */
  releaseReader(token: number): void {
    const n = (this.readers.get(token) ?? 0) - 1;
    if (n > 0) this.readers.set(token, n);
    else this.readers.delete(token);
    if (!this.closed) this.deleteRetired();
  }

  /** Open readers (acquired, not yet released). */
  pendingReaders(): number {
    let n = 0;
    for (const c of this.readers.values()) n += c;
    return n;
  }

  /**
   * Closes and deletes retired files that no open reader may need (retired by a
   * truncation after the oldest open reader was acquired: none), and the oldest beyond
   * `MAX_RETIRED` whatever holds them. Files retire in number order, so what goes is
   * always the lowest numbers (no gap in the numbering).
   */
  private deleteRetired(): void {
    let oldest = Infinity;
    for (const g of this.readers.keys()) if (g < oldest) oldest = g;
    let excess = this.retired.size - MAX_RETIRED;
    for (const [n, f] of this.retired) {
      if (excess <= 0 && oldest < (this.retiredGen.get(n) as number)) continue;
      if (excess > 0) this.opts.logger?.warn({ dir: this.dir, file: headChunkFileName(n) }, 'head chunk file deleted while a reader may still need it (too many files held by open queriers)');
      closeSync(f.fd);
      this.retired.delete(n);
      this.retiredGen.delete(n);
      excess--;
      this.unlinkFile(n);
    }
  }

  // --- reading -----------------------------------------------------------------------

  /**
   * A copy of the data (`len` bytes) of the chunk at `ref`: from the write buffer if it
   * is not on disk yet, else from the file (see `readInto`). The copy is the caller's:
   * deleting the file later does not affect it. Throws `HeadChunksError` for a file that
   * is gone.
   */
  read(ref: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    this.readInto(ref, len, out, 0);
    return out;
  }

  /**
   * Like `read`, into `dst` at `at` (batch reads into one buffer). Disk reads go through
   * a small cache of 64 KiB file blocks (16 of them, 1 MiB in all, not per series): a query
   * walks series in label order, which is mostly the order their chunks were written in,
   * so one block read serves many chunks instead of one pread each. Files are only ever
   * appended to, so a cached block stays right; only its valid length is trusted.
   */
  readInto(ref: number, len: number, dst: Uint8Array, at: number): void {
    const file = refFile(ref);
    const dataOff = refOffset(ref) + RECORD_FIXED + uvarintSize(len);
    this.chunksRead++;
    if (file === this.cur && dataOff >= this.curFlushed) {
      const s = dataOff - this.curFlushed;
      this.buf.copy(dst, at, s, s + len);
      return;
    }
    const f = this.files.get(file) ?? this.retired.get(file);
    if (f === undefined) throw new HeadChunksError(ERR_HEAD_CHUNKS_CORRUPT, file, `head chunk file ${headChunkFileName(file)} is not open (ref ${ref})`);
    const blk = Math.floor(dataOff / CACHE_BLOCK);
    if (this.opts.readCache && dataOff + len <= (blk + 1) * CACHE_BLOCK) {
      const key = file * 1048576 + blk;
      let slot = this.cacheIndex.get(key) ?? -1;
      if (slot < 0 || (this.cacheValid[slot] as number) < dataOff + len - blk * CACHE_BLOCK) {
        if (slot < 0) {
          slot = this.cacheNext;
          this.cacheNext = (slot + 1) % CACHE_SLOTS;
        }
        const b = (this.cacheBufs[slot] ??= Buffer.allocUnsafe(CACHE_BLOCK));
        const old = this.cacheKeys[slot] as number;
        if (old >= 0) this.cacheIndex.delete(old);
        this.cacheKeys[slot] = -1;
        let got = 0;
        for (;;) {
          const r = readSync(f.fd, b, got, CACHE_BLOCK - got, blk * CACHE_BLOCK + got);
          if (r === 0) break;
          got += r;
          if (got === CACHE_BLOCK) break;
        }
        this.cacheKeys[slot] = key;
        this.cacheIndex.set(key, slot);
        this.cacheValid[slot] = got;
        if (got < dataOff + len - blk * CACHE_BLOCK) {
          throw new HeadChunksError(ERR_HEAD_CHUNKS_CORRUPT, file, `head chunk file ${headChunkFileName(file)}: short read at ${dataOff} (ref ${ref})`);
        }
      }
      const o = dataOff - blk * CACHE_BLOCK;
      (this.cacheBufs[slot] as Buffer).copy(dst, at, o, o + len);
      return;
    }
    let got = 0;
    while (got < len) {
      const r = readSync(f.fd, dst, at + got, len - got, dataOff + got);
      if (r === 0) throw new HeadChunksError(ERR_HEAD_CHUNKS_CORRUPT, file, `head chunk file ${headChunkFileName(file)}: short read at ${dataOff} (ref ${ref})`);
      got += r;
    }
  }

  /** Forgets cached blocks (file numbers may be reused after a startup repair). */
  private dropCache(): void {
    this.cacheKeys.fill(-1);
    this.cacheIndex.clear();
    this.cacheValid.fill(0);
  }

  // --- bookkeeping -------------------------------------------------------------------

  /** Open file numbers, ascending. */
  fileNumbers(): number[] {
    return [...this.files.keys()].sort((a, b) => a - b);
  }

  /** Bytes of all files including the unflushed buffer and retired files still held by readers (size retention, stats). */
  size(): number {
    let n = this.bufLen;
    for (const f of this.files.values()) n += f.size;
    for (const f of this.retired.values()) n += f.size;
    return n;
  }

  /** Numbers of retired files still on disk for open readers, ascending. */
  retiredFileNumbers(): number[] {
    return [...this.retired.keys()].sort((a, b) => a - b);
  }

  /** Flushes, fsyncs and closes every file. Idempotent. */
  close(): void {
    if (this.closed) return;
    let first: unknown = null;
    try {
      this.flush();
      if (this.cur !== 0) fsyncSync((this.files.get(this.cur) as ChunkFile).fd);
    } catch (e) {
      first = e;
    }
    this.closed = true;
    for (const f of [...this.files.values(), ...this.retired.values()]) {
      try {
        closeSync(f.fd);
      } catch (e) {
        first ??= e;
      }
    }
    // Retired files were only waiting for readers; nothing can read them after close.
    for (const n of this.retired.keys()) {
      try {
        this.unlinkFile(n);
      } catch (e) {
        first ??= e;
      }
    }
    this.files.clear();
    this.retired.clear();
    this.retiredGen.clear();
    if (first !== null) throw first;
  }

  private path(n: number): string {
    return join(this.dir, headChunkFileName(n));
  }

  /** Deletes file `n`; one already gone is fine. */
  private unlinkFile(n: number): void {
    try {
      unlinkSync(this.path(n));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
}

function readI64(b: Uint8Array, o: number): number {
  const hi = ((b[o] as number) << 24) | ((b[o + 1] as number) << 16) | ((b[o + 2] as number) << 8) | (b[o + 3] as number);
  const lo = (((b[o + 4] as number) << 24) | ((b[o + 5] as number) << 16) | ((b[o + 6] as number) << 8) | (b[o + 7] as number)) >>> 0;
  return hi * TWO32 + lo;
}

function writeI64(b: Uint8Array, o: number, v: number): void {
  const hi = Math.floor(v / TWO32);
  const lo = v - hi * TWO32;
  b[o] = (hi >>> 24) & 0xff;
  b[o + 1] = (hi >>> 16) & 0xff;
  b[o + 2] = (hi >>> 8) & 0xff;
  b[o + 3] = hi & 0xff;
  b[o + 4] = (lo >>> 24) & 0xff;
  b[o + 5] = (lo >>> 16) & 0xff;
  b[o + 6] = (lo >>> 8) & 0xff;
  b[o + 7] = lo & 0xff;
}
