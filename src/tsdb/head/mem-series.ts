/**
 * One series in the head: its labels and its samples as XOR chunks, the counterpart
 * of Prometheus's `memSeries` (tsdb/head.go). No object per sample and no object per
 * finished chunk:
 *
 * ```
 *  MemSeries
 *  ├─ ref, lset (interned strings), hash, hashNext ─► SeriesMap bookkeeping
 *  ├─ cutData: Uint8Array   ┌──────── chunk 0 ────────┬──── chunk 1 ────┬─ …   finished chunks,
 *  │                        │ XOR bytes (hdr n=120…)  │ XOR bytes       │      back to back
 *  ├─ cutMeta: Float64Array [mint0, maxt0, end0, mint1, maxt1, end1, …]   (chunk i = cutData[end(i-1), end(i)))
 *  ├─ head: XORChunk + its appender         the open chunk, samples [headMint, headMaxt]
 *  ├─ nextAt                                 cut the open chunk at the first sample ≥ nextAt
 *  └─ lastHi/lastLo/lastStale                 bits of the newest value (duplicate detection)
 * ```
 *
 * Ownership and immutability: `cutData` and `cutMeta` are never written in place;
 * cutting a chunk or truncating builds new arrays. A query that captured them keeps a
 * consistent view whatever the head does next (our stand-in for Prometheus's
 * isolation, see read.ts). The open chunk's buffer is appended to in place: readers
 * capture its sample count and never read past it.
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
import type { HashedSeries } from './series-map.js';

const EMPTY_BYTES = new Uint8Array(0);
const EMPTY_META = new Float64Array(0);

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

  /** Finished chunks, back to back; replaced (never mutated) on cut and truncation. */
  cutData: Uint8Array;
  /** Per finished chunk: mint, maxt (inclusive), end offset in `cutData`. */
  cutMeta: Float64Array;
  /** The open chunk, null when the series has none (new, or just truncated). */
  head: XORChunk | null;
  headApp: ChunkAppender | null;
  /** Timestamps of the open chunk's first and last sample (valid when it has samples). */
  headMint: number;
  headMaxt: number;
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
    this.cutData = EMPTY_BYTES;
    this.cutMeta = EMPTY_META;
    this.head = null;
    this.headApp = null;
    this.headMint = 0;
    this.headMaxt = 0;
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
    return this.cutMeta.length / 3;
  }

  /** Number of chunks including the open one. */
  numChunks(): number {
    return this.cutMeta.length / 3 + (this.head !== null && this.head.numSamples() > 0 ? 1 : 0);
  }

  /** Timestamp of the newest sample, or -Infinity when the series holds none. */
  maxTime(): number {
    if (this.head !== null && this.head.numSamples() > 0) return this.headMaxt;
    const n = this.cutMeta.length;
    return n > 0 ? (this.cutMeta[n - 2] as number) : -Infinity;
  }

  /** Timestamp of the oldest sample, or +Infinity when the series holds none. */
  minTime(): number {
    if (this.cutMeta.length > 0) return this.cutMeta[0] as number;
    if (this.head !== null && this.head.numSamples() > 0) return this.headMint;
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
  append(t: number, v: number, hi: number, lo: number, stale: boolean, chunkRange: number): AppendResult {
    const r = this.appendable(t, hi, lo, stale);
    if (r !== AppendResult.Ok) return r;
    let c = this.head;
    if (c === null) {
      this.cutNewHeadChunk(t, chunkRange);
      c = this.head as XORChunk;
    }
    const n = c.numSamples();
    if (n === 0) {
      this.headMint = t;
      this.nextAt = rangeForTimestamp(t, chunkRange);
    }
    // At a quarter of the target size, predict an end time that spreads the rest of
    // the range over equally sized chunks (Prometheus appendPreprocessor).
    if (n === SAMPLES_PER_CHUNK / 4) this.nextAt = computeChunkEndTime(this.headMint, this.headMaxt, this.nextAt);
    if (n > 0 && (t >= this.nextAt || n >= SAMPLES_PER_CHUNK * 2)) this.cutNewHeadChunk(t, chunkRange);
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
    return AppendResult.Ok;
  }

  /**
   * Moves the open chunk (if it has samples) to the finished chunks and opens a new one
   * starting at `t`. The finished bytes are copied to an exact-size array so the open
   * chunk's slack capacity is not kept.
   */
  private cutNewHeadChunk(t: number, chunkRange: number): void {
    const c = this.head;
    if (c !== null && c.numSamples() > 0) this.pushCut(c.bytes(), this.headMint, this.headMaxt);
    const nc = new XORChunk();
    this.head = nc;
    this.headApp = nc.appender();
    this.headMint = t;
    this.headMaxt = -Infinity;
    this.nextAt = rangeForTimestamp(t, chunkRange);
  }

  /** Appends a finished chunk's bytes (copied) with its time range. */
  pushCut(bytes: Uint8Array, mint: number, maxt: number): void {
    const old = this.cutData;
    const nd = new Uint8Array(old.length + bytes.length);
    nd.set(old, 0);
    nd.set(bytes, old.length);
    const om = this.cutMeta;
    const nm = new Float64Array(om.length + 3);
    nm.set(om, 0);
    nm[om.length] = mint;
    nm[om.length + 1] = maxt;
    nm[om.length + 2] = nd.length;
    this.cutData = nd;
    this.cutMeta = nm;
  }

  /**
   * Drops every chunk whose newest sample is older than `mint` (Prometheus
   * `truncateChunksBefore`). Returns the number of chunks removed. A chunk that straddles
   * `mint` is kept whole, as in Prometheus.
   */
  truncateChunksBefore(mint: number): number {
    let removed = 0;
    const m = this.cutMeta;
    const n = m.length / 3;
    let k = 0;
    while (k < n && (m[3 * k + 1] as number) < mint) k++;
    if (k > 0) {
      removed = k;
      if (k === n) {
        this.cutData = EMPTY_BYTES;
        this.cutMeta = EMPTY_META;
      } else {
        const start = m[3 * k - 1] as number;
        this.cutData = this.cutData.slice(start);
        const nm = m.slice(3 * k);
        for (let i = 2; i < nm.length; i += 3) nm[i] = (nm[i] as number) - start;
        this.cutMeta = nm;
      }
    }
    const h = this.head;
    if (h !== null && h.numSamples() > 0 && this.headMaxt < mint) {
      // Keep nextAt/last value: a later sample must still be checked against lastT.
      this.head = null;
      this.headApp = null;
      removed++;
    }
    return removed;
  }

  /** Bytes held by chunk data (finished + open chunk's written bytes), for stats and benchmarks. */
  chunkBytes(): number {
    return this.cutData.length + (this.head !== null ? this.head.bytes().length : 0);
  }
}
