/**
 * Chunk metas of the dump block, parked in a scratch file between writing the chunks
 * (time-major: one input cluster after another) and writing the index (series-major:
 * every chunk of a series in one entry).
 *
 *   run 0 (cluster 0) ─┐  records in label order:  uvarint series | uvarint n |
 *   run 1 (cluster 1) ─┤                           n × (varint Δmint | uvarint maxt−mint | uvarint seg | uvarint off)
 *   …                  ┘
 *   index pass: one cursor per run, all advancing in label order; a series' chunks are
 *   the records with its number under each cursor, in run (= time) order.
 *
 * Memory stays flat however long the range: one write buffer plus a small read window
 * per run (180 runs for 15 days × 16 KiB ≈ 3 MB), instead of ~25 bytes per chunk held
 * in memory (1.8 M chunks for 15 days of 10 k series).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

const TWO32 = 4294967296;
const WRITE_BUF = 1 << 20;
const READ_WINDOW = 16 << 10;
/** Upper bound of one chunk's encoding (4 varints), and of a record head. */
const MAX_CHUNK_BYTES = 40;

export class SpillError extends Error {
  readonly code = 'MM_ERR_DUMP_SPILL';
}

/** A chunk meta as the index needs it. */
export interface SpilledChunk {
  ref: number;
  minTime: number;
  maxTime: number;
}

function putUvarint(b: Uint8Array, p: number, x: number): number {
  while (x >= 0x80000000) {
    b[p++] = (x % 128) | 0x80;
    x = Math.floor(x / 128);
  }
  while (x >= 0x80) {
    b[p++] = (x & 0x7f) | 0x80;
    x >>>= 7;
  }
  b[p++] = x;
  return p;
}

export class ChunkSpillWriter {
  private readonly fh: FileHandle;
  readonly path: string;
  private buf: Uint8Array;
  private len: number;
  /** Bytes flushed to the file. */
  private flushed: number;
  /** [start, end) file offsets of every finished run. */
  readonly runs: Array<[number, number]>;
  private runStart: number;

  private constructor(path: string, fh: FileHandle) {
    this.path = path;
    this.fh = fh;
    this.buf = new Uint8Array(WRITE_BUF);
    this.len = 0;
    this.flushed = 0;
    this.runs = [];
    this.runStart = -1;
  }

  static async create(path: string): Promise<ChunkSpillWriter> {
    return new ChunkSpillWriter(path, await open(path, 'wx+'));
  }

  beginRun(): void {
    if (this.runStart >= 0) throw new SpillError('run already open');
    this.runStart = this.flushed + this.len;
  }

  endRun(): void {
    if (this.runStart < 0) throw new SpillError('no run open');
    this.runs.push([this.runStart, this.flushed + this.len]);
    this.runStart = -1;
  }

  /**
   * Records chunks [0, n) of `chunks` for union series `series`. Chunks must be in time
   * order; refs are final (segment × 2^32 + offset in the dump block).
   */
  async add(series: number, chunks: ArrayLike<SpilledChunk>, n: number): Promise<void> {
    const need = 20 + n * MAX_CHUNK_BYTES;
    if (this.len + need > this.buf.length) {
      await this.flush();
      if (need > this.buf.length) this.buf = new Uint8Array(need);
    }
    const b = this.buf;
    let p = putUvarint(b, this.len, series);
    p = putUvarint(b, p, n);
    let prev = 0;
    for (let i = 0; i < n; i++) {
      const c = chunks[i] as SpilledChunk;
      const d = c.minTime - prev;
      p = putUvarint(b, p, d >= 0 ? d * 2 : -d * 2 - 1);
      p = putUvarint(b, p, c.maxTime - c.minTime);
      const seg = Math.floor(c.ref / TWO32);
      p = putUvarint(b, p, seg);
      p = putUvarint(b, p, c.ref - seg * TWO32);
      prev = c.maxTime;
    }
    this.len = p;
  }

  private async flush(): Promise<void> {
    let off = 0;
    while (off < this.len) {
      const { bytesWritten } = await this.fh.write(this.buf, off, this.len - off, this.flushed + off);
      off += bytesWritten;
    }
    this.flushed += this.len;
    this.len = 0;
  }

  /** Flushes and closes the file; then read it with `cursors()`. */
  async close(): Promise<void> {
    if (this.runStart >= 0) throw new SpillError('run still open');
    await this.flush();
    await this.fh.close();
  }
}

/**
 * Reads one run of a spill file in order, through a small window (positional sync
 * reads: the index pass is a tight loop, and each read is one small pread).
 */
export class ChunkSpillCursor {
  private readonly fd: number;
  private readonly end: number;
  private readonly win: Uint8Array;
  /** File offset of win[0], and valid bytes in win. */
  private base: number;
  private have: number;
  private pos: number;
  /** Series number of the next record, or -1 at the end of the run. */
  next: number;

  constructor(fd: number, start: number, end: number) {
    this.fd = fd;
    this.end = end;
    this.win = new Uint8Array(READ_WINDOW);
    this.base = start;
    this.have = 0;
    this.pos = 0;
    this.next = -1;
    this.advance();
  }

  /** Makes at least `n` bytes (or the rest of the run) available at `pos`. */
  private ensure(n: number): void {
    if (this.have - this.pos >= n) return;
    const keep = this.have - this.pos;
    this.win.copyWithin(0, this.pos, this.have);
    this.base += this.pos;
    this.pos = 0;
    let filled = keep;
    const want = Math.min(this.win.length, this.end - this.base);
    while (filled < want) {
      const r = readSync(this.fd, this.win, filled, want - filled, this.base + filled);
      if (r === 0) throw new SpillError('chunk spill file truncated');
      filled += r;
    }
    this.have = filled;
  }

  private uvarint(): number {
    const b = this.win;
    let x = 0;
    let mul = 1;
    for (;;) {
      if (this.pos >= this.have) throw new SpillError('chunk spill record runs past its run');
      const c = b[this.pos++] as number;
      x += (c & 0x7f) * mul;
      if (c < 0x80) return x;
      mul *= 128;
    }
  }

  private advance(): void {
    this.ensure(20);
    this.next = this.base + this.pos >= this.end ? -1 : this.uvarint();
  }

  /**
   * Appends the chunks of the current record to `out` from index `at` (reusing the
   * objects already there), moves to the next record, and returns the new length.
   */
  take(out: SpilledChunk[], at: number): number {
    const n = this.uvarint();
    let prev = 0;
    for (let i = 0; i < n; i++) {
      this.ensure(MAX_CHUNK_BYTES);
      const z = this.uvarint();
      const minTime = prev + (z % 2 === 0 ? z / 2 : -(z + 1) / 2);
      const maxTime = minTime + this.uvarint();
      const seg = this.uvarint();
      const ref = seg * TWO32 + this.uvarint();
      const o = out[at];
      if (o === undefined) out.push({ ref, minTime, maxTime });
      else {
        o.ref = ref;
        o.minTime = minTime;
        o.maxTime = maxTime;
      }
      at++;
      prev = maxTime;
    }
    this.advance();
    return at;
  }
}

/** Opens one cursor per run of a closed spill file; `close()` releases the file. */
export class ChunkSpillReader {
  private readonly fd: number;
  readonly cursors: ChunkSpillCursor[];
  constructor(path: string, runs: ReadonlyArray<readonly [number, number]>) {
    this.fd = openSync(path, 'r');
    this.cursors = runs.map(([s, e]) => new ChunkSpillCursor(this.fd, s, e));
  }
  close(): void {
    closeSync(this.fd);
  }
}
