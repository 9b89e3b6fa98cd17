/**
 * One series in the head: its labels and its samples as XOR chunks, the counterpart
 * of Prometheus's `memSeries` (tsdb/head.go). No object per sample and no object per
 * finished chunk:
 *
 * ```
 *  MemSeries
 *  ├─ ref, lset (interned strings), hash, hashNext ─► SeriesMap bookkeeping
 *  ├─ cutMeta: number[]     [mint0, maxt0, loc0, size0, mint1, …]   finished chunks; bytes in
 *  │                        chunks_head/ files (loc = ChunkDiskMapperRef, chunk-disk-mapper.ts)
 *  │                        or, for a head without a directory, in the ChunkArena's pages;
 *  │                        size = byte length * 65536 + sample count (metaLen/metaSamples)
 *  ├─ open chunk, encoded in place (no XORChunk/XORAppender/BitWriter objects):
 *  │    cbuf/coff/ccap   a block of a shared slab (ChunkArena.openChunks, SlabPool)
 *  │    cpos, win, tDelta  XOR encoder state: bit position, leading/trailing window + Go's
 *  │                       trailing-byte flag, previous time delta
 *  │    headMint, maxtD, headN   first sample time, newest − first, samples (0 = empty)
 *  │    nextD            cut the open chunk at the first sample ≥ headMint + nextD
 *  └─ lastHi/lastLo/lastStale   bits of the newest value (duplicate detection; also the
 *                                XOR encoder's previous value)
 * ```
 *
 * Why one object: the open chunk used to be an XORChunk + XORAppender + BitWriter + a
 * Uint8Array view (~290 bytes of heap per series and four pointer chases per sample)
 * and its timestamps were four boxed doubles. Now the encoder state lives here, times
 * other than `headMint` are small-integer offsets from it, and the bytes are a slab
 * block. The encoding is Prometheus's XOR chunk bit for bit (fast-check against
 * `XORAppender` in test/tsdb/head/open-chunk.test.ts).
 *
 * Ownership and immutability: `cutMeta` is never written in place; cutting a chunk or
 * truncating builds a new array, and arena bytes never change. A query that captured
 * them keeps a consistent view whatever the head does next (our stand-in for
 * Prometheus's isolation, see read.ts). The open chunk's block is appended to in
 * place: readers, block writers and cuts copy its bytes, so at a cut and at truncation
 * it goes back to the pool (zeroed), and the next chunk takes a block sized for the
 * finished one.
 *
 * Chunk cutting follows Prometheus 2.42 `appendPreprocessor` exactly, through
 * `chunkenc/cut.ts`: a chunk ends at the chunk-range boundary (`rangeForTimestamp`),
 * earlier when the sample rate predicts more than 120 samples (decided at sample 30),
 * and always at 240 samples.
 */
import { STALE_NAN_HI, STALE_NAN_LO, type Labels } from '../../storage/index.js';
import { putBits, writeBE32 } from '../chunkenc/bstream.js';
import { SlabPool } from '../chunkenc/buffer-pool.js';
import { ctz32, int64Hi, int64Lo, putUvarint64, uvarint64Len, zigzag64 } from '../chunkenc/u64.js';
import { computeChunkEndTime, rangeForTimestamp, SAMPLES_PER_CHUNK } from '../chunkenc/cut.js';
import type { ChunkArena } from './chunk-arena.js';
import type { HashedSeries } from './series-map.js';

/** Fields per finished chunk in `cutMeta`: mint, maxt, location, size (byte length and sample count packed). */
export const META_STRIDE = 4;

/** Packs a chunk's byte length and sample count (≤ 65535) into one `cutMeta` field. */
export function packSize(len: number, numSamples: number): number {
  return len * 65536 + numSamples;
}

/** Byte length of a finished chunk from its packed size (`cutMeta[k + 3]`). */
export function metaLen(size: number): number {
  return Math.floor(size / 65536);
}

/** Sample count of a finished chunk from its packed size (`cutMeta[k + 3]`). */
export function metaSamples(size: number): number {
  return size % 65536;
}
const EMPTY_META: readonly number[] = Object.freeze([]) as readonly number[];

/** Result codes of `appendable`/`append`: small ints, no allocation on the hot path. */
export const AppendResult = {
  /** The sample is newer than the series' newest sample: append it. */
  Ok: 0,
  /** Same timestamp and same value bits as the newest sample: drop silently. */
  IdenticalDuplicate: 1,
  /** Same timestamp, different value bits. */
  Duplicate: 2,
  /** Older than the newest sample. */
  OutOfOrder: 3,
} as const;
export type AppendResult = (typeof AppendResult)[keyof typeof AppendResult];

/** Block for a series' first open chunk; later chunks get one sized from the chunk before. */
const FIRST_CHUNK_CAP = 128;
/** Go's trailing-byte flag (bstream `count == 8`, see bstream.ts) in `win`. */
const EXTRA = 0x10000;
/** `win` of an empty chunk: leading = 0xff ("no window yet", Go's sentinel), trailing 0. */
const NO_WINDOW = 0xff << 8;
const EMPTY_BLOCK = new Uint8Array(0);
const zz = new Uint32Array(2);

/** Read-only view of the open chunk for read.ts / block.ts (`s.head.bytes()`). */
export interface OpenChunk {
  /** The open chunk's bytes (a view into the series' block; copy before the next append). */
  bytes(): Uint8Array;
}

export class MemSeries implements HashedSeries<MemSeries>, OpenChunk {
  readonly ref: number;
  readonly lset: Labels;
  readonly hash: number;
  hashNext: MemSeries | null;

  /** Per finished chunk: mint, maxt (inclusive), location, packed size; replaced (never mutated) on cut and truncation. */
  cutMeta: readonly number[];
  /** Timestamp of the open chunk's first sample (valid when `headN > 0`). */
  headMint: number;
  /** Newest minus first sample time of the open chunk: a small integer (≤ 2 chunk ranges), unlike the times. */
  maxtD: number;
  /** Samples in the open chunk; 0 when it is empty or there is none. */
  headN: number;
  /** The open chunk is cut before a sample at or after `headMint + nextD` (Go `nextAt`). */
  nextD: number;
  /** Raw bits (int32 halves) of the newest sample's value: duplicate detection and the XOR encoder's previous value. */
  private vHi: number;
  private vLo: number;
  /** Whether the newest sample was a stale marker. */
  lastStale: boolean;
  /** Number of open transactions holding samples for this series: gc must not drop it. */
  pendingCommit: number;
  /** True once a Series record for this series is durable in the WAL (or it came from the WAL). */
  logged: boolean;
  /** Commit sequence that last collected this series for a Series record (dedup within one commit). */
  logMark: number;
  /** The open chunk's block: bytes [coff, coff + ccap) of `cbuf` (a pool slab); ccap 0 = no open chunk. */
  private cbuf: Uint8Array;
  private coff: number;
  private ccap: number;
  /** XOR encoder: bits written (header included), leading/trailing window | EXTRA, previous time delta. */
  private cpos: number;
  private win: number;
  private tDelta: number;

  constructor(ref: number, lset: Labels, hash: number) {
    this.ref = ref;
    this.lset = lset;
    this.hash = hash;
    this.hashNext = null;
    this.cutMeta = EMPTY_META;
    this.headMint = 0;
    this.maxtD = 0;
    this.headN = 0;
    this.nextD = 0;
    this.vHi = 0;
    this.vLo = 0;
    this.lastStale = false;
    this.pendingCommit = 0;
    this.logged = false;
    this.logMark = 0;
    this.cbuf = EMPTY_BLOCK;
    this.coff = 0;
    this.ccap = 0;
    this.cpos = 0;
    this.win = NO_WINDOW;
    this.tDelta = 0;
  }

  /** The open chunk (null when there is none): `s.head.bytes()` as when it was an XORChunk. */
  get head(): OpenChunk | null {
    return this.ccap > 0 ? this : null;
  }

  /** Timestamp of the open chunk's newest sample, -Infinity when it is empty. */
  get headMaxt(): number {
    return this.headN > 0 ? this.headMint + this.maxtD : -Infinity;
  }

  /** Go `nextAt` (valid while the open chunk has samples). */
  get nextAt(): number {
    return this.headMint + this.nextD;
  }

  /** High 32 bits of the newest value (as an int32). Set by chunks_head loading for the duplicate check. */
  get lastHi(): number {
    return this.vHi;
  }

  set lastHi(v: number) {
    this.vHi = v | 0;
  }

  /** Low 32 bits of the newest value (as an int32). */
  get lastLo(): number {
    return this.vLo;
  }

  set lastLo(v: number) {
    this.vLo = v | 0;
  }

  /** Length in bytes of the open chunk as Prometheus would hold it. */
  private openChunkLen(): number {
    return ((this.cpos + 7) >>> 3) + ((this.win & EXTRA) !== 0 ? 1 : 0);
  }

  bytes(): Uint8Array {
    return this.cbuf.subarray(this.coff, this.coff + this.openChunkLen());
  }

  /** Capacity of the open chunk's block (0 when there is none), for tests and stats. */
  openChunkCap(): number {
    return this.ccap;
  }

  /** A private copy of the open chunk's bytes (empty when there is none). */
  openChunkBytes(): Uint8Array {
    return this.bytes().slice();
  }

  /** Number of finished chunks. */
  numCut(): number {
    return this.cutMeta.length / META_STRIDE;
  }

  /** Number of chunks including the open one. */
  numChunks(): number {
    return this.cutMeta.length / META_STRIDE + (this.headN > 0 ? 1 : 0);
  }

  /** Timestamp of the newest sample, or -Infinity when the series holds none. */
  maxTime(): number {
    if (this.headN > 0) return this.headMint + this.maxtD;
    const n = this.cutMeta.length;
    return n > 0 ? (this.cutMeta[n - META_STRIDE + 1] as number) : -Infinity;
  }

  /** Timestamp of the oldest sample, or +Infinity when the series holds none. */
  minTime(): number {
    if (this.cutMeta.length > 0) return this.cutMeta[0] as number;
    if (this.headN > 0) return this.headMint;
    return Infinity;
  }

  /**
   * Would a sample at `t` with these value bits be appended? Checked against committed
   * state, as Prometheus's `memSeries.appendable` with out-of-order ingestion disabled.
   */
  appendable(t: number, hi: number, lo: number, stale: boolean): AppendResult {
    const mt = this.maxTime();
    if (t > mt) return AppendResult.Ok;
    if (t === mt) {
      if (stale) return this.lastStale ? AppendResult.IdenticalDuplicate : AppendResult.Duplicate;
      if (!this.lastStale && (hi | 0) === this.vHi && (lo | 0) === this.vLo) return AppendResult.IdenticalDuplicate;
      return AppendResult.Duplicate;
    }
    return AppendResult.OutOfOrder;
  }

  /**
   * Appends a float (or the stale marker when `stale`) if it is in order; returns the
   * reason when it is not. `chunkRange` is the head's block range (2 h by default).
   * `hi`/`lo` are `v`'s bits, computed once by the caller.
   */
  append(t: number, hi: number, lo: number, stale: boolean, chunkRange: number, arena: ChunkArena): AppendResult {
    if (stale) {
      hi = STALE_NAN_HI;
      lo = STALE_NAN_LO;
    } else {
      hi |= 0;
      lo |= 0;
    }
    const r = this.appendable(t, hi, lo, stale);
    if (r !== AppendResult.Ok) return r;
    const pool = arena.openChunks;
    if (this.ccap === 0) this.takeBlock(FIRST_CHUNK_CAP, pool);
    const n = this.headN;
    if (n === 0) {
      this.headMint = t;
      this.nextD = rangeForTimestamp(t, chunkRange) - t;
    } else {
      const mint = this.headMint;
      // At a quarter of the target size, predict an end time that spreads the rest of
      // the range over equally sized chunks (Prometheus appendPreprocessor).
      if (n === SAMPLES_PER_CHUNK / 4) this.nextD = computeChunkEndTime(mint, mint + this.maxtD, mint + this.nextD) - mint;
      if (t - mint >= this.nextD || n >= SAMPLES_PER_CHUNK * 2) {
        this.cutHeadChunk(arena);
        this.headMint = t;
        this.nextD = rangeForTimestamp(t, chunkRange) - t;
      }
    }
    this.encode(t, hi, lo, pool);
    this.vHi = hi;
    this.vLo = lo;
    this.lastStale = stale;
    this.maxtD = t - this.headMint;
    this.headN++;
    return AppendResult.Ok;
  }

  /**
   * Go `xorAppender.Append` into the open chunk (sample number `headN`), bit for bit:
   * computes the sample's size first so the block is checked (and grown) once.
   */
  private encode(t: number, hi: number, lo: number, pool: SlabPool): void {
    const num = this.headN;
    let p = this.cpos;
    let win = this.win;
    let tDelta = 0;
    let extra: boolean;
    if (num === 0) {
      zigzag64(int64Hi(t), int64Lo(t), zz);
      const zh = zz[0] as number;
      const zl = zz[1] as number;
      const k = uvarint64Len(zh, zl);
      this.ensure(p + k * 8 + 64, pool);
      const buf = this.cbuf;
      // The position is byte aligned (just after the 2-byte header).
      const i = putUvarint64(buf, this.coff + (p >>> 3), zh, zl);
      writeBE32(buf, i, hi);
      writeBE32(buf, i + 4, lo);
      p += k * 8 + 64;
      extra = true;
      win = NO_WINDOW;
    } else {
      tDelta = t - (this.headMint + this.maxtD);
      // Time part: its bits `tb`, written below once the block is known to fit.
      let tb: number;
      let dod = 0;
      if (num === 1) tb = uvarint64Len(int64Hi(tDelta), int64Lo(tDelta)) * 8;
      else {
        dod = tDelta - this.tDelta;
        // Buckets are asymmetric: -(2^(n-1)-1) <= dod <= 2^(n-1) (Go bitRange).
        if (dod === 0) tb = 1;
        else if (dod >= -8191 && dod <= 8192) tb = 16;
        else if (dod >= -65535 && dod <= 65536) tb = 20;
        else if (dod >= -524287 && dod <= 524288) tb = 24;
        else tb = 68;
      }
      // Value part (Go xorWrite): control bits `cb` then `sig` bits of the xor shifted by `tr`.
      const xh = hi ^ this.vHi;
      const xl = lo ^ this.vLo;
      let cb = 1;
      let ctl = 0;
      let sig = 0;
      let tr = 0;
      if (xh !== 0 || xl !== 0) {
        let newLeading = xh !== 0 ? Math.clz32(xh) : 32 + Math.clz32(xl);
        const newTrailing = xl !== 0 ? ctz32(xl) : 32 + ctz32(xh);
        // Only 5 bits for the leading-zero count.
        if (newLeading >= 32) newLeading = 31;
        const leading = (win >>> 8) & 0xff;
        const trailing = win & 0xff;
        if (leading !== 0xff && newLeading >= leading && newTrailing >= trailing) {
          // Reuse the previous window: control bits 10.
          cb = 2;
          ctl = 0b10;
          tr = trailing;
          sig = 64 - leading - trailing;
        } else {
          win = (newLeading << 8) | newTrailing;
          tr = newTrailing;
          sig = 64 - newLeading - newTrailing;
          // 11, 5 bits leading, 6 bits significant count (64 is written as 0).
          cb = 13;
          ctl = (0b11 << 11) | (newLeading << 6) | (sig & 63);
        }
      }
      this.ensure(p + tb + cb + sig, pool);
      const buf = this.cbuf;
      const base = this.coff;
      if (num === 1) {
        // Byte aligned after the first sample.
        putUvarint64(buf, base + (p >>> 3), int64Hi(tDelta), int64Lo(tDelta));
      } else if (tb === 1) {
        // A zero bit: nothing to OR in.
      } else if (tb === 16) {
        putBits(buf, base, p, (0b10 << 14) | (dod & 0x3fff), 16);
      } else if (tb === 20) {
        putBits(buf, base, p, (0b110 << 17) | (dod & 0x1ffff), 20);
      } else if (tb === 24) {
        putBits(buf, base, p, (0b1110 << 20) | (dod & 0xfffff), 24);
      } else {
        putBits(buf, base, p, 0b1111, 4);
        putBits(buf, base, p + 4, int64Hi(dod), 32);
        putBits(buf, base, p + 36, int64Lo(dod), 32);
      }
      p += tb;
      if (sig === 0) {
        // Same bits: a single 0 bit.
        p += 1;
        extra = false;
      } else {
        putBits(buf, base, p, ctl, cb);
        p += cb;
        // x >>> tr across the halves, then the low `sig` bits.
        let sh: number;
        let sl: number;
        if (tr === 0) {
          sh = xh;
          sl = xl;
        } else if (tr < 32) {
          sh = xh >>> tr;
          sl = (xl >>> tr) | (xh << (32 - tr));
        } else {
          sh = 0;
          sl = xh >>> (tr - 32);
        }
        if (sig > 32) {
          putBits(buf, base, p, sh, sig - 32);
          putBits(buf, base, p + sig - 32, sl, 32);
        } else {
          putBits(buf, base, p, sl, sig);
        }
        p += sig;
        extra = (sig & 7) === 0 && (p & 7) === 0;
      }
    }
    const c = num + 1;
    const buf = this.cbuf;
    buf[this.coff] = c >>> 8;
    buf[this.coff + 1] = c;
    this.cpos = p;
    this.win = (win & 0xffff) | (extra ? EXTRA : 0);
    this.tDelta = tDelta;
  }

  /** Makes the block hold `bits` bits plus Go's possible trailing byte, moving the chunk to a larger block if needed. */
  private ensure(bits: number, pool: SlabPool): void {
    const need = ((bits + 7) >>> 3) + 1;
    if (need <= this.ccap) return;
    const len = this.openChunkLen();
    const ob = this.cbuf;
    const oo = this.coff;
    const ocap = this.ccap;
    // A quarter more than needed: the chunk keeps growing.
    this.ccap = pool.take(need + (need >>> 2), this.cutMeta.length === 0);
    const nb = pool.buf;
    const no = pool.off;
    for (let i = 0; i < len; i++) nb[no + i] = ob[oo + i] as number;
    this.cbuf = nb;
    this.coff = no;
    pool.give(ob, oo, ocap, len);
  }

  /**
   * Takes an empty block of at least `n` bytes for a new open chunk; a "fresh" one for
   * a series' first chunk (size unknown yet, see SlabPool.take).
   */
  private takeBlock(n: number, pool: SlabPool): void {
    this.ccap = pool.take(n, this.cutMeta.length === 0);
    this.cbuf = pool.buf;
    this.coff = pool.off;
    this.cpos = 16; // after the 2-byte sample count, as Go's make([]byte, 2, 128)
    this.win = NO_WINDOW;
    this.tDelta = 0;
    this.headN = 0;
    this.maxtD = 0;
  }

  /** Gives the open chunk's block back (truncation); the series has no open chunk afterwards. */
  private releaseBlock(pool: SlabPool): void {
    if (this.ccap > 0) pool.give(this.cbuf, this.coff, this.ccap, this.openChunkLen());
    this.cbuf = EMPTY_BLOCK;
    this.coff = 0;
    this.ccap = 0;
    this.cpos = 0;
    this.win = NO_WINDOW;
    this.headN = 0;
    this.maxtD = 0;
  }

  /**
   * Moves the open chunk (it has samples) to the finished chunks (written to
   * chunks_head, or copied into the arena at exact size) and starts the next one in a
   * block for this one's size plus an eighth: most series never grow a block. Always a
   * new block, even of the same class: taking from the pool's fullest slabs packs the
   * blocks densely again after every cut round (see SlabPool).
   */
  private cutHeadChunk(arena: ChunkArena): void {
    const len = this.openChunkLen();
    const buf = this.cbuf;
    const off = this.coff;
    const mint = this.headMint;
    const maxt = mint + this.maxtD;
    this.pushCut(arena.store(this.ref, mint, maxt, buf.subarray(off, off + len)), packSize(len, this.headN), mint, maxt);
    const pool = arena.openChunks;
    pool.give(buf, off, this.ccap, len);
    this.takeBlock(len + (len >>> 3) + 4, pool);
  }

  /** Records a finished chunk stored at `loc` (`size` from `packSize`). */
  pushCut(loc: number, size: number, mint: number, maxt: number): void {
    const om = this.cutMeta;
    const nm = new Array<number>(om.length + META_STRIDE);
    for (let i = 0; i < om.length; i++) nm[i] = om[i] as number;
    nm[om.length] = mint;
    nm[om.length + 1] = maxt;
    nm[om.length + 2] = loc;
    nm[om.length + 3] = size;
    this.cutMeta = nm;
  }

  /**
   * Drops every chunk whose newest sample is older than `mint` (Prometheus
   * `truncateChunksBefore`), releasing its arena bytes (chunks_head files go whole,
   * see Head.truncateMemory). Returns the samples removed.
   * A chunk that straddles `mint` is kept whole, as in Prometheus.
   */
  truncateChunksBefore(mint: number, arena: ChunkArena): number {
    let removed = 0;
    const m = this.cutMeta;
    let k = 0;
    while (k < m.length && (m[k + 1] as number) < mint) {
      const size = m[k + 3] as number;
      removed += metaSamples(size);
      arena.release(m[k + 2] as number, metaLen(size));
      k += META_STRIDE;
    }
    if (k > 0) this.cutMeta = k === m.length ? EMPTY_META : m.slice(k);
    if (this.ccap > 0 && this.headN > 0 && this.headMint + this.maxtD < mint) {
      // The last value stays: the next sample is still checked against it.
      removed += this.headN;
      this.releaseBlock(arena.openChunks);
    }
    return removed;
  }

  /** Samples held (finished chunks + open chunk). */
  numSamples(): number {
    let n = this.headN;
    const m = this.cutMeta;
    for (let k = 3; k < m.length; k += META_STRIDE) n += metaSamples(m[k] as number);
    return n;
  }

  /** Bytes held by chunk data (finished + open chunk's written bytes), for stats and benchmarks. */
  chunkBytes(): number {
    let n = this.headN > 0 ? this.openChunkLen() : 0;
    const m = this.cutMeta;
    for (let k = 3; k < m.length; k += META_STRIDE) n += metaLen(m[k] as number);
    return n;
  }
}
