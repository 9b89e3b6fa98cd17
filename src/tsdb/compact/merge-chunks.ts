/**
 * Merging the chunks of one series that come from several blocks (vertical
 * compaction, dumps cut to a range), the job of Prometheus's
 * `NewCompactingChunkSeriesMerger` + `populateBlock`.
 *
 *   sources ─► chunk metas sorted by minTime ─► groups of mutually overlapping chunks
 *     group of one, fully inside [mint, maxt], nothing deleted ─► passed through as is
 *                                                                 (bytes copied, no decode)
 *     anything else ─► decoded, merged by timestamp (the chunk the caller lists first wins on equal t),
 *                      cut to the range, re-encoded into XOR chunks of ≤ 120 samples
 *
 * Passing untouched chunks through is what makes a dump or a compaction run at disk
 * speed: on a non-overlapping input only the boundary chunks are re-encoded.
 */
import { Encoding, XORChunk, type XORIterator } from '../chunkenc/index.js';
import type { ChunkMeta } from '../chunks/index.js';
import { ValueType } from '../../storage/index.js';

/** Samples per re-encoded chunk, as Prometheus's `seriesToChunkEncoder`. */
export const MERGE_SAMPLES_PER_CHUNK = 120;

/** A deleted time range (tombstone), both ends inclusive. */
export interface Interval {
  mint: number;
  maxt: number;
}

export class MergeError extends Error {
  readonly code = 'MM_ERR_MERGE';
}

function deletedAt(t: number, deleted: readonly Interval[] | null): boolean {
  if (deleted === null) return false;
  for (const iv of deleted) if (t >= iv.mint && t <= iv.maxt) return true;
  return false;
}

function overlapsDeleted(mint: number, maxt: number, deleted: readonly Interval[] | null): boolean {
  if (deleted === null) return false;
  for (const iv of deleted) if (iv.mint <= maxt && iv.maxt >= mint) return true;
  return false;
}

/**
 * Reusable scratch for decoding a group (struct of arrays, grown on demand), so merging
 * thousands of series allocates per group only the output chunks.
 */
export class ChunkMerger {
  private ts = new Float64Array(1024);
  private hi = new Int32Array(1024);
  private lo = new Int32Array(1024);
  private order = new Uint32Array(1024);
  private src = new Int32Array(1024);
  private it: XORIterator | null = null;
  /** Position of each input chunk in the caller's list: ties on a timestamp go to the lower one. */
  private readonly rank = new Map<ChunkMeta, number>();
  /** Chunks passed through untouched, and re-encoded, since construction. */
  passed = 0;
  reencoded = 0;

  private ensure(n: number): void {
    if (n <= this.ts.length) return;
    let cap = this.ts.length;
    while (cap < n) cap *= 2;
    const ts = new Float64Array(cap);
    ts.set(this.ts);
    const hi = new Int32Array(cap);
    hi.set(this.hi);
    const lo = new Int32Array(cap);
    lo.set(this.lo);
    this.ts = ts;
    this.hi = hi;
    this.lo = lo;
    const src = new Int32Array(cap);
    src.set(this.src);
    this.src = src;
    this.order = new Uint32Array(cap);
  }

  /**
   * Appends to `out` the merged chunks of one series. `chunks` must have `chunk` loaded;
   * they may come in any order and overlap. `mint`/`maxt` bound the result (inclusive);
   * `deleted` are tombstoned ranges (or null). Returns the number of samples written.
   */
  merge(chunks: ChunkMeta[], mint: number, maxt: number, deleted: readonly Interval[] | null, out: ChunkMeta[]): number {
    // Stable sort by minTime keeps source order for ties ("first source wins").
    const cs = chunks.filter((c) => c.maxTime >= mint && c.minTime <= maxt);
    const rank = this.rank;
    rank.clear();
    chunks.forEach((c, k) => rank.set(c, k));
    cs.sort((a, b) => a.minTime - b.minTime);
    let written = 0;
    for (let i = 0; i < cs.length; ) {
      let j = i + 1;
      let gmax = (cs[i] as ChunkMeta).maxTime;
      while (j < cs.length && (cs[j] as ChunkMeta).minTime <= gmax) {
        gmax = Math.max(gmax, (cs[j] as ChunkMeta).maxTime);
        j++;
      }
      const first = cs[i] as ChunkMeta;
      if (j === i + 1 && first.minTime >= mint && first.maxTime <= maxt && !overlapsDeleted(first.minTime, first.maxTime, deleted)) {
        out.push({ ref: 0, minTime: first.minTime, maxTime: first.maxTime, chunk: first.chunk });
        written += (first.chunk as NonNullable<ChunkMeta['chunk']>).numSamples();
        this.passed++;
      } else {
        written += this.reencode(cs, i, j, mint, maxt, deleted, out);
      }
      i = j;
    }
    return written;
  }

  private reencode(cs: ChunkMeta[], from: number, to: number, mint: number, maxt: number, deleted: readonly Interval[] | null, out: ChunkMeta[]): number {
    let n = 0;
    for (let k = from; k < to; k++) {
      const c = (cs[k] as ChunkMeta).chunk;
      if (c === null) throw new MergeError('chunk data not loaded');
      if (c.encoding() !== Encoding.XOR) throw new MergeError(`cannot re-encode ${c.encoding()} chunks (only XOR float chunks can be cut or merged)`);
      this.ensure(n + c.numSamples());
      const srcRank = this.rank.get(cs[k] as ChunkMeta) ?? k;
      const it = (c as XORChunk).iterator(this.it) as XORIterator;
      this.it = it;
      while (it.next() === ValueType.Float) {
        const t = it.atT();
        if (t < mint || t > maxt || deletedAt(t, deleted)) continue;
        this.ts[n] = t;
        this.hi[n] = it.atVHi() | 0;
        this.lo[n] = it.atVLo() | 0;
        this.src[n] = srcRank;
        n++;
      }
      const err = it.err();
      if (err) throw new MergeError(`decode chunk: ${err.message}`, { cause: err });
    }
    if (n === 0) return 0;
    const order = this.order;
    for (let k = 0; k < n; k++) order[k] = k;
    const ts = this.ts;
    const src = this.src;
    // By time; on equal timestamps the chunk listed first by the caller wins.
    const view = order.subarray(0, n);
    view.sort((a, b) => (ts[a] as number) - (ts[b] as number) || (src[a] as number) - (src[b] as number) || a - b);
    let chunk: XORChunk | null = null;
    let app: ReturnType<XORChunk['appender']> | null = null;
    let cmin = 0;
    let cmax = 0;
    let inChunk = 0;
    let written = 0;
    let prevT = Number.NaN;
    for (let k = 0; k < n; k++) {
      const idx = view[k] as number;
      const t = ts[idx] as number;
      if (t === prevT) continue; // duplicate timestamp across sources: first one wins
      prevT = t;
      if (chunk === null || inChunk === MERGE_SAMPLES_PER_CHUNK) {
        if (chunk !== null) out.push({ ref: 0, minTime: cmin, maxTime: cmax, chunk });
        chunk = new XORChunk();
        app = chunk.appender();
        cmin = t;
        inChunk = 0;
        this.reencoded++;
      }
      (app as ReturnType<XORChunk['appender']>).appendBits(t, this.hi[idx] as number, this.lo[idx] as number);
      cmax = t;
      inChunk++;
      written++;
    }
    if (chunk !== null) out.push({ ref: 0, minTime: cmin, maxTime: cmax, chunk });
    return written;
  }
}
