/**
 * Series selection by label matchers over a postings index: Prometheus 2.42's
 * `PostingsForMatchers` (tsdb/querier.go), including its empty-value semantics:
 *
 *  - a matcher that accepts "" (`l=""`, `l!="x"`, `l=~".*"`, `l!~".+"`) also selects
 *    series that lack the label, so it is applied as "all minus the values it rejects";
 *  - `l!="x"` on a label that another matcher requires to be set is a subtraction;
 *  - with only subtractive matchers, the all-postings list is the starting set;
 *  - no matchers at all selects nothing.
 *
 * Generic over `PostingsIndex`, so the head can reuse it with its in-memory postings.
 */
import { Matcher, MatchType } from '../../storage/index.js';
import { EMPTY_POSTINGS, intersectPostings, withoutPostings } from '../index/index.js';

/** What `postingsForMatchers` needs from an index. Lists are ascending series IDs. */
export interface PostingsIndex {
  /** Sorted values of `name` ([] when unknown). */
  labelValues(name: string): string[];
  /** Union of the postings of `name`=v for every v in `values`. */
  postings(name: string, ...values: string[]): Uint32Array;
  /** Every series. */
  allPostings(): Uint32Array;
}

/** Postings of the series matching every matcher. */
export function postingsForMatchers(ix: PostingsIndex, matchers: readonly Matcher[]): Uint32Array {
  const its: Uint32Array[] = [];
  const notIts: Uint32Array[] = [];
  const mustBeSet = new Set<string>();
  for (const m of matchers) if (!m.matches('')) mustBeSet.add(m.name);
  for (const m of matchers) {
    if (mustBeSet.has(m.name)) {
      const matchesEmpty = m.matches('');
      const isNot = m.type === MatchType.NotEqual || m.type === MatchType.NotRegexp;
      if (isNot && matchesEmpty) {
        // l!="foo": subtract the series having foo.
        notIts.push(postingsForMatcher(ix, inverse(m)));
      } else if (isNot && !matchesEmpty) {
        // l!="": every series having some value that the inverse rejects.
        const it = inversePostingsForMatcher(ix, inverse(m));
        if (it.length === 0) return EMPTY_POSTINGS;
        its.push(it);
      } else {
        const it = postingsForMatcher(ix, m);
        if (it.length === 0) return EMPTY_POSTINGS;
        its.push(it);
      }
    } else {
      // The matcher accepts "": it selects series without the label too, so subtract
      // the series whose value it rejects.
      notIts.push(inversePostingsForMatcher(ix, m));
    }
  }
  if (its.length === 0 && notIts.length !== 0) its.push(ix.allPostings());
  let p = intersectPostings(...its);
  for (const n of notIts) p = withoutPostings(p, n);
  return p;
}

/** Matcher with the opposite type (Go `Matcher.Inverse`). */
function inverse(m: Matcher): Matcher {
  const t = m.type === MatchType.Equal ? MatchType.NotEqual : m.type === MatchType.NotEqual ? MatchType.Equal : m.type === MatchType.Regexp ? MatchType.NotRegexp : MatchType.Regexp;
  return new Matcher(t, m.name, m.value);
}

/** Series whose value of `m.name` matches `m` (a set that excludes series without the label). */
function postingsForMatcher(ix: PostingsIndex, m: Matcher): Uint32Array {
  if (m.type === MatchType.Equal) return ix.postings(m.name, m.value);
  if (m.type === MatchType.Regexp) {
    const set = m.setMatches();
    if (set !== null) return ix.postings(m.name, ...set);
  }
  const vals = ix.labelValues(m.name).filter((v) => m.matches(v));
  return vals.length === 0 ? EMPTY_POSTINGS : ix.postings(m.name, ...vals);
}

/** Series having `m.name` with a value that `m` rejects. */
function inversePostingsForMatcher(ix: PostingsIndex, m: Matcher): Uint32Array {
  const vals = ix.labelValues(m.name).filter((v) => !m.matches(v));
  return vals.length === 0 ? EMPTY_POSTINGS : ix.postings(m.name, ...vals);
}
