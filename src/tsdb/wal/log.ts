/**
 * The write-ahead log writer: Prometheus 2.42's `wlog.WL` byte for byte, plus
 * durable group commit.
 *
 * Layout (identical to Prometheus, so each side opens the other's WAL):
 *
 *   segment 00000007 (≤ segmentSize, a whole number of pages except the active one)
 *   ┌──────────────── page 0 (32 KiB) ────────────────┬─────── page 1 ───────┬─
 *   │ hdr│rec A (full) │ hdr│rec B (first) │ 000 pad  │ hdr│rec B (last)│ …   │
 *   └─────────────────────────────────────────────────┴──────────────────────┴─
 *   hdr = type u8 (1 full, 2 first, 3 middle, 4 last; |0x08 = snappy) │ BE16 len │ BE32 CRC32C(payload)
 *
 * - A record is split into fragments so none crosses a page; if fewer than 7
 *   bytes remain in a page they are zeros. A record never crosses a segment: if it
 *   does not fit in the segment's remaining pages a new segment is started first
 *   (after zero-padding the current page).
 * - With compression on, the whole record is snappy-compressed once (only kept if
 *   smaller) and every fragment carries the 0x08 flag.
 *
 * Durability (where we differ from Prometheus, which leaves fsync to segment
 * rotation): `log()` resolves only after the bytes are written and fdatasync'd.
 * Concurrent callers share one write + one fdatasync (group commit):
 *
 *   log(a) log(b) log(c)        ← same tick: encoded into `pending`, one promise
 *        └── microtask: flush #1 = write(a b c) + fdatasync ──► all three resolve
 *   log(d) log(e) (during #1)   ← join batch #2, written when #1 is done
 *
 * Records are encoded into the page layout synchronously, in call order, so the
 * on-disk order is the order of `log()` calls. One flusher at a time owns the
 * file handle. A failed write or sync poisons the WAL (every later call rejects
 * with the same error): the file may hold a partial page, and reopening (which
 * replays and repairs) is the only safe way on.
 */
import { mkdir, open, readdir, rm, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Encbuf, crc32c } from '../encoding/index.js';
import { CorruptionError, ERR_WAL_CLOSED, WalError } from './errors.js';
import { fsyncDir, writeAll } from './fsutil.js';
import { nopWalLogger, stderrWalLogger, type WalLogger } from './logger.js';
import { DEFAULT_SEGMENT_SIZE, FragmentType, PAGE_SIZE, RECORD_HEADER_SIZE, SNAPPY_MASK, parseSegmentName, segmentName, segmentRange } from './segment.js';
import { snappyEncode } from './snappy.js';
import { repairSegments, type RepairReport } from './repair.js';
import { removeTmpCheckpoints } from './checkpoint-dir.js';

/** Options of `WAL.open`; see `defaultWALOptions()` for the defaults. */
export interface WALOptions {
  /** Maximum segment size in bytes; a multiple of 32 KiB (Prometheus: 10 MiB..256 MiB; smaller allowed for tests). */
  segmentSize: number;
  /**
   * Snappy-compress records (only kept when smaller). Default true, like the
   * `prometheus` 2.42 binary (`--storage.tsdb.wal-compression`): sample records
   * shrink by about half, which halves the bytes written and fsynced per commit.
   * Reading handles both regardless of this setting.
   */
  compress: boolean;
  /** fdatasync before `log()` resolves. Only benchmarks of the raw path turn this off. */
  sync: boolean;
  /** Where the repair line goes. */
  logger: WalLogger;
}

/** Every default in one place. */
export function defaultWALOptions(): WALOptions {
  return { segmentSize: DEFAULT_SEGMENT_SIZE, compress: true, sync: true, logger: stderrWalLogger };
}

export { nopWalLogger };

/** Bytes waiting to be appended to one segment (a segment switch inside a batch starts a new one). */
interface Chunk {
  seg: number;
  buf: Encbuf;
}

/** One group commit: every `log()` that joined it gets the same promise. */
interface Batch {
  promise: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A caller may drop the promise of a failed batch; the error is also sticky on the WAL.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/** Counters since open (cheap; read them for metrics or tests). */
export interface WALStats {
  /** Records passed to `log()`. */
  records: number;
  /** Bytes appended to segment files (fragments, headers and padding). */
  bytes: number;
  /** Group commits (one write pass + one fdatasync each). */
  flushes: number;
  /** fdatasync calls. */
  syncs: number;
  /** Records stored compressed. */
  compressed: number;
}

/** The write-ahead log of one directory. Not safe to open twice on the same dir. */
export class WAL {
  readonly dir: string;
  readonly options: WALOptions;
  /** Counters; see `WALStats`. */
  readonly stats: WALStats;
  private readonly pagesPerSegment: number;

  // Encoder side: the logical end of the log, including bytes not yet written.
  private segIndex: number;
  private segSize: number;
  private pending: Chunk[];
  private readonly freeBufs: Encbuf[];
  private batch: Batch | null;

  // Flusher side: the file the bytes go to.
  private flushing: boolean;
  private fileSeg: number;
  private fh: FileHandle | null;
  private idleWaiters: (() => void)[];
  private failed: Error | null;
  private closed: boolean;
  private repairing: boolean;
  private readonly flushLoopBound: () => void;

  private constructor(dir: string, options: WALOptions, active: number, fh: FileHandle) {
    this.dir = dir;
    this.options = options;
    this.stats = { records: 0, bytes: 0, flushes: 0, syncs: 0, compressed: 0 };
    this.pagesPerSegment = options.segmentSize / PAGE_SIZE;
    this.segIndex = active;
    this.segSize = 0;
    this.pending = [];
    this.freeBufs = [];
    this.batch = null;
    this.flushing = false;
    this.fileSeg = active;
    this.fh = fh;
    this.idleWaiters = [];
    this.failed = null;
    this.closed = false;
    this.repairing = false;
    this.flushLoopBound = () => void this.flushLoop();
  }

  /**
   * Opens (creating if needed) the WAL in `dir` and starts a new, empty segment
   * after the last existing one, as Prometheus does on every start. Existing
   * segments are left as they are for the caller to replay (and `repair`).
   * Leftover `checkpoint.*.tmp` dirs from an interrupted checkpoint are removed.
   */
  static async open(dir: string, opts: Partial<WALOptions> = {}): Promise<WAL> {
    const options = { ...defaultWALOptions(), ...opts };
    if (!(options.segmentSize > 0) || options.segmentSize % PAGE_SIZE !== 0) {
      throw new WalError(`invalid segment size ${options.segmentSize}: must be a positive multiple of ${PAGE_SIZE}`);
    }
    await mkdir(dir, { recursive: true });
    await removeTmpCheckpoints(dir);
    // Only the highest index matters here; a gap is the replay's problem (the reader
    // refuses it), so opening never fails because of one.
    let last = -1;
    for (const n of await readdir(dir)) last = Math.max(last, parseSegmentName(n));
    const active = last + 1;
    const fh = await createSegment(dir, active);
    return new WAL(dir, options, active, fh);
  }

  /** Index of the segment new records go to. */
  get activeSegment(): number {
    return this.segIndex;
  }

  /** First and last segment on disk (the last is the active one). */
  segments(): Promise<{ first: number; last: number }> {
    return segmentRange(this.dir);
  }

  /**
   * Appends records, in order, and resolves once they are on disk (written and
   * fdatasync'd). The caller may reuse the record buffers as soon as `log`
   * returns (they are copied synchronously). Rejects with a `WalError` if the WAL
   * is closed, a record is empty, or a write failed (then the WAL stays failed).
   */
  log(...recs: Uint8Array[]): Promise<void> {
    if (this.failed !== null) return Promise.reject(this.failed);
    if (this.closed) return Promise.reject(new WalError('log on closed wal', { code: ERR_WAL_CLOSED }));
    if (this.repairing) return Promise.reject(new WalError('log during repair: repair before appending'));
    for (let i = 0; i < recs.length; i++) {
      // The reader treats an empty record as damage (see reader.ts); refuse before writing anything.
      if ((recs[i] as Uint8Array).length === 0) return Promise.reject(new WalError('log: empty record'));
    }
    for (let i = 0; i < recs.length; i++) this.encodeRecord(recs[i] as Uint8Array);
    return this.enqueue();
  }

  /**
   * Closes the active segment (zero-padding its last page) and starts the next;
   * resolves to the new segment's index once its file exists. The head calls it
   * before a checkpoint so the checkpoint can take every older segment.
   */
  async nextSegment(): Promise<number> {
    if (this.failed !== null) throw this.failed;
    if (this.closed) throw new WalError('nextSegment on closed wal', { code: ERR_WAL_CLOSED });
    if (this.repairing) throw new WalError('nextSegment during repair');
    this.switchSegment();
    const next = this.segIndex;
    this.chunkFor(next); // an empty chunk makes the flusher create the file
    await this.enqueue();
    return next;
  }

  /**
   * Deletes segment files with index < `upTo` (never the active one), as
   * Prometheus's `Truncate`. The head calls it after a checkpoint has taken them.
   */
  async truncate(upTo: number): Promise<void> {
    const limit = Math.min(upTo, this.segIndex);
    let removed = 0;
    for (const n of await readdir(this.dir)) {
      const i = parseSegmentName(n);
      if (i < 0 || i >= limit) continue;
      await rm(join(this.dir, n), { force: true });
      removed++;
    }
    if (removed > 0) await fsyncDir(this.dir);
  }

  /**
   * Repairs after a `CorruptionError` from the reader (see repair.ts): waits for
   * pending writes, cuts the corrupt segment at the last good record, deletes every
   * later segment (including the active one if it is later) and starts a new active
   * segment right after the cut one. Logs one line; returns what was done.
   */
  async repair(err: CorruptionError): Promise<RepairReport> {
    if (this.closed) throw new WalError('repair on closed wal', { code: ERR_WAL_CLOSED });
    if (this.repairing) throw new WalError('repair already running');
    this.repairing = true;
    try {
      return await this.doRepair(err);
    } finally {
      this.repairing = false;
    }
  }

  private async doRepair(err: CorruptionError): Promise<RepairReport> {
    await this.idle();
    if (resolve(err.dir) !== resolve(this.dir)) {
      // A checkpoint's segments: repaired in place, the live log is untouched.
      return repairSegments(err, this.options.logger);
    }
    let report: RepairReport;
    try {
      if (this.fh !== null) {
        await this.fh.close();
        this.fh = null;
      }
      report = await repairSegments(err, this.options.logger);
    } catch (e) {
      // The active segment may be gone: nothing more can be logged safely.
      this.failed = new WalError(`repair wal segment ${segmentName(err.segment)}`, { cause: e });
      throw this.failed;
    }
    // Every segment after the cut one, the old active one included, is gone now.
    const active = err.segment + 1;
    this.fh = await createSegment(this.dir, active);
    this.segIndex = active;
    this.fileSeg = active;
    this.segSize = 0;
    this.failed = null;
    return report;
  }

  /**
   * Waits for pending writes, zero-pads the active segment's last page (as
   * Prometheus's `Close`), syncs and closes. Later calls reject.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true; // later log() calls reject; pending ones still complete
    if (this.failed === null && !this.repairing) {
      this.padPage();
      if (this.pending.length > 0) {
        try {
          await this.enqueue();
        } catch {
          // already recorded in this.failed; closing the handle below is still right
        }
      }
    }
    await this.idle();
    if (this.fh !== null) {
      const fh = this.fh;
      this.fh = null;
      await fh.close();
    }
    if (this.failed !== null) throw this.failed;
  }

  /** Resolves when no write is in flight. */
  private idle(): Promise<void> {
    if (!this.flushing && this.batch === null) return Promise.resolve();
    return new Promise((res) => this.idleWaiters.push(res));
  }

  // ── encoder side ─────────────────────────────────────────────────────────

  /** The pending chunk for segment `seg`, created (from the free list) if needed. */
  private chunkFor(seg: number): Encbuf {
    const last = this.pending[this.pending.length - 1];
    if (last !== undefined && last.seg === seg) return last.buf;
    const buf = this.freeBufs.pop() ?? new Encbuf(64 * 1024);
    buf.reset();
    this.pending.push({ seg, buf });
    return buf;
  }

  /** Zero bytes to the end of the current page, if it holds anything. */
  private padPage(): void {
    const alloc = this.segSize % PAGE_SIZE;
    if (alloc === 0) return;
    const n = PAGE_SIZE - alloc;
    const b = this.chunkFor(this.segIndex);
    b.grow(n);
    b.buf.fill(0, b.len, b.len + n);
    b.len += n;
    this.segSize += n;
  }

  private switchSegment(): void {
    this.padPage();
    this.segIndex++;
    this.segSize = 0;
  }

  /** Lays one record out into fragments, exactly as Prometheus's `WL.log`. */
  private encodeRecord(rec: Uint8Array): void {
    let compressed = false;
    if (this.options.compress && rec.length > 0) {
      const c = snappyEncode(rec);
      if (c.length < rec.length) {
        rec = c;
        compressed = true;
        this.stats.compressed++;
      }
    }
    this.stats.records++;
    // Free space in the active page plus the free pages of the segment.
    const alloc = this.segSize % PAGE_SIZE;
    const donePages = Math.floor(this.segSize / PAGE_SIZE);
    const left = PAGE_SIZE - alloc - RECORD_HEADER_SIZE + (PAGE_SIZE - RECORD_HEADER_SIZE) * (this.pagesPerSegment - donePages - 1);
    // Prometheus also switches when the segment is empty; a record bigger than a
    // whole segment then lands alone in an oversized segment either way.
    if (rec.length > left && this.segSize > 0) this.switchSegment();

    const out = this.chunkFor(this.segIndex);
    const n = rec.length;
    let off = 0;
    for (let i = 0; i === 0 || off < n; i++) {
      const pageFree = PAGE_SIZE - (this.segSize % PAGE_SIZE);
      const l = Math.min(n - off, pageFree - RECORD_HEADER_SIZE);
      let typ: number;
      if (i === 0 && l === n) typ = FragmentType.Full;
      else if (off + l === n) typ = FragmentType.Last;
      else if (i === 0) typ = FragmentType.First;
      else typ = FragmentType.Middle;
      if (compressed) typ |= SNAPPY_MASK;

      out.grow(RECORD_HEADER_SIZE + l);
      const p = out.len;
      out.buf[p] = typ;
      out.view.setUint16(p + 1, l);
      out.view.setUint32(p + 3, crc32c(rec, off, off + l));
      out.buf.set(rec.subarray(off, off + l), p + RECORD_HEADER_SIZE);
      out.len = p + RECORD_HEADER_SIZE + l;
      this.segSize += RECORD_HEADER_SIZE + l;
      off += l;

      // Fewer than 7 bytes left in the page: they are zeros, the next fragment starts a page.
      const rest = PAGE_SIZE - (this.segSize % PAGE_SIZE);
      if (rest < RECORD_HEADER_SIZE) {
        out.grow(rest);
        out.buf.fill(0, out.len, out.len + rest);
        out.len += rest;
        this.segSize += rest;
      }
    }
  }

  private enqueue(): Promise<void> {
    if (this.batch === null) {
      this.batch = newBatch();
      // Start on a microtask so every log() of this tick joins one write + fsync.
      if (!this.flushing) {
        this.flushing = true;
        queueMicrotask(this.flushLoopBound);
      }
    }
    return this.batch.promise;
  }

  // ── flusher side ─────────────────────────────────────────────────────────

  private async flushLoop(): Promise<void> {
    while (this.batch !== null) {
      const batch = this.batch;
      const chunks = this.pending;
      this.batch = null;
      this.pending = [];
      if (this.failed !== null) {
        batch.reject(this.failed);
        continue;
      }
      try {
        await this.writeChunks(chunks);
        batch.resolve();
      } catch (e) {
        this.failed = e instanceof WalError ? e : new WalError(`write wal segment ${segmentName(this.fileSeg)}`, { cause: e });
        batch.reject(this.failed);
      }
      for (const c of chunks) if (this.freeBufs.length < 4) this.freeBufs.push(c.buf);
    }
    this.flushing = false;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  private async writeChunks(chunks: Chunk[]): Promise<void> {
    let dirty = false;
    for (const c of chunks) {
      if (c.seg !== this.fileSeg || this.fh === null) {
        // Rotation: the finished segment is synced before the next one exists,
        // so a crash never leaves data in a later segment with a hole before it.
        if (this.fh !== null) {
          if (dirty && this.options.sync) {
            await this.fh.datasync();
            this.stats.syncs++;
          }
          await this.fh.close();
          this.fh = null;
        }
        dirty = false;
        this.fh = await createSegment(this.dir, c.seg);
        this.fileSeg = c.seg;
      }
      if (c.buf.len > 0) {
        await writeAll(this.fh, c.buf.buf, 0, c.buf.len);
        this.stats.bytes += c.buf.len;
        dirty = true;
      }
    }
    this.stats.flushes++;
    if (dirty && this.options.sync && this.fh !== null) {
      await this.fh.datasync();
      this.stats.syncs++;
    }
  }
}

/** Creates (or opens for append) segment `i` of `dir` and makes its directory entry durable. */
async function createSegment(dir: string, i: number): Promise<FileHandle> {
  const fh = await open(join(dir, segmentName(i)), 'a', 0o666);
  await fsyncDir(dir);
  return fh;
}
