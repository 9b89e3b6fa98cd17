/**
 * Series deletion (Prometheus 2.42 `DB.Delete`, `Block.Delete`, `Head.Delete`): deleted
 * data is not removed at once; it is marked with tombstones — closed intervals
 * [mint, maxt] per series — that readers skip and that compaction finally drops.
 *
 * ```
 *  DB.delete(mint, maxt, matchers)
 *    ├─ every block overlapping [mint, maxt]                      deleteInBlock
 *    │    matching series with a chunk in range → interval clamped to the series' data
 *    │    → <block>/tombstones rewritten (tmp, fsync, rename, fsync dir)
 *    │    → meta.json stats.numTombstones = number of intervals (omitted when 0)
 *    │    → then the block's in-memory tombstones (its queriers skip the samples)
 *    └─ the head                                                    deleteInHead
 *         matching series → interval clamped to the series' data
 *         → Tombstones WAL record (type 3) durable → then head.tombstones
 *
 *  readers   block querier: block tombstones (block/querier.ts)
 *            head querier: wrapped by TombstoneFilterQuerier (here)
 *  head cut  withoutDeleted(): chunks touched by a tombstone are re-encoded without
 *            the deleted samples before the block is written
 *  compaction and cleanTombstones: the compactor drops each source's deleted samples
 *  replay    Tombstones records → head.tombstones (head/replay.ts)
 *  gc        head.truncateMemory drops tombstones of removed series and those ending
 *            before the cut (Prometheus `TruncateBefore`)
 * ```
 *
 * Intervals Prometheus would write "inverted" (a head series whose data lies entirely
 * outside the requested range, which `clampInterval` turns into mint > maxt) are not
 * logged: they delete nothing and would only confuse interval merging.
 */
import type { Labels, Matcher, Querier, SampleIterator, SelectHints, Series, SeriesSet } from '../storage/index.js';
import { ValueType } from '../storage/index.js';
import type { Block } from './block/index.js';
import { writeMetaFile } from './block/index.js';
import { postingsForMatchers } from './block/postings-for-matchers.js';
import type { ChunkMeta } from './chunks/index.js';
import { ChunkMerger } from './compact/merge-chunks.js';
import { Encbuf } from './encoding/index.js';
import { FilteredIterator } from './filtered-iterator.js';
import type { HeadBlockSeries } from './head/block.js';
import type { Head } from './head/head.js';
import { HeadSeries } from './head/read.js';
import { labelsHash } from './head/series-map.js';
import { encodeTombstones as encodeTombstonesRecord, TombstoneBatch } from './record/index.js';
import type { Interval } from './tombstones/index.js';
import { writeTombstones } from './tombstones/index.js';

/**
 * The times Prometheus's API uses when `start`/`end` are absent (web/api/v1 `minTime`,
 * `maxTime`: ±(2^63/1000 − 62135596801) s, in ms). Beyond 2^53, so only approximately
 * representable; they are only ever compared and clamped to real data, never stored.
 */
export const API_MIN_TIME_MS = -(Math.trunc(2 ** 63 / 1000) - 62135596801) * 1000;
export const API_MAX_TIME_MS = (Math.trunc(2 ** 63 / 1000) - 62135596801) * 1000 + 999;

export const ERR_DELETE_RANGE = 'MM_ERR_DELETE_RANGE';
export const ERR_DELETE_MATCHERS = 'MM_ERR_DELETE_MATCHERS';

/** A bad argument to `DB.delete` (nothing was deleted). */
export class DeleteError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
    this.name = 'DeleteError';
  }
}

/** Checks `DB.delete` arguments; throws `DeleteError` naming what is wrong. */
export function validateDeleteArgs(mint: number, maxt: number, matchers: readonly Matcher[]): void {
  if (typeof mint !== 'number' || Number.isNaN(mint)) throw new DeleteError(ERR_DELETE_RANGE, `delete: start must be a number of ms, got ${String(mint)}`);
  if (typeof maxt !== 'number' || Number.isNaN(maxt)) throw new DeleteError(ERR_DELETE_RANGE, `delete: end must be a number of ms, got ${String(maxt)}`);
  if (mint > maxt) throw new DeleteError(ERR_DELETE_RANGE, `delete: start ${mint} is after end ${maxt}`);
  if (matchers.length === 0) throw new DeleteError(ERR_DELETE_MATCHERS, 'delete: at least one matcher is needed (an empty selector would delete every series)');
  if (matchers.every((m) => m.matches(''))) {
    throw new DeleteError(ERR_DELETE_MATCHERS, 'delete: the matchers select every series (at least one must not match the empty string), as Prometheus requires');
  }
}

/** Go `clampInterval`: [a, b] narrowed to [mint, maxt]. */
function clampLo(a: number, mint: number): number {
  return a < mint ? mint : a;
}
function clampHi(b: number, maxt: number): number {
  return b > maxt ? maxt : b;
}

/**
 * Adds tombstones for the series of `b` matching `matchers` that have a chunk in
 * [mint, maxt] (Prometheus `Block.Delete`). The new tombstones file and meta.json are
 * durable before the block's in-memory tombstones change; on a write error nothing
 * in memory changes. Returns the number of intervals added (0: nothing written).
 */
export async function deleteInBlock(b: Block, mint: number, maxt: number, matchers: readonly Matcher[]): Promise<number> {
  const ir = b.index();
  const p = postingsForMatchers(ir, matchers as Matcher[]);
  const added: Array<[number, Interval]> = [];
  for (const id of p) {
    const chks = ir.series(id).chunks;
    if (chks.length === 0) continue;
    for (const c of chks) {
      if (c.minTime <= maxt && mint <= c.maxTime) {
        // Delete only up to the series' data, not beyond (Prometheus clampInterval).
        const first = chks[0] as (typeof chks)[number];
        const last = chks[chks.length - 1] as (typeof chks)[number];
        added.push([id, { mint: clampLo(mint, first.minTime), maxt: clampHi(maxt, last.maxTime) }]);
        break;
      }
    }
  }
  if (added.length === 0) return 0;
  const live = b.tombstones();
  const next = live.clone();
  for (const [id, iv] of added) next.addInterval(id, iv);
  await writeTombstones(b.dir, next);
  const total = next.total();
  const stats = { ...b.meta.stats };
  if (total > 0) stats.numTombstones = total;
  else delete stats.numTombstones;
  await writeMetaFile(b.dir, { ...b.meta, stats });
  for (const [id, iv] of added) live.addInterval(id, iv);
  b.meta.stats.numTombstones = total;
  return added.length;
}

/**
 * The intervals a delete adds to the head: per matching series, [mint, maxt] clamped to
 * the series' samples (Prometheus `Head.Delete`); series without samples or with no
 * sample in range get none.
 */
export function headStones(head: Head, mint: number, maxt: number, matchers: readonly Matcher[]): TombstoneBatch {
  const out = new TombstoneBatch(16);
  if (head.isEmpty()) return out;
  const refs = head.postings.forMatchers(matchers);
  for (const ref of refs) {
    const s = head.series.getByRef(ref);
    if (s === undefined) continue;
    const t0 = s.minTime();
    const t1 = s.maxTime();
    if (t0 === Infinity || t1 === -Infinity) continue;
    const a = clampLo(mint, t0);
    const b = clampHi(maxt, t1);
    if (a > b) continue;
    out.push(ref, a, b);
  }
  return out;
}

/**
 * Deletes in the head: the Tombstones record is made durable in the WAL first (a failed
 * write rejects and changes nothing), then the intervals apply. Returns the count.
 */
export async function deleteInHead(head: Head, mint: number, maxt: number, matchers: readonly Matcher[]): Promise<number> {
  const stones = headStones(head, mint, maxt, matchers);
  if (stones.length === 0) return 0;
  const wal = head.opts.wal;
  if (wal !== null) {
    const buf = new Encbuf(16 + stones.length * 24);
    encodeTombstonesRecord(stones, buf);
    await wal.log(buf.get().slice());
  }
  applyHeadStones(head, stones);
  return stones.length;
}

/** Adds the intervals of `stones` to `head.tombstones` (refs of series gone meanwhile are skipped). */
export function applyHeadStones(head: Head, stones: TombstoneBatch): void {
  for (let i = 0; i < stones.length; i++) {
    const ref = stones.refs[i] as number;
    if (head.series.getByRef(ref) === undefined) continue;
    head.tombstones.addInterval(ref, { mint: stones.mints[i] as number, maxt: stones.maxts[i] as number });
  }
}

/** Head series ref of `lset`, or 0. */
export function headRefOf(head: Head, lset: Labels): number {
  const s = head.series.getByLabels(labelsHash(lset), lset);
  return s === undefined ? 0 : s.ref;
}

/**
 * Head block input without the deleted samples: series with tombstones get their
 * chunks that touch a deleted interval re-encoded without those samples (untouched
 * chunks pass as they are); series left without samples are dropped.
 */
export function withoutDeleted(head: Head, series: HeadBlockSeries[]): HeadBlockSeries[] {
  if (head.tombstones.size === 0) return series;
  const merger = new ChunkMerger();
  const out: HeadBlockSeries[] = [];
  for (const s of series) {
    const ref = headRefOf(head, s.labels);
    const dels = ref === 0 ? [] : head.tombstones.get(ref);
    if (dels.length === 0) {
      out.push(s);
      continue;
    }
    const chunks: ChunkMeta[] = [];
    if (merger.merge(s.chunks, -Infinity, Infinity, dels, chunks) > 0) out.push({ labels: s.labels, chunks });
  }
  return out;
}

// --- reading the head without deleted samples -----------------------------------------

/**
 * A head querier that hides tombstoned samples. Series without tombstones pass through
 * untouched; a series whose every sample in range is deleted is not returned.
 */
export class TombstoneFilterQuerier implements Querier {
  private readonly inner: Querier;
  private readonly head: Head;

  constructor(inner: Querier, head: Head) {
    this.inner = inner;
    this.head = head;
  }

  select(sorted: boolean, hints: SelectHints | null, ...matchers: Matcher[]): SeriesSet {
    return new FilteredSeriesSet(this.inner.select(sorted, hints, ...matchers), this.head);
  }

  labelValues(name: string, ...matchers: Matcher[]): string[] {
    return this.inner.labelValues(name, ...matchers);
  }

  labelNames(...matchers: Matcher[]): string[] {
    return this.inner.labelNames(...matchers);
  }

  close(): void {
    this.inner.close();
  }
}

class FilteredSeriesSet implements SeriesSet {
  private readonly inner: SeriesSet;
  private readonly head: Head;
  private cur: Series | null;

  constructor(inner: SeriesSet, head: Head) {
    this.inner = inner;
    this.head = head;
    this.cur = null;
  }

  next(): boolean {
    while (this.inner.next()) {
      const s = this.inner.at();
      const ref = s instanceof HeadSeries ? s.s.ref : headRefOf(this.head, s.labels());
      const dels = ref === 0 ? [] : this.head.tombstones.get(ref);
      if (dels.length === 0) {
        this.cur = s;
        return true;
      }
      const fs = new DeletedFilterSeries(s, dels);
      // Skip a series with nothing left in range (one decode, tombstoned series only).
      if (fs.iterator(null).next() === ValueType.None) continue;
      this.cur = fs;
      return true;
    }
    this.cur = null;
    return false;
  }

  at(): Series {
    if (this.cur === null) throw new Error('at() called without a successful next()');
    return this.cur;
  }

  err(): Error | null {
    return this.inner.err();
  }

  warnings(): string[] {
    return this.inner.warnings();
  }
}

class DeletedFilterSeries implements Series {
  private readonly inner: Series;
  private readonly dels: readonly Interval[];

  constructor(inner: Series, dels: readonly Interval[]) {
    this.inner = inner;
    this.dels = dels;
  }

  labels(): Labels {
    return this.inner.labels();
  }

  iterator(reuse?: SampleIterator | null): SampleIterator {
    if (reuse instanceof DeletedFilterIterator) {
      reuse.reset(this.inner.iterator(reuse.inner), this.dels);
      return reuse;
    }
    return new DeletedFilterIterator(this.inner.iterator(null), this.dels);
  }
}

/**
 * Skips samples inside deleted intervals (closed) of any iterator (the shared
 * FilteredIterator over one "chunk": the inner iterator). Raw value bits pass through
 * when the inner iterator has them.
 */
export class DeletedFilterIterator extends FilteredIterator {
  inner: SampleIterator;
  private opened: boolean;

  constructor(inner: SampleIterator, dels: readonly Interval[]) {
    super(-Infinity, Infinity, dels);
    this.inner = inner;
    this.opened = false;
  }

  reset(inner: SampleIterator, dels: readonly Interval[]): void {
    this.resetFilter(-Infinity, Infinity, dels);
    this.inner = inner;
    this.opened = false;
  }

  protected openNext(): boolean {
    if (this.opened) return false;
    this.opened = true;
    this.cur = this.inner;
    return true;
  }
}
