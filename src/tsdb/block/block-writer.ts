/**
 * An in-memory head that turns appended samples into one block, as Prometheus's
 * `tsdb.BlockWriter` (tsdb/blockwriter.go) does for promtool's backfill: samples go
 * through a head with chunk range `chunkRange`, cut into chunks by the head's rule
 * (`ChunkCutter`), and `flush()` writes the block [head min, head max + 1).
 *
 * Appenders behave like 2.42's head appender, which is what decides what ends up on
 * disk when the input repeats or reorders samples:
 *
 *   append(t, v)   against *committed* state of the series:
 *                    t <  last committed            → OutOfOrderSampleError
 *                    t == last, other value bits   → DuplicateSampleError
 *                    otherwise                      → queued (the series is created now)
 *   commit()       queued samples in order; one with t <= the series' newest stored
 *                  sample is dropped silently (a repeat or reorder within one batch)
 *
 * The head's time range covers the samples actually stored (2.42's `Commit` updates it
 * from the in-order samples it appended, not from the dropped ones).
 * Single owner; no WAL (the block is the durable result).
 */
import type { Appender, Labels, SeriesRef } from '../../storage/index.js';
import { STALE_NAN_HI, STALE_NAN_LO, NORMAL_NAN_HI, NORMAL_NAN_LO, errOutOfOrderSample, errDuplicateSample, InvalidLabelsError } from '../../storage/index.js';
import { ChunkCutter, XORChunk, floatHi, floatLo } from '../chunkenc/index.js';
import type { XORAppender } from '../chunkenc/index.js';
import type { ChunkMeta } from '../chunks/index.js';
import { writeBlock } from './writer.js';
import type { BlockMeta } from './meta.js';

/** One series of the writer's head. */
class MemSeries {
  readonly ref: number;
  readonly lset: Labels;
  readonly cutter: ChunkCutter;
  readonly chunks: ChunkMeta[];
  app: XORAppender | null;
  /** Newest stored sample (committed); `has` false until the first one. */
  has: boolean;
  maxT: number;
  lastHi: number;
  lastLo: number;

  constructor(ref: number, lset: Labels, chunkRange: number) {
    this.ref = ref;
    this.lset = lset;
    this.cutter = new ChunkCutter(chunkRange);
    this.chunks = [];
    this.app = null;
    this.has = false;
    this.maxT = 0;
    this.lastHi = 0;
    this.lastLo = 0;
  }

  /** Stores a sample that passed the in-order check. */
  store(t: number, hi: number, lo: number): void {
    if (this.cutter.add(t) || this.app === null) {
      const c = new XORChunk();
      this.app = c.appender();
      this.chunks.push({ ref: 0, minTime: t, maxTime: t, chunk: c });
    }
    this.app.appendBits(t, hi, lo);
    (this.chunks[this.chunks.length - 1] as ChunkMeta).maxTime = t;
    this.has = true;
    this.maxT = t;
    this.lastHi = hi;
    this.lastLo = lo;
  }
}

export class BlockWriter {
  private readonly parentDir: string;
  readonly chunkRange: number;
  private readonly byKey: Map<string, MemSeries>;
  private readonly byRef: MemSeries[];
  /** Head time range (Go `head.MinTime()/MaxTime()`); mint > maxt while empty. */
  minTime: number;
  maxTime: number;

  /**
   * `chunkRange` is the head's chunk range (Go `NewBlockWriter`'s blockSize); promtool's
   * backfill passes 2 × the block duration.
   */
  constructor(parentDir: string, chunkRange: number) {
    this.parentDir = parentDir;
    this.chunkRange = chunkRange;
    this.byKey = new Map();
    this.byRef = [];
    this.minTime = Infinity;
    this.maxTime = -Infinity;
  }

  numSeries(): number {
    return this.byRef.length;
  }

  /** A new transaction. */
  appender(): BlockWriterAppender {
    return new BlockWriterAppender(this);
  }

  /** Series for `lset`, created on first use (Go `getOrCreate`); `ref` (1-based) is a fast path. */
  getOrCreate(ref: SeriesRef, lset: Labels): MemSeries {
    if (ref > 0) {
      const s = this.byRef[ref - 1];
      if (s !== undefined) return s;
    }
    const key = lset.key();
    let s = this.byKey.get(key);
    if (s === undefined) {
      if (lset.length === 0) throw new InvalidLabelsError('empty labelset');
      s = new MemSeries(this.byRef.length + 1, lset, this.chunkRange);
      this.byKey.set(key, s);
      this.byRef.push(s);
    }
    return s;
  }

  /** Applied by a committing appender. */
  updateMinMax(mint: number, maxt: number): void {
    if (mint < this.minTime) this.minTime = mint;
    if (maxt > this.maxTime) this.maxTime = maxt;
  }

  /**
   * Writes the block [minTime, maxTime + 1) into the parent dir (Go `BlockWriter.Flush`).
   * Returns its meta, or null when nothing was appended.
   */
  async flush(): Promise<BlockMeta | null> {
    if (this.byRef.length === 0 || this.minTime > this.maxTime) return null;
    const series = this.byRef.map((s) => ({ labels: s.lset, chunks: s.chunks }));
    return writeBlock(this.parentDir, { mint: this.minTime, maxt: this.maxTime + 1, series });
  }
}

/** One transaction on a BlockWriter (storage `Appender`). */
export class BlockWriterAppender implements Appender {
  private readonly w: BlockWriter;
  private readonly pendS: MemSeries[];
  private pendT: number[];
  private pendHi: number[];
  private pendLo: number[];
  private done: boolean;

  constructor(w: BlockWriter) {
    this.w = w;
    this.pendS = [];
    this.pendT = [];
    this.pendHi = [];
    this.pendLo = [];
    this.done = false;
  }

  /** Samples queued so far. */
  pending(): number {
    return this.pendS.length;
  }

  append(ref: SeriesRef, lset: Labels, t: number, v: number): SeriesRef {
    if (v !== v) return this.appendBits(ref, lset, t, NORMAL_NAN_HI, NORMAL_NAN_LO);
    return this.appendBits(ref, lset, t, floatHi(v), floatLo(v));
  }

  appendStale(ref: SeriesRef, lset: Labels, t: number): SeriesRef {
    return this.appendBits(ref, lset, t, STALE_NAN_HI, STALE_NAN_LO);
  }

  /** Appends a value given by its IEEE-754 bits. */
  appendBits(ref: SeriesRef, lset: Labels, t: number, hi: number, lo: number): SeriesRef {
    if (this.done) throw new Error('appender already committed or rolled back');
    const s = this.w.getOrCreate(ref, lset);
    if (s.has) {
      if (t < s.maxT) throw errOutOfOrderSample;
      if (t === s.maxT && (hi >>> 0 !== s.lastHi >>> 0 || lo >>> 0 !== s.lastLo >>> 0)) throw errDuplicateSample;
    }
    this.pendS.push(s);
    this.pendT.push(t);
    this.pendHi.push(hi);
    this.pendLo.push(lo);
    return s.ref;
  }

  async commit(): Promise<void> {
    this.commitSync();
  }

  /** `commit()` without the promise, for tight import loops. */
  commitSync(): void {
    if (this.done) throw new Error('appender already committed or rolled back');
    this.done = true;
    const n = this.pendS.length;
    let mint = Infinity;
    let maxt = -Infinity;
    for (let i = 0; i < n; i++) {
      const s = this.pendS[i] as MemSeries;
      const t = this.pendT[i] as number;
      // Go appendPreprocessor: t <= newest stored sample → dropped (counted as out of order).
      if (s.has && t <= s.maxT) continue;
      s.store(t, this.pendHi[i] as number, this.pendLo[i] as number);
      if (t < mint) mint = t;
      if (t > maxt) maxt = t;
    }
    if (mint <= maxt) this.w.updateMinMax(mint, maxt);
    this.pendS.length = 0;
    this.pendT = [];
    this.pendHi = [];
    this.pendLo = [];
  }

  async rollback(): Promise<void> {
    this.done = true;
    this.pendS.length = 0;
    this.pendT = [];
    this.pendHi = [];
    this.pendLo = [];
  }
}
