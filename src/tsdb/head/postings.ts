/**
 * In-memory postings for the head: label name → value → ascending series refs, the
 * counterpart of Prometheus's `index.MemPostings` (tsdb/index/postings.go).
 *
 * ```
 *   byName ─┬─ "__name__" ─┬─ "up"            → [1, 4, 9]   (number[], ascending refs)
 *           │              └─ "http_req_tot"  → [2, 3]
 *           └─ "job"       ─── "api"          → [1, 2, 3, 4, 9]
 *   all                                          → [1, 2, 3, 4, 9]
 * ```
 *
 * Refs are handed out by an increasing counter, so `add` is almost always a push;
 * WAL replay can deliver them out of order, which `add` handles with an insertion step
 * from the end (as MemPostings.addFor does). Lists are plain `number[]` of small ints
 * (packed SMI elements in V8: 4 bytes per ref with pointer compression).
 *
 * Not safe against mutation during iteration: `get` returns the live array, and callers
 * that keep it across an `await` must copy it. Deletion replaces arrays (filter), so a
 * caller holding an array from before a `delete` keeps a consistent old view.
 */
import { MatchType, type Matcher } from '../../storage/index.js';

export class MemPostings {
  private readonly byName: Map<string, Map<string, number[]>>;
  private all: number[];

  constructor() {
    this.byName = new Map();
    this.all = [];
  }

  /** Registers `ref` under every (name, value) pair of the flat label array. */
  add(ref: number, pairs: readonly string[]): void {
    insertSorted(this.all, ref);
    for (let i = 0; i < pairs.length; i += 2) {
      const name = pairs[i] as string;
      const value = pairs[i + 1] as string;
      let values = this.byName.get(name);
      if (values === undefined) {
        values = new Map();
        this.byName.set(name, values);
      }
      const list = values.get(value);
      if (list === undefined) values.set(value, [ref]);
      else insertSorted(list, ref);
    }
  }

  /**
   * Removes every ref in `deleted` (with their label pairs, so only the affected lists
   * are rewritten). Empty lists and names disappear, so label values of garbage-collected
   * series are no longer reported.
   */
  delete(deleted: ReadonlyMap<number, readonly string[]>): void {
    if (deleted.size === 0) return;
    const touched = new Map<string, Set<string>>();
    for (const pairs of deleted.values()) {
      for (let i = 0; i < pairs.length; i += 2) {
        const name = pairs[i] as string;
        let s = touched.get(name);
        if (s === undefined) {
          s = new Set();
          touched.set(name, s);
        }
        s.add(pairs[i + 1] as string);
      }
    }
    const keep = (r: number): boolean => !deleted.has(r);
    this.all = this.all.filter(keep);
    for (const [name, vals] of touched) {
      const values = this.byName.get(name);
      if (values === undefined) continue;
      for (const v of vals) {
        const list = values.get(v);
        if (list === undefined) continue;
        const nl = list.filter(keep);
        if (nl.length === 0) values.delete(v);
        else values.set(v, nl);
      }
      if (values.size === 0) this.byName.delete(name);
    }
  }

  /** All refs, ascending. Live array: copy before holding it across an await. */
  allPostings(): readonly number[] {
    return this.all;
  }

  /** Refs having `name=value`, ascending (empty when none). */
  get(name: string, value: string): readonly number[] {
    return this.byName.get(name)?.get(value) ?? EMPTY;
  }

  /** Label names that have at least one series, sorted by byte order. */
  labelNames(): string[] {
    return [...this.byName.keys()].sort(cmp);
  }

  /** Values of `name` that have at least one series, sorted. */
  labelValues(name: string): string[] {
    const values = this.byName.get(name);
    return values === undefined ? [] : [...values.keys()].sort(cmp);
  }

  /** Number of distinct (name, value) pairs, for stats. */
  numPairs(): number {
    let n = 0;
    for (const v of this.byName.values()) n += v.size;
    return n;
  }

  /** Union of the lists of every value of `name` that `pred` accepts. */
  private unionOfValues(name: string, pred: (v: string) => boolean): number[] {
    const values = this.byName.get(name);
    if (values === undefined) return [];
    const lists: (readonly number[])[] = [];
    for (const [v, list] of values) if (pred(v)) lists.push(list);
    return mergeUnion(lists);
  }

  /**
   * Refs of the series matching all matchers, ascending: Prometheus's
   * `PostingsForMatchers` (tsdb/querier.go). A matcher that accepts the empty string
   * also selects series lacking the label, so it is evaluated as "all minus the series
   * whose value of that label it rejects". With no positive matcher, start from all.
   */
  forMatchers(matchers: readonly Matcher[]): number[] {
    const its: (readonly number[])[] = [];
    const notIts: (readonly number[])[] = [];
    for (const m of matchers) {
      const matchesEmpty = m.matchesEmpty();
      const isNot = m.type === MatchType.NotEqual || m.type === MatchType.NotRegexp;
      if (matchesEmpty) {
        // {l=""}, {l!="x"}, {l=~"|x"}, {l!~"x"}: exclude series whose value of l is rejected.
        notIts.push(m.type === MatchType.NotEqual ? this.get(m.name, m.value) : this.unionOfValues(m.name, (v) => !m.matches(v)));
      } else if (isNot) {
        // {l!=""}, {l!~""}…: union of the values that match (all present, non-empty ones).
        its.push(this.unionOfValues(m.name, (v) => m.matches(v)));
      } else if (m.type === MatchType.Equal) {
        its.push(this.get(m.name, m.value));
      } else {
        const set = m.setMatches();
        if (set !== null) its.push(mergeUnion(set.map((v) => this.get(m.name, v))));
        else its.push(this.unionOfValues(m.name, (v) => m.matches(v)));
      }
    }
    // Only negative-style matchers: subtract from everything.
    if (its.length === 0) its.push(this.all);
    let res = intersectAll(its);
    if (notIts.length > 0) res = subtract(res, mergeUnion(notIts));
    return res;
  }
}

const EMPTY: readonly number[] = Object.freeze([]) as readonly number[];

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Appends `ref` keeping ascending order; no duplicates. */
function insertSorted(list: number[], ref: number): void {
  let i = list.length;
  if (i === 0 || (list[i - 1] as number) < ref) {
    list.push(ref);
    return;
  }
  while (i > 0 && (list[i - 1] as number) > ref) i--;
  if (i > 0 && list[i - 1] === ref) return;
  list.splice(i, 0, ref);
}

/** Union of ascending lists, ascending, deduplicated. */
export function mergeUnion(lists: readonly (readonly number[])[]): number[] {
  if (lists.length === 0) return [];
  if (lists.length === 1) return (lists[0] as readonly number[]).slice();
  let total = 0;
  for (const l of lists) total += l.length;
  const out = new Array<number>(total);
  let k = 0;
  for (const l of lists) for (let i = 0; i < l.length; i++) out[k++] = l[i] as number;
  out.sort((a, b) => a - b);
  let w = 0;
  for (let i = 0; i < out.length; i++) if (w === 0 || out[w - 1] !== out[i]) out[w++] = out[i] as number;
  out.length = w;
  return out;
}

/** Intersection of ascending lists, smallest first. */
export function intersectAll(lists: readonly (readonly number[])[]): number[] {
  if (lists.length === 0) return [];
  const sorted = lists.slice().sort((a, b) => a.length - b.length);
  let res = (sorted[0] as readonly number[]).slice();
  for (let j = 1; j < sorted.length && res.length > 0; j++) {
    const b = sorted[j] as readonly number[];
    let w = 0;
    let bi = 0;
    for (let i = 0; i < res.length; i++) {
      const x = res[i] as number;
      while (bi < b.length && (b[bi] as number) < x) bi++;
      if (bi < b.length && b[bi] === x) res[w++] = x;
    }
    res.length = w;
  }
  if (sorted.length === 1) res = res.slice();
  return res;
}

/** `a` minus `b`, both ascending. */
export function subtract(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let bi = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    while (bi < b.length && (b[bi] as number) < x) bi++;
    if (bi < b.length && b[bi] === x) continue;
    out.push(x);
  }
  return out;
}
