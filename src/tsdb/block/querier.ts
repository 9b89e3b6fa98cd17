/**
 * Querier over one persisted block (Prometheus `blockQuerier`, `blockSeriesSet`,
 * `populateWithDelSeriesIterator`), implementing the storage `Querier` contract.
 *
 * Series come in index order, which is label order, so `select(sorted=true)` costs
 * nothing extra. For each selected series, chunks outside [mint, maxt] are skipped,
 * chunks fully covered by a tombstone are skipped, and a series with no chunk left is
 * not returned (as in 2.42, a series whose remaining chunks have no sample inside the
 * range is still returned, with an empty iterator). Samples outside [mint, maxt] or in
 * a tombstoned interval are skipped by the iterator.
 *
 * Chunk data is read lazily by the iterator, one chunk at a time; read errors surface
 * through the iterator's `err()`, index errors through the series set's `err()`.
 */
import { Labels } from '../../storage/index.js';
import type { Matcher, Querier, SampleIterator, SelectHints, Series, SeriesSet } from '../../storage/index.js';
import { Encoding, XORIterator, chunkFromData } from '../chunkenc/index.js';
import type { ChunkReader } from '../chunks/index.js';
import type { IndexChunkMeta, IndexReader } from '../index/index.js';
import { compareUtf8 } from '../index/index.js';
import { isSubrange } from '../tombstones/index.js';
import { FilteredIterator } from '../filtered-iterator.js';
import type { Interval, MemTombstones } from '../tombstones/index.js';
import { postingsForMatchers } from './postings-for-matchers.js';

/** What a block querier reads from. */
export interface BlockReaders {
  index: IndexReader;
  chunks: ChunkReader;
  tombstones: MemTombstones;
}

export class BlockQuerier implements Querier {
  private readonly r: BlockReaders;
  private readonly mint: number;
  private readonly maxt: number;
  private readonly onClose: (() => void) | null;
  private closed: boolean;

  /** Queries [mint, maxt] (inclusive). `onClose` is called once by `close()`. */
  constructor(r: BlockReaders, mint: number, maxt: number, onClose: (() => void) | null = null) {
    this.r = r;
    this.mint = mint;
    this.maxt = maxt;
    this.onClose = onClose;
    this.closed = false;
  }

  select(_sorted: boolean, hints: SelectHints | null, ...matchers: Matcher[]): SeriesSet {
    const mint = hints !== null ? hints.start : this.mint;
    const maxt = hints !== null ? hints.end : this.maxt;
    let p: Uint32Array;
    try {
      p = postingsForMatchers(this.r.index, matchers);
    } catch (e) {
      return new ErrSet(e as Error);
    }
    return new BlockSeriesSet(this.r, p, mint, maxt);
  }

  labelValues(name: string, ...matchers: Matcher[]): string[] {
    if (matchers.length === 0) return this.r.index.labelValues(name).filter((v) => v !== '' || name !== '');
    const p = postingsForMatchers(this.r.index, matchers);
    const set = new Set<string>();
    for (const id of p) {
      const v = this.r.index.series(id).labels.get(name);
      if (v !== '') set.add(v);
    }
    return [...set].sort(compareUtf8);
  }

  labelNames(...matchers: Matcher[]): string[] {
    if (matchers.length === 0) return this.r.index.labelNames();
    const p = postingsForMatchers(this.r.index, matchers);
    const set = new Set<string>();
    for (const id of p) {
      const l = this.r.index.series(id).labels;
      for (let i = 0; i < l.length; i++) set.add(l.name(i));
    }
    return [...set].sort(compareUtf8);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose?.();
  }
}

class ErrSet implements SeriesSet {
  private readonly e: Error;
  constructor(e: Error) {
    this.e = e;
  }
  next(): boolean {
    return false;
  }
  at(): Series {
    throw new Error('at() on a failed series set');
  }
  err(): Error | null {
    return this.e;
  }
  warnings(): string[] {
    return [];
  }
}

/** Series of one block selected by postings. */
export class BlockSeriesSet implements SeriesSet {
  private readonly r: BlockReaders;
  private readonly p: Uint32Array;
  private readonly mint: number;
  private readonly maxt: number;
  private i: number;
  private cur: BlockQuerySeries | null;
  private e: Error | null;

  constructor(r: BlockReaders, p: Uint32Array, mint: number, maxt: number) {
    this.r = r;
    this.p = p;
    this.mint = mint;
    this.maxt = maxt;
    this.i = 0;
    this.cur = null;
    this.e = null;
  }

  next(): boolean {
    if (this.e !== null) return false;
    const { mint, maxt } = this;
    while (this.i < this.p.length) {
      const id = this.p[this.i++] as number;
      let s;
      try {
        s = this.r.index.series(id);
      } catch (e) {
        this.e = e as Error;
        return false;
      }
      const dels = this.r.tombstones.get(id);
      const keep: IndexChunkMeta[] = [];
      let trim = false;
      for (const c of s.chunks) {
        if (c.maxTime < mint || c.minTime > maxt) continue;
        if (dels.length === 0 || !isSubrange(c.minTime, c.maxTime, dels)) keep.push(c);
        if (c.minTime < mint || c.maxTime > maxt) trim = true;
      }
      if (keep.length === 0) continue;
      this.cur = new BlockQuerySeries(s.labels, keep, this.r.chunks, dels, trim ? mint : -Infinity, trim ? maxt : Infinity);
      return true;
    }
    return false;
  }

  at(): Series {
    if (this.cur === null) throw new Error('at() before next()');
    return this.cur;
  }

  err(): Error | null {
    return this.e;
  }

  warnings(): string[] {
    return [];
  }
}

/** One series of a block: labels plus the chunks to read. */
export class BlockQuerySeries implements Series {
  readonly lset: Labels;
  readonly chunks: readonly IndexChunkMeta[];
  private readonly cr: ChunkReader;
  private readonly dels: readonly Interval[];
  private readonly mint: number;
  private readonly maxt: number;

  constructor(lset: Labels, chunks: readonly IndexChunkMeta[], cr: ChunkReader, dels: readonly Interval[], mint: number, maxt: number) {
    this.lset = lset;
    this.chunks = chunks;
    this.cr = cr;
    this.dels = dels;
    this.mint = mint;
    this.maxt = maxt;
  }

  labels(): Labels {
    return this.lset;
  }

  iterator(reuse?: SampleIterator | null): BlockSeriesIterator {
    if (reuse instanceof BlockSeriesIterator) {
      reuse.reset(this.chunks, this.cr, this.dels, this.mint, this.maxt);
      return reuse;
    }
    return new BlockSeriesIterator(this.chunks, this.cr, this.dels, this.mint, this.maxt);
  }
}

/**
 * Iterates the samples of a series' chunks in order, skipping samples outside
 * [mint, maxt] and inside deleted intervals (the shared FilteredIterator). Reuses one
 * XOR iterator across chunks.
 */
export class BlockSeriesIterator extends FilteredIterator {
  private chunks: readonly IndexChunkMeta[];
  private cr: ChunkReader;
  private ci: number;
  private readonly xit: XORIterator;

  constructor(chunks: readonly IndexChunkMeta[], cr: ChunkReader, dels: readonly Interval[], mint: number, maxt: number) {
    super(mint, maxt, dels);
    this.chunks = chunks;
    this.cr = cr;
    this.ci = 0;
    this.xit = new XORIterator(EMPTY);
  }

  reset(chunks: readonly IndexChunkMeta[], cr: ChunkReader, dels: readonly Interval[], mint: number, maxt: number): void {
    this.resetFilter(mint, maxt, dels);
    this.chunks = chunks;
    this.cr = cr;
    this.ci = 0;
  }

  /** Opens the next chunk ending at or after `from` (chunks before it are skipped undecoded); false when there is none or on error. */
  protected openNext(from: number): boolean {
    while (this.ci < this.chunks.length) {
      const m = this.chunks[this.ci++] as IndexChunkMeta;
      if (m.maxTime < from) continue;
      try {
        const cr = this.cr;
        cr.locate(m.ref, false);
        if (cr.lastEnc === Encoding.XOR) {
          // Reuse one XOR iterator; no chunk object, no view. It checks the CRC while
          // it loads the chunk (see chunkError for a mismatch).
          this.xit.resetRangeChecked(cr.locBuf, cr.locStart, cr.locEnd);
          this.cur = this.xit;
        } else {
          cr.locate(m.ref);
          this.cur = chunkFromData(cr.lastEnc, cr.locBuf.slice(cr.locStart, cr.locEnd)).iterator(null);
        }
      } catch (err) {
        this.e = err as Error;
        this.cur = null;
        return false;
      }
      this.curMint = m.minTime;
      this.curMaxt = m.maxTime;
      return true;
    }
    return false;
  }

  /** A CRC mismatch seen while decoding is re-read through the checked path for the chunk reader's error (file, offset, sums). */
  protected override chunkError(err: Error): Error {
    if (this.cur !== this.xit || !this.xit.checksumFailed()) return err;
    try {
      this.cr.locate((this.chunks[this.ci - 1] as IndexChunkMeta).ref);
    } catch (e) {
      return e as Error;
    }
    return new Error('chunk checksum mismatch seen while decoding but not on re-read');
  }
}

const EMPTY = new Uint8Array(0);
