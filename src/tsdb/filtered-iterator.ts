/**
 * The one sample filter of the TSDB read paths: samples outside [mint, maxt] or inside
 * deleted (tombstoned) intervals are skipped, over a sequence of per-chunk iterators.
 *
 * ```
 *  FilteredIterator (this file)          next / seek / at* / err, range + tombstone checks
 *    ├─ HeadSeriesIterator  (head/read.ts)      chunks: captured head chunks (XOR)
 *    ├─ BlockSeriesIterator (block/querier.ts)  chunks: the series' block chunks
 *    └─ DeletedFilterIterator (delete.ts)       "chunk": any one SampleIterator (head tombstones)
 * ```
 *
 * A subclass only says how to open the next chunk (`openNext`) and, optionally, how to
 * report a chunk's decode error (`chunkError`). Samples are pulled through without
 * objects; the current sample is read from the chunk iterator (`cur`).
 */
import { ValueType, type SampleIterator } from '../storage/index.js';
import { anyInBounds, type Interval } from './tombstones/index.js';

/** An iterator that can also give the current value's raw IEEE-754 bits (XOR chunks). */
export interface RawBitsIterator extends SampleIterator {
  atVHi(): number;
  atVLo(): number;
}

const NO_INTERVALS: readonly Interval[] = Object.freeze([]) as readonly Interval[];

export abstract class FilteredIterator implements SampleIterator {
  // Every field has an initializer, so all instances get one shape before resetFilter runs.
  /** Iterator of the chunk being read; null between chunks. */
  protected cur: SampleIterator | null = null;
  /** Newest sample time of the chunk being read, when known (else Infinity): seek skips it without decoding. */
  protected curMaxt = Infinity;
  /** Oldest sample time of the chunk being read, when known (else -Infinity). */
  protected curMint = -Infinity;
  /**
   * The current chunk lies inside [mint, maxt] and nothing is deleted: its samples need no
   * checks (the common case of a query: only the chunks at its edges are filtered).
   */
  private inside = false;
  protected mint = -Infinity;
  protected maxt = Infinity;
  protected dels: readonly Interval[] = NO_INTERVALS;
  /** First error (chunk open or decode); iteration stops there. */
  protected e: Error | null = null;
  /** No sample can come any more (past maxt, or out of chunks). */
  protected done = false;
  /** The last next()/seek() returned a sample. */
  private positioned = false;
  /** Samples need checking against [mint, maxt] or tombstones. */
  private filtering = false;

  constructor(mint: number, maxt: number, dels: readonly Interval[] = NO_INTERVALS) {
    this.resetFilter(mint, maxt, dels);
  }

  /** Starts over with new bounds (subclasses reset their chunk sequence too). */
  protected resetFilter(mint: number, maxt: number, dels: readonly Interval[] = NO_INTERVALS): void {
    this.cur = null;
    this.curMaxt = Infinity;
    this.curMint = -Infinity;
    this.inside = false;
    this.mint = mint;
    this.maxt = maxt;
    this.dels = dels;
    this.e = null;
    this.done = false;
    this.positioned = false;
    this.filtering = mint !== -Infinity || maxt !== Infinity || dels.length > 0;
  }

  /**
   * Sets `cur` (and `curMint`/`curMaxt` when known) to the next chunk that may hold a
   * sample at or after `from`; false when none is left (or on error: set `e` first).
   */
  protected abstract openNext(from: number): boolean;

  /** The error to report when the current chunk's iterator failed with `err`. */
  protected chunkError(err: Error): Error {
    return err;
  }

  private fail(err: Error): ValueType {
    this.e = this.chunkError(err);
    return this.stop();
  }

  /** Opens the next chunk and notes whether its samples need filtering. */
  private open(from: number): boolean {
    this.curMint = -Infinity;
    this.curMaxt = Infinity;
    const ok = this.openNext(from);
    this.inside = ok && this.dels.length === 0 && this.curMint >= this.mint && this.curMaxt <= this.maxt;
    return ok;
  }

  private stop(): ValueType {
    this.done = true;
    this.cur = null;
    this.positioned = false;
    return ValueType.None;
  }

  next(): ValueType {
    // Fast path: nothing to filter in this chunk, and it still has samples (`cur` is null
    // once done or failed).
    const c = this.cur;
    if (c !== null && (!this.filtering || this.inside)) {
      const vt = c.next();
      if (vt !== ValueType.None) return vt;
    }
    if (this.done || this.e !== null) return ValueType.None;
    for (;;) {
      const it = this.cur;
      if (it === null) {
        if (!this.open(this.mint)) return this.stop();
        continue;
      }
      const vt = it.next();
      if (vt === ValueType.None) {
        const err = it.err();
        if (err !== null) return this.fail(err);
        this.cur = null;
        continue;
      }
      const t = it.atT();
      if (t < this.mint) continue;
      if (t > this.maxt) return this.stop();
      if (this.dels.length !== 0 && anyInBounds(this.dels, t)) continue;
      this.positioned = true;
      return vt;
    }
  }

  seek(t: number): ValueType {
    if (this.done || this.e !== null) return ValueType.None;
    const c = this.cur;
    if (this.positioned && c !== null && c.atT() >= t) return ValueType.Float;
    const from = Math.max(t, this.mint);
    for (;;) {
      const it = this.cur;
      if (it === null) {
        if (!this.open(from)) return this.stop();
        continue;
      }
      if (this.curMaxt < from) {
        this.cur = null;
        continue;
      }
      const vt = it.seek(from);
      if (vt === ValueType.None) {
        const err = it.err();
        if (err !== null) return this.fail(err);
        this.cur = null;
        continue;
      }
      const at = it.atT();
      if (at > this.maxt) return this.stop();
      if (this.dels.length !== 0 && anyInBounds(this.dels, at)) return this.next();
      this.positioned = true;
      return vt;
    }
  }

  atT(): number {
    const c = this.cur;
    return c !== null ? c.atT() : 0;
  }

  atV(): number {
    const c = this.cur;
    return c !== null ? c.atV() : 0;
  }

  atStale(): boolean {
    const c = this.cur;
    return c !== null && c.atStale();
  }

  /** Raw bits of the current value, for bit-exact copies (0 when the chunk iterator has none). */
  atVHi(): number {
    const c = this.cur as Partial<RawBitsIterator> | null;
    return c !== null && c.atVHi !== undefined ? c.atVHi() : 0;
  }

  atVLo(): number {
    const c = this.cur as Partial<RawBitsIterator> | null;
    return c !== null && c.atVLo !== undefined ? c.atVLo() : 0;
  }

  err(): Error | null {
    return this.e;
  }
}
