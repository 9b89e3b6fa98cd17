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
 * Consistency without locks. With chunks_head (DB heads): `select()` captures each
 * series' finished chunk list and a copy of its open chunk, and the querier holds the
 * chunks_head files until `close()` (a head truncation meanwhile only defers their
 * deletion), so a query sees exactly the samples committed at select, however long it
 * runs and however many head cuts happen; `iterator()` reads the finished chunks into
 * one private buffer per series. Without a directory (in-memory heads, tests): `iterator()`
 * takes views of the current arena pages (never rewritten) and a copy of the open
 * chunk's bytes (its sample count is rewritten in place by appends), so the iterator
 * sees exactly the samples committed when it was created. Either way, appends that
 * happen while an iterator is consumed (across `await`s) never show.
 * A commit is applied to memory in one synchronous step, so no half-applied commit is
 * ever visible.
 */
import {
  compareLabels,
  emptySeriesSet,
  type Labels,
  type Matcher,
  type Querier,
  type SampleIterator,
  type SelectHints,
  type Series,
  type SeriesSet,
} from '../../storage/index.js';
import { XORIterator } from '../chunkenc/xor.js';
import { FilteredIterator } from '../filtered-iterator.js';
import type { Head } from './head.js';
import type { ChunkArena } from './chunk-arena.js';
import { META_STRIDE, metaLen, type MemSeries } from './mem-series.js';

const EMPTY_BYTES = new Uint8Array(0);

export class HeadQuerier implements Querier {
  private readonly head: Head;
  readonly mint: number;
  readonly maxt: number;
  /**
   * chunks_head reader token (`ChunkDiskMapper.acquireReader`), -1 when the head has no
   * chunk files or after close: until `close()`, files a head truncation retires stay on
   * disk, so every chunk this querier selects stays readable however long it runs.
   */
  private readerToken: number;

  constructor(head: Head, mint: number, maxt: number) {
    this.head = head;
    this.mint = mint;
    this.maxt = maxt;
    const disk = head.opts.chunkDisk;
    this.readerToken = disk !== null ? disk.acquireReader() : -1;
  }

  /**
   * Series of the head matching all matchers with at least one sample in [mint, maxt].
   * Not cut off at the head's minTime: after a truncation the head keeps whole chunks, so
   * a few samples older than minTime remain and are returned (the DB's merge dedups them
   * against the block that also has them).
   */
  select(sorted: boolean, _hints: SelectHints | null, ...matchers: Matcher[]): SeriesSet {
    const h = this.head;
    if (h.isEmpty() || h.maxTime < this.mint) return emptySeriesSet;
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
    // The finished chunks as of now (arrays are replaced, never changed): a truncation
    // before `iterator()` must not take chunks from a query that already selected them.
    // Their chunks_head files stay on disk until this querier is closed (readerToken).
    const metas = out.map((s) => s.cutMeta);
    // With chunks_head, also a copy of each open chunk in range (the iterator would copy
    // it anyway): it may be cut and truncated away before `iterator()` is called, and a
    // chunk cut after select is in no captured list. The series then read as of select
    // (Prometheus isolates a querier from later appends too).
    let open: OpenCopies | null = null;
    if (h.opts.chunkDisk !== null) {
      open = new OpenCopies(out.length);
      for (let i = 0; i < out.length; i++) open.capture(i, out[i] as MemSeries, this.mint, this.maxt);
    }
    return new HeadSeriesSet(out, metas, open, h.arena, this.mint, this.maxt);
  }

  labelValues(name: string, ...matchers: Matcher[]): string[] {
    const h = this.head;
    if (h.isEmpty() || h.maxTime < this.mint) return [];
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
    if (h.isEmpty() || h.maxTime < this.mint) return [];
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

  /** Releases the chunks_head files held for this querier (idempotent); its series must not be read afterwards. */
  close(): void {
    const t = this.readerToken;
    if (t < 0) return;
    this.readerToken = -1;
    this.head.opts.chunkDisk?.releaseReader(t);
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Copies of selected series' open chunks (bytes null: none in range), captured at select. */
class OpenCopies {
  readonly bytes: (Uint8Array | null)[];
  readonly mints: Float64Array;
  readonly maxts: Float64Array;
  constructor(n: number) {
    this.bytes = new Array<Uint8Array | null>(n).fill(null);
    this.mints = new Float64Array(n);
    this.maxts = new Float64Array(n);
  }
  capture(i: number, s: MemSeries, mint: number, maxt: number): void {
    const b = openChunkCopy(s, mint, maxt);
    if (b === null) return;
    this.bytes[i] = b;
    this.mints[i] = s.headMint;
    this.maxts[i] = s.headMaxt;
  }
}

/**
 * A copy of the series' open chunk when it has samples in [mint, maxt], else null. A
 * copy: appends rewrite the open chunk's sample count in place, and the XOR iterator
 * reads that count only when it starts decoding, which may be after more appends.
 */
function openChunkCopy(s: MemSeries, mint: number, maxt: number): Uint8Array | null {
  if (s.head === null || s.headN === 0 || s.headMaxt < mint || s.headMint > maxt) return null;
  return s.openChunkBytes();
}

class HeadSeriesSet implements SeriesSet {
  private readonly list: MemSeries[];
  private readonly metas: (readonly number[])[];
  private readonly open: OpenCopies | null;
  private readonly arena: ChunkArena;
  private readonly mint: number;
  private readonly maxt: number;
  private i: number;
  private cur: HeadSeries | null;

  constructor(list: MemSeries[], metas: (readonly number[])[], open: OpenCopies | null, arena: ChunkArena, mint: number, maxt: number) {
    this.list = list;
    this.metas = metas;
    this.open = open;
    this.arena = arena;
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
    const o = this.open;
    const i = this.i;
    this.cur = new HeadSeries(this.list[i] as MemSeries, this.arena, this.mint, this.maxt, this.metas[i], o === null ? undefined : o.bytes[i], o === null ? 0 : (o.mints[i] as number), o === null ? 0 : (o.maxts[i] as number));
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
  private readonly arena: ChunkArena;
  private readonly mint: number;
  private readonly maxt: number;
  /** Finished chunks captured at select (chunks_head heads; see HeadQuerier.select). */
  private readonly cutMeta: readonly number[];
  /** Open chunk copied at select (null: none in range; undefined: read the live one at `iterator()`) and its time bounds. */
  private readonly open: Uint8Array | null | undefined;
  private readonly openMint: number;
  private readonly openMaxt: number;

  constructor(s: MemSeries, arena: ChunkArena, mint: number, maxt: number, cutMeta: readonly number[] = s.cutMeta, open?: Uint8Array | null, openMint = 0, openMaxt = 0) {
    this.s = s;
    this.arena = arena;
    this.mint = mint;
    this.maxt = maxt;
    this.cutMeta = cutMeta;
    this.open = open;
    this.openMint = openMint;
    this.openMaxt = openMaxt;
  }

  labels(): Labels {
    return this.s.lset;
  }

  iterator(reuse?: SampleIterator | null): SampleIterator {
    const it = reuse instanceof HeadSeriesIterator ? reuse : new HeadSeriesIterator();
    it.reset(this.s, this.arena, this.mint, this.maxt, this.cutMeta, this.open, this.openMint, this.openMaxt);
    return it;
  }
}

/**
 * Iterates the samples of one head series within [mint, maxt] across its finished
 * chunks and its open chunk (filtering by the shared FilteredIterator). `reset`
 * captures byte views of the chunks overlapping the range (chunks outside it are never
 * decoded; the open chunk is a copy); the views own or pin their memory, so the head
 * may cut, truncate or release arena pages meanwhile.
 */
export class HeadSeriesIterator extends FilteredIterator {
  /** Captured chunks: bytes and inclusive time bounds; `n` of them valid. */
  private readonly views: Uint8Array[];
  private readonly mints: number[];
  private readonly maxts: number[];
  private n: number;
  /** Index of the chunk being read. */
  private ci: number;
  private readonly inner: XORIterator;

  constructor() {
    super(0, 0);
    this.views = [];
    this.mints = [];
    this.maxts = [];
    this.n = 0;
    this.ci = -1;
    this.inner = new XORIterator(EMPTY_BYTES);
    this.done = true;
  }

  /**
   * Captures the series' chunks overlapping [mint, maxt]; see the class comment. `open`
   * (with its bounds): the open chunk as copied at select, used instead of the live one
   * (null: none).
   */
  reset(s: MemSeries, arena: ChunkArena, mint: number, maxt: number, cutMeta: readonly number[] = s.cutMeta, open?: Uint8Array | null, openMint = 0, openMaxt = 0): void {
    let n = 0;
    const disk = arena.disk;
    // In-memory heads release arena pages at truncation: only the current chunks are readable there.
    const m = disk !== null ? cutMeta : s.cutMeta;
    // From disk: one buffer for all the series' chunks in range, filled by preads.
    let buf: Uint8Array | null = null;
    let at = 0;
    if (disk !== null) {
      let total = 0;
      for (let k = 0; k < m.length; k += META_STRIDE) if ((m[k + 1] as number) >= mint && (m[k] as number) <= maxt) total += metaLen(m[k + 3] as number);
      // allocUnsafe: pooled for small sizes; views below are plain Uint8Arrays (cheaper than Buffer slices).
      if (total > 0) buf = Buffer.allocUnsafe(total);
    }
    for (let k = 0; k < m.length; k += META_STRIDE) {
      const cmint = m[k] as number;
      const cmaxt = m[k + 1] as number;
      if (cmaxt < mint || cmint > maxt) continue;
      const len = metaLen(m[k + 3] as number);
      if (disk !== null) {
        (disk as NonNullable<typeof disk>).readInto(m[k + 2] as number, len, buf as Uint8Array, at);
        this.views[n] = new Uint8Array((buf as Uint8Array).buffer, (buf as Uint8Array).byteOffset + at, len);
        at += len;
      } else {
        this.views[n] = arena.view(m[k + 2] as number, len);
      }
      this.mints[n] = cmint;
      this.maxts[n] = cmaxt;
      n++;
    }
    if (open === undefined) {
      // Not captured at select (in-memory heads): the open chunk as of now.
      open = openChunkCopy(s, mint, maxt);
      openMint = s.headMint;
      openMaxt = s.headMaxt;
    }
    if (open !== null) {
      this.views[n] = open; // private copy; iterators only read it
      this.mints[n] = openMint;
      this.maxts[n] = openMaxt;
      n++;
    }
    // Drop views of an earlier, longer capture so their pages can be collected.
    for (let i = n; i < this.n; i++) this.views[i] = EMPTY_BYTES;
    this.n = n;
    this.ci = -1;
    this.resetFilter(mint, maxt);
  }

  /** Opens the next captured chunk whose range ends at or after `from`; false when none is left in range. */
  protected openNext(from: number): boolean {
    for (;;) {
      this.ci++;
      if (this.ci >= this.n || (this.mints[this.ci] as number) > this.maxt) return false;
      if ((this.maxts[this.ci] as number) < from) continue;
      this.inner.reset(this.views[this.ci] as Uint8Array);
      this.cur = this.inner;
      this.curMint = this.mints[this.ci] as number;
      this.curMaxt = this.maxts[this.ci] as number;
      return true;
    }
  }
}
