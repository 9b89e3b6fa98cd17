/**
 * Merging queriers: one `Querier` over several sources (persisted blocks and the head),
 * the counterpart of Prometheus's `storage.NewMergeQuerier` with the
 * `ChainedSeriesMerge` strategy (storage/merge.go).
 *
 * ```
 *   block A querier ─┐ sorted SeriesSet
 *   block B querier ─┼─► k-way merge by labels ─► equal labels grouped ─► ChainIterator
 *   head querier ────┘      (binary heap)                                  (dedup by t)
 * ```
 *
 * Sources must return their series sorted (`select(true, …)`); the merge is then a
 * streaming k-way merge that never materialises more than one series per source.
 * When several sources hold the same series (overlapping blocks, a block and the head
 * right after a cut), their samples are merged by timestamp and samples with an equal
 * timestamp are returned once: the value of the source listed first wins (Prometheus
 * keeps an unspecified one; we make it deterministic: pass blocks oldest first, the
 * head last).
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
} from '../storage/index.js';

/** A querier over all `queriers`; closing it closes them. One source: returned as is. */
export function mergeQueriers(queriers: Querier[]): Querier {
  if (queriers.length === 1) return queriers[0] as Querier;
  return new MergeQuerier(queriers);
}

class MergeQuerier implements Querier {
  private readonly queriers: Querier[];
  private closed: boolean;

  constructor(queriers: Querier[]) {
    this.queriers = queriers;
    this.closed = false;
  }

  select(_sorted: boolean, hints: SelectHints | null, ...matchers: Matcher[]): SeriesSet {
    if (this.queriers.length === 0) return emptySeriesSet;
    // Merging needs sorted inputs, and the merged output is then sorted anyway.
    const sets = this.queriers.map((q) => q.select(true, hints, ...matchers));
    return new MergeSeriesSet(sets);
  }

  labelValues(name: string, ...matchers: Matcher[]): string[] {
    return unionSorted(this.queriers.map((q) => q.labelValues(name, ...matchers)));
  }

  labelNames(...matchers: Matcher[]): string[] {
    return unionSorted(this.queriers.map((q) => q.labelNames(...matchers)));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    let first: unknown = null;
    for (const q of this.queriers) {
      try {
        q.close();
      } catch (e) {
        first ??= e;
      }
    }
    if (first !== null) throw first;
  }
}

/** Sorted union of sorted string lists (byte order), deduplicated. */
export function unionSorted(lists: string[][]): string[] {
  const set = new Set<string>();
  for (const l of lists) for (const s of l) set.add(s);
  return [...set].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * K-way merge of sorted series sets. A min-heap of the sets, ordered by the labels of
 * their current series; `next()` pops every set positioned on the smallest label set
 * and groups their series.
 */
export class MergeSeriesSet implements SeriesSet {
  private readonly sets: SeriesSet[];
  /** Heap of indexes into `sets` whose current series is valid. */
  private heap: number[];
  private started: boolean;
  private cur: Series | null;
  private error: Error | null;

  constructor(sets: SeriesSet[]) {
    this.sets = sets;
    this.heap = [];
    this.started = false;
    this.cur = null;
    this.error = null;
  }

  next(): boolean {
    if (this.error !== null) return false;
    if (!this.started) {
      this.started = true;
      for (let i = 0; i < this.sets.length; i++) this.advance(i);
    }
    if (this.error !== null || this.heap.length === 0) {
      this.cur = null;
      return false;
    }
    const first = this.heap[0] as number;
    const lset = (this.sets[first] as SeriesSet).at().labels();
    const group: Series[] = [];
    const idx: number[] = [];
    while (this.heap.length > 0) {
      const top = this.heap[0] as number;
      const s = (this.sets[top] as SeriesSet).at();
      if (group.length > 0 && compareLabels(s.labels(), lset) !== 0) break;
      group.push(s);
      idx.push(top);
      this.pop();
    }
    // Sources are numbered in priority order; keep the group in that order so the
    // first-listed source wins timestamp ties in ChainIterator.
    if (group.length > 1) {
      const order = idx.map((_, k) => k).sort((a, b) => (idx[a] as number) - (idx[b] as number));
      const sorted = order.map((k) => group[k] as Series);
      this.cur = new ChainedSeries(lset, sorted);
    } else {
      this.cur = group[0] as Series;
    }
    for (const i of idx) this.advance(i);
    if (this.error !== null) return false;
    return true;
  }

  at(): Series {
    if (this.cur === null) throw new Error('at() called without a successful next()');
    return this.cur;
  }

  err(): Error | null {
    return this.error;
  }

  warnings(): string[] {
    const out: string[] = [];
    for (const s of this.sets) out.push(...s.warnings());
    return out;
  }

  /** Moves set `i` to its next series and pushes it back on the heap, or records its error. */
  private advance(i: number): void {
    const s = this.sets[i] as SeriesSet;
    if (s.next()) {
      this.push(i);
      return;
    }
    const e = s.err();
    if (e !== null && this.error === null) this.error = e;
  }

  private less(a: number, b: number): boolean {
    const c = compareLabels((this.sets[a] as SeriesSet).at().labels(), (this.sets[b] as SeriesSet).at().labels());
    return c < 0 || (c === 0 && a < b);
  }

  private push(i: number): void {
    const h = this.heap;
    h.push(i);
    let k = h.length - 1;
    while (k > 0) {
      const p = (k - 1) >> 1;
      if (!this.less(h[k] as number, h[p] as number)) break;
      const t = h[k] as number;
      h[k] = h[p] as number;
      h[p] = t;
      k = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop() as number;
    if (h.length === 0) return;
    h[0] = last;
    let k = 0;
    for (;;) {
      const l = 2 * k + 1;
      const r = l + 1;
      let m = k;
      if (l < h.length && this.less(h[l] as number, h[m] as number)) m = l;
      if (r < h.length && this.less(h[r] as number, h[m] as number)) m = r;
      if (m === k) break;
      const t = h[k] as number;
      h[k] = h[m] as number;
      h[m] = t;
      k = m;
    }
  }
}

/** One series present in several sources; iterates their samples merged. */
export class ChainedSeries implements Series {
  private readonly lset: Labels;
  private readonly series: Series[];

  constructor(lset: Labels, series: Series[]) {
    this.lset = lset;
    this.series = series;
  }

  labels(): Labels {
    return this.lset;
  }

  iterator(reuse?: SampleIterator | null): SampleIterator {
    const it = reuse instanceof ChainIterator ? reuse : new ChainIterator();
    it.reset(this.series);
    return it;
  }
}

/**
 * Merges the sample iterators of several sources by timestamp; a timestamp present in
 * several sources is returned once, from the lowest-numbered source that has it. With
 * a handful of sources a linear scan for the minimum beats a heap, and it allocates
 * nothing per sample.
 */
export class ChainIterator implements SampleIterator {
  private its: SampleIterator[];
  /** Current timestamp of each iterator; NaN once exhausted. */
  private ts: Float64Array;
  private curIdx: number;
  private curT: number;
  private state: number; // 0 = not started, 1 = running, 2 = done
  private error: Error | null;

  constructor() {
    this.its = [];
    this.ts = new Float64Array(0);
    this.curIdx = -1;
    this.curT = 0;
    this.state = 0;
    this.error = null;
  }

  /** Re-arms the iterator over `series`, recycling the previous sub-iterators. */
  reset(series: readonly Series[]): void {
    const old = this.its;
    const its = new Array<SampleIterator>(series.length);
    for (let i = 0; i < series.length; i++) its[i] = (series[i] as Series).iterator(old[i] ?? null);
    this.its = its;
    if (this.ts.length < series.length) this.ts = new Float64Array(series.length);
    this.curIdx = -1;
    this.curT = 0;
    this.state = 0;
    this.error = null;
  }

  private pull(i: number, vt: ValueType): void {
    if (vt === ValueType.None) {
      this.ts[i] = NaN;
      const e = (this.its[i] as SampleIterator).err();
      if (e !== null && this.error === null) this.error = e;
    } else {
      this.ts[i] = (this.its[i] as SampleIterator).atT();
    }
  }

  private pick(): ValueType {
    let best = -1;
    let bt = 0;
    const n = this.its.length;
    for (let i = 0; i < n; i++) {
      const t = this.ts[i] as number;
      if (t !== t) continue;
      if (best < 0 || t < bt) {
        best = i;
        bt = t;
      }
    }
    if (best < 0 || this.error !== null) {
      this.state = 2;
      this.curIdx = -1;
      return ValueType.None;
    }
    this.curIdx = best;
    this.curT = bt;
    return ValueType.Float;
  }

  next(): ValueType {
    if (this.state === 2) return ValueType.None;
    const n = this.its.length;
    if (this.state === 0) {
      this.state = 1;
      for (let i = 0; i < n; i++) this.pull(i, (this.its[i] as SampleIterator).next());
      return this.pick();
    }
    // Advance every source positioned on the current timestamp: that drops duplicates.
    const t = this.curT;
    for (let i = 0; i < n; i++) {
      if (this.ts[i] === t) this.pull(i, (this.its[i] as SampleIterator).next());
    }
    return this.pick();
  }

  seek(t: number): ValueType {
    if (this.state === 2) return ValueType.None;
    if (this.state === 1 && this.curT >= t) return ValueType.Float;
    const n = this.its.length;
    for (let i = 0; i < n; i++) {
      const it = this.its[i] as SampleIterator;
      const ct = this.ts[i] as number;
      if (this.state === 0 || (ct === ct && ct < t)) this.pull(i, it.seek(t));
    }
    this.state = 1;
    return this.pick();
  }

  atT(): number {
    return this.curT;
  }

  atV(): number {
    return (this.its[this.curIdx] as SampleIterator).atV();
  }

  atStale(): boolean {
    return (this.its[this.curIdx] as SampleIterator).atStale();
  }

  err(): Error | null {
    return this.error;
  }
}
