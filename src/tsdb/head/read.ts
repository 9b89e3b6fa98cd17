/**
 * Reading the head: a `Querier` over a time range of the head, and the iterator that
 * walks one series' chunks (Prometheus tsdb/head_read.go + the block querier's series
 * set, specialised to memory).
 *
 * ```
 *  HeadQuerier.select(matchers)
 *    └─ postings.forMatchers → refs → series overlapping [mint, maxt] → sorted by labels
 *         └─ HeadSeries(s) ── iterator() ──► HeadSeriesIterator
 *                                             cut chunk 0 … cut chunk k, open chunk
 *                                             (one XORIterator reset per chunk)
 * ```
 *
 * Consistency without locks: `iterator()` captures the series' finished-chunk arrays
 * (never mutated, only replaced) and a view of the open chunk's bytes together with its
 * sample count, synchronously. Appends that happen while the iterator is consumed
 * (across `await`s) write bits after the captured ones or into a new buffer, so the
 * iterator keeps seeing exactly the samples that were committed when it was created.
 * A commit is applied to memory in one synchronous step, so no half-applied commit is
 * ever visible.
 */
import {
  compareLabels,
  emptySeriesSet,
  ValueType,
  type Labels,
  type Matcher,
  type Querier,
  type SampleIterator,
  type SelectHints,
  type Series,
  type SeriesSet,
} from '../../storage/index.js';
import { XORIterator } from '../chunkenc/xor.js';
import type { Head } from './head.js';
import type { MemSeries } from './mem-series.js';

const EMPTY_BYTES = new Uint8Array(0);

export class HeadQuerier implements Querier {
  private readonly head: Head;
  readonly mint: number;
  readonly maxt: number;

  constructor(head: Head, mint: number, maxt: number) {
    this.head = head;
    this.mint = mint;
    this.maxt = maxt;
  }

  /** Series of the head matching all matchers with at least one sample in [mint, maxt]. */
  select(sorted: boolean, _hints: SelectHints | null, ...matchers: Matcher[]): SeriesSet {
    const h = this.head;
    if (h.isEmpty() || h.minTime > this.maxt || h.maxTime < this.mint) return emptySeriesSet;
    const refs = h.postings.forMatchers(matchers);
    const out: MemSeries[] = [];
    for (let i = 0; i < refs.length; i++) {
      const s = h.series.getByRef(refs[i] as number);
      if (s === undefined) continue;
      if (s.minTime() > this.maxt || s.maxTime() < this.mint) continue;
      out.push(s);
    }
    // Refs are creation order, not label order; merging and PromQL need label order.
    if (sorted) out.sort((a, b) => compareLabels(a.lset, b.lset));
    return new HeadSeriesSet(out, this.mint, this.maxt);
  }

  labelValues(name: string, ...matchers: Matcher[]): string[] {
    const h = this.head;
    if (h.isEmpty() || h.minTime > this.maxt || h.maxTime < this.mint) return [];
    if (matchers.length === 0) return h.postings.labelValues(name);
    const set = new Set<string>();
    for (const ref of h.postings.forMatchers(matchers)) {
      const s = h.series.getByRef(ref);
      if (s === undefined) continue;
      const v = s.lset.get(name);
      if (v !== '') set.add(v);
    }
    return [...set].sort(cmp);
  }

  labelNames(...matchers: Matcher[]): string[] {
    const h = this.head;
    if (h.isEmpty() || h.minTime > this.maxt || h.maxTime < this.mint) return [];
    if (matchers.length === 0) return h.postings.labelNames();
    const set = new Set<string>();
    for (const ref of h.postings.forMatchers(matchers)) {
      const s = h.series.getByRef(ref);
      if (s === undefined) continue;
      const p = s.lset.pairs;
      for (let i = 0; i < p.length; i += 2) set.add(p[i] as string);
    }
    return [...set].sort(cmp);
  }

  close(): void {}
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

class HeadSeriesSet implements SeriesSet {
  private readonly list: MemSeries[];
  private readonly mint: number;
  private readonly maxt: number;
  private i: number;
  private cur: HeadSeries | null;

  constructor(list: MemSeries[], mint: number, maxt: number) {
    this.list = list;
    this.mint = mint;
    this.maxt = maxt;
    this.i = -1;
    this.cur = null;
  }

  next(): boolean {
    if (this.i >= this.list.length) return false;
    this.i++;
    if (this.i >= this.list.length) {
      this.cur = null;
      return false;
    }
    this.cur = new HeadSeries(this.list[this.i] as MemSeries, this.mint, this.maxt);
    return true;
  }

  at(): Series {
    if (this.cur === null) throw new Error('at() called without a successful next()');
    return this.cur;
  }

  err(): Error | null {
    return null;
  }

  warnings(): string[] {
    return [];
  }
}

/** One head series restricted to [mint, maxt]. */
export class HeadSeries implements Series {
  readonly s: MemSeries;
  private readonly mint: number;
  private readonly maxt: number;

  constructor(s: MemSeries, mint: number, maxt: number) {
    this.s = s;
    this.mint = mint;
    this.maxt = maxt;
  }

  labels(): Labels {
    return this.s.lset;
  }

  iterator(reuse?: SampleIterator | null): SampleIterator {
    const it = reuse instanceof HeadSeriesIterator ? reuse : new HeadSeriesIterator();
    it.reset(this.s, this.mint, this.maxt);
    return it;
  }
}

/**
 * Iterates the samples of one head series within [mint, maxt] across its finished
 * chunks and its open chunk. Chunks entirely outside the range are skipped by their
 * recorded time bounds without decoding.
 */
export class HeadSeriesIterator implements SampleIterator {
  private data: Uint8Array;
  private meta: Float64Array;
  /** Captured open chunk bytes (EMPTY when none) and its time bounds. */
  private headBytes: Uint8Array;
  private headMint: number;
  private headMaxt: number;
  private nCut: number;
  /** Index of the chunk being read: 0..nCut-1 finished, nCut = open chunk, > nCut done. */
  private ci: number;
  private readonly inner: XORIterator;
  private active: boolean;
  private done: boolean;
  private mint: number;
  private maxt: number;
  private e: Error | null;

  constructor() {
    this.data = EMPTY_BYTES;
    this.meta = new Float64Array(0);
    this.headBytes = EMPTY_BYTES;
    this.headMint = 0;
    this.headMaxt = 0;
    this.nCut = 0;
    this.ci = -1;
    this.inner = new XORIterator(EMPTY_BYTES);
    this.active = false;
    this.done = true;
    this.mint = 0;
    this.maxt = 0;
    this.e = null;
  }

  /** Captures the series' current chunks; see the file comment for why this is safe. */
  reset(s: MemSeries, mint: number, maxt: number): void {
    this.data = s.cutData;
    this.meta = s.cutMeta;
    this.nCut = s.cutMeta.length / 3;
    const h = s.head;
    if (h !== null && h.numSamples() > 0) {
      this.headBytes = h.bytes();
      this.headMint = s.headMint;
      this.headMaxt = s.headMaxt;
    } else {
      this.headBytes = EMPTY_BYTES;
      this.headMint = 0;
      this.headMaxt = 0;
    }
    this.ci = -1;
    this.active = false;
    this.done = false;
    this.mint = mint;
    this.maxt = maxt;
    this.e = null;
  }

  /** Opens the next chunk whose range ends at or after `from`; false when none is left in range. */
  private openNext(from: number): boolean {
    for (;;) {
      this.ci++;
      let cmint: number;
      let cmaxt: number;
      let bytes: Uint8Array;
      if (this.ci < this.nCut) {
        const m = this.meta;
        const k = 3 * this.ci;
        cmint = m[k] as number;
        cmaxt = m[k + 1] as number;
        if (cmaxt < from) continue;
        bytes = this.data.subarray(k === 0 ? 0 : (m[k - 1] as number), m[k + 2] as number);
      } else if (this.ci === this.nCut && this.headBytes.length > 0) {
        cmint = this.headMint;
        cmaxt = this.headMaxt;
        if (cmaxt < from) continue;
        bytes = this.headBytes;
      } else {
        this.done = true;
        this.active = false;
        return false;
      }
      if (cmint > this.maxt) {
        this.done = true;
        this.active = false;
        return false;
      }
      this.inner.reset(bytes);
      this.active = true;
      return true;
    }
  }

  next(): ValueType {
    if (this.done) return ValueType.None;
    for (;;) {
      if (!this.active && !this.openNext(this.mint)) return ValueType.None;
      if (this.inner.next() === ValueType.None) {
        const e = this.inner.err();
        if (e !== null) return this.fail(e);
        this.active = false;
        continue;
      }
      const t = this.inner.atT();
      if (t < this.mint) continue;
      if (t > this.maxt) {
        this.done = true;
        this.active = false;
        return ValueType.None;
      }
      return ValueType.Float;
    }
  }

  seek(t: number): ValueType {
    if (this.done) return ValueType.None;
    if (this.active && this.inner.numRead() > 0 && this.inner.atT() >= t && this.inner.atT() >= this.mint) return ValueType.Float;
    const from = Math.max(t, this.mint);
    for (;;) {
      if (!this.active && !this.openNext(from)) return ValueType.None;
      if (this.inner.seek(from) === ValueType.None) {
        const e = this.inner.err();
        if (e !== null) return this.fail(e);
        this.active = false;
        continue;
      }
      if (this.inner.atT() > this.maxt) {
        this.done = true;
        this.active = false;
        return ValueType.None;
      }
      return ValueType.Float;
    }
  }

  private fail(e: Error): ValueType {
    this.e = e;
    this.done = true;
    this.active = false;
    return ValueType.None;
  }

  atT(): number {
    return this.inner.atT();
  }

  atV(): number {
    return this.inner.atV();
  }

  atStale(): boolean {
    return this.inner.atStale();
  }

  /** Raw value bits, for bit-exact copies (block writing). */
  atVHi(): number {
    return this.inner.atVHi();
  }

  atVLo(): number {
    return this.inner.atVLo();
  }

  err(): Error | null {
    return this.e;
  }
}
