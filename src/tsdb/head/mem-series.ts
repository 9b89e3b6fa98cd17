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
 *  ├─ head: XORChunk + its appender         the open chunk, samples [headMint, headMaxt], headN of them
 *  ├─ nextAt                                 cut the open chunk at the first sample ≥ nextAt
 *  └─ lastHi/lastLo/lastStale                 bits of the newest value (duplicate detection)
 * ```
 *
 * Ownership and immutability: `cutMeta` is never written in place; cutting a chunk or
 * truncating builds a new array, and arena bytes never change. A query that captured
 * them keeps a consistent view whatever the head does next (our stand-in for
 * Prometheus's isolation, see read.ts). The open chunk's buffer is appended to in
 * place and comes from the arena's pool (`ChunkArena.openChunks`): readers, block
 * writers and cuts copy its bytes, so it goes back to the pool when the chunk is cut
 * or truncated.
 *
 * Chunk cutting follows Prometheus 2.42 `appendPreprocessor` exactly, through
 * `chunkenc/cut.ts`: a chunk ends at the chunk-range boundary (`rangeForTimestamp`),
 * earlier when the sample rate predicts more than 120 samples (decided at sample 30),
 * and always at 240 samples.
 */
import { STALE_NAN_HI, STALE_NAN_LO, type Labels } from '../../storage/index.js';
import type { ChunkAppender } from '../chunkenc/chunk.js';
import { XORChunk } from '../chunkenc/xor.js';
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

export class MemSeries implements HashedSeries<MemSeries> {
  readonly ref: number;
  readonly lset: Labels;
  readonly hash: number;
  hashNext: MemSeries | null;

  /** Per finished chunk: mint, maxt (inclusive), location, packed size; replaced (never mutated) on cut and truncation. */
  cutMeta: readonly number[];
  /** The open chunk, null when the series has none (new, or just truncated). */
  head: XORChunk | null;
  headApp: ChunkAppender | null;
  /** Timestamps of the open chunk's first and last sample (valid when it has samples). */
  headMint: number;
  headMaxt: number;
  /** Samples in the open chunk (kept here: asking the chunk builds a view). */
  headN: number;
  /** The open chunk is cut before a sample at or after this time. */
  nextAt: number;
  /** Raw bits of the newest sample's value and whether it was a stale marker. */
  lastHi: number;
  lastLo: number;
  lastStale: boolean;
  /** Number of open transactions holding samples for this series: gc must not drop it. */
  pendingCommit: number;
  /** True once a Series record for this series is durable in the WAL (or it came from the WAL). */
  logged: boolean;
  /** Commit sequence that last collected this series for a Series record (dedup within one commit). */
  logMark: number;

  constructor(ref: number, lset: Labels, hash: number) {
    this.ref = ref;
    this.lset = lset;
    this.hash = hash;
    this.hashNext = null;
    this.cutMeta = EMPTY_META;
    this.head = null;
    this.headApp = null;
    this.headMint = 0;
    this.headMaxt = 0;
    this.headN = 0;
    this.nextAt = 0;
    this.lastHi = 0;
    this.lastLo = 0;
    this.lastStale = false;
    this.pendingCommit = 0;
    this.logged = false;
    this.logMark = 0;
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
    if (this.headN > 0) return this.headMaxt;
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
      if (!this.lastStale && hi === this.lastHi && lo === this.lastLo) return AppendResult.IdenticalDuplicate;
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
    const r = this.appendable(t, hi, lo, stale);
    if (r !== AppendResult.Ok) return r;
    if (this.head === null) this.cutNewHeadChunk(t, chunkRange, arena);
    const n = this.headN;
    if (n === 0) {
      this.headMint = t;
      this.nextAt = rangeForTimestamp(t, chunkRange);
    }
    // At a quarter of the target size, predict an end time that spreads the rest of
    // the range over equally sized chunks (Prometheus appendPreprocessor).
    if (n === SAMPLES_PER_CHUNK / 4) this.nextAt = computeChunkEndTime(this.headMint, this.headMaxt, this.nextAt);
    if (n > 0 && (t >= this.nextAt || n >= SAMPLES_PER_CHUNK * 2)) this.cutNewHeadChunk(t, chunkRange, arena);
    const app = this.headApp as ChunkAppender;
    if (stale) {
      app.appendStale(t);
      this.lastHi = STALE_NAN_HI;
      this.lastLo = STALE_NAN_LO;
    } else {
      app.appendBits(t, hi, lo);
      this.lastHi = hi;
      this.lastLo = lo;
    }
    this.lastStale = stale;
    this.headMaxt = t;
    this.headN++;
    return AppendResult.Ok;
  }

  /**
   * Moves the open chunk (if it has samples) to the finished chunks (written to
   * chunks_head, or copied into the arena at exact size) and opens a new one at `t`.
   */
  private cutNewHeadChunk(t: number, chunkRange: number, arena: ChunkArena): void {
    const c = this.head;
    if (c !== null) {
      if (this.headN > 0) {
        const b = c.bytes();
        this.pushCut(arena.store(this.ref, this.headMint, this.headMaxt, b), packSize(b.length, this.headN), this.headMint, this.headMaxt);
      }
      c.release();
    }
    const nc = new XORChunk(arena.openChunks);
    this.head = nc;
    this.headApp = nc.appender();
    this.headMint = t;
    this.headMaxt = -Infinity;
    this.headN = 0;
    this.nextAt = rangeForTimestamp(t, chunkRange);
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
    if (this.head !== null && this.headN > 0 && this.headMaxt < mint) {
      // nextAt and the last value stay: the next sample is still checked against them.
      removed += this.headN;
      this.head.release();
      this.head = null;
      this.headApp = null;
      this.headN = 0;
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
    let n = this.head !== null && this.headN > 0 ? this.head.bytes().length : 0;
    const m = this.cutMeta;
    for (let k = 3; k < m.length; k += META_STRIDE) n += metaLen(m[k] as number);
    return n;
  }
}
