import { describe, expect, test } from 'vitest';
import { Labels, Matcher, MatchType } from '../../../src/storage/index.js';
import { MemPostings } from '../../../src/tsdb/head/postings.js';
import { labelsHash, SeriesMap } from '../../../src/tsdb/head/series-map.js';

const series: [number, Labels][] = [
  [1, Labels.fromObject({ __name__: 'up', job: 'a' })],
  [2, Labels.fromObject({ __name__: 'up', job: 'b', env: 'prod' })],
  [3, Labels.fromObject({ __name__: 'http_requests_total', job: 'a', code: '200' })],
  [4, Labels.fromObject({ __name__: 'http_requests_total', job: 'a', code: '500' })],
  [5, Labels.fromObject({ __name__: 'http_requests_total', job: 'b' })],
];

function build(): MemPostings {
  const p = new MemPostings();
  // out of order on purpose: WAL replay can deliver refs in any order
  for (const [ref, l] of [...series].reverse()) p.add(ref, l.pairs);
  return p;
}

describe('MemPostings.forMatchers follows Prometheus PostingsForMatchers', () => {
  const M = (t: MatchType, n: string, v: string) => new Matcher(t, n, v);
  test.each([
    ['an equality matcher selects the series with that pair', [M(MatchType.Equal, '__name__', 'up')], [1, 2]],
    ['two matchers intersect', [M(MatchType.Equal, '__name__', 'http_requests_total'), M(MatchType.Equal, 'job', 'a')], [3, 4]],
    ['a matcher for an absent value selects nothing', [M(MatchType.Equal, 'job', 'zzz')], []],
    ['l="" selects the series without the label', [M(MatchType.Equal, 'code', '')], [1, 2, 5]],
    ['l!="x" also selects series lacking l', [M(MatchType.NotEqual, 'code', '200')], [1, 2, 4, 5]],
    ['l!="" selects the series having l', [M(MatchType.NotEqual, 'env', '')], [2]],
    ['a regex alternation unions values', [M(MatchType.Regexp, 'code', '200|500')], [3, 4]],
    ['a regex matching empty includes series lacking the label', [M(MatchType.Regexp, 'code', '|5..')], [1, 2, 4, 5]],
    ['a negative regex excludes matching values', [M(MatchType.Equal, 'job', 'a'), M(MatchType.NotRegexp, 'code', '2.*')], [1, 4]],
    ['l=~".+" selects series having l', [M(MatchType.Regexp, 'code', '.+')], [3, 4]],
  ])('%s', (_name, matchers, want) => {
    expect(build().forMatchers(matchers)).toEqual(want);
  });

  test('deleting refs removes them from every list and drops emptied values and names', () => {
    const p = build();
    p.delete(new Map([[2, series[1]![1].pairs]]));
    expect(p.labelValues('job')).toEqual(['a', 'b']);
    expect(p.labelNames()).not.toContain('env');
    expect(p.forMatchers([Matcher.equal('__name__', 'up')])).toEqual([1]);
    expect(p.allPostings()).toEqual([1, 3, 4, 5]);
  });
});

describe('SeriesMap', () => {
  class S {
    hashNext: S | null = null;
    constructor(
      readonly ref: number,
      readonly lset: Labels,
      readonly hash: number,
    ) {}
  }

  test('label sets are found by hash and equality even when hashes collide', () => {
    const m = new SeriesMap<S>();
    const a = new S(1, Labels.fromObject({ a: '1' }), 7);
    const b = new S(2, Labels.fromObject({ a: '2' }), 7); // forced collision
    m.add(a);
    m.add(b);
    expect(m.getByLabels(7, a.lset)).toBe(a);
    expect(m.getByLabels(7, b.lset)).toBe(b);
    m.remove(b);
    expect(m.getByLabels(7, b.lset)).toBeUndefined();
    expect(m.getByLabels(7, a.lset)).toBe(a);
    m.remove(a);
    expect(m.size).toBe(0);
  });

  test('lookups stay right as the bucket table grows past and shrinks back to many series, with shared buckets and equal hashes', () => {
    const m = new SeriesMap<S>();
    // Hashes chosen so series share buckets at every table size (multiples of 2^16) and some share a hash.
    const all = Array.from({ length: 12_000 }, (_, i) => new S(i + 1, Labels.fromObject({ i: String(i) }), (i % 5000) * 65536));
    for (const s of all) m.add(s);
    expect(m.size).toBe(all.length);
    for (const s of all) expect(m.getByLabels(s.hash, s.lset)).toBe(s);
    expect(m.getByLabels(all[3]!.hash + 1, all[3]!.lset)).toBeUndefined();
    // Remove all but every tenth, shrink, look up again.
    for (const s of all) if (s.ref % 10 !== 0) m.remove(s);
    m.trim();
    expect(m.size).toBe(1200);
    for (const s of all) expect(m.getByLabels(s.hash, s.lset)).toBe(s.ref % 10 === 0 ? s : undefined);
    // And grow again after the shrink.
    const more = Array.from({ length: 3000 }, (_, i) => new S(20_000 + i, Labels.fromObject({ j: String(i) }), i * 65536));
    for (const s of more) m.add(s);
    for (const s of [...more, ...all.filter((s) => s.ref % 10 === 0)]) expect(m.getByLabels(s.hash, s.lset)).toBe(s);
  });

  test('the hash separates pairs that concatenate to the same string', () => {
    expect(labelsHash(Labels.fromPairs('ab', 'c'))).not.toBe(labelsHash(Labels.fromPairs('a', 'bc')));
    expect(Number.isInteger(labelsHash(Labels.fromPairs('a', 'b')))).toBe(true);
    expect(labelsHash(Labels.fromPairs('a', 'b'))).toBeLessThan(2 ** 30);
  });

  test('interning returns canonical string instances shared between label sets', () => {
    const m = new SeriesMap<S>();
    const big = 'x'.repeat(40);
    const l1 = m.intern(Labels.fromPairs('name', big.slice(0, 30)));
    const l2 = m.intern(Labels.fromPairs('name', 'x'.repeat(30)));
    expect(l1.equals(l2)).toBe(true);
    expect(l2.pairs[1]).toBe(l1.pairs[1]);
    expect(m.numStrings()).toBe(2);
  });
});

describe('SeriesMap ref table', () => {
  class S {
    hashNext: S | null = null;
    constructor(
      readonly ref: number,
      readonly lset: Labels,
      readonly hash: number,
    ) {}
  }
  const mk = (ref: number) => new S(ref, Labels.fromObject({ r: String(ref) }), ref % 3);

  test('refs resolve after out-of-order adds, removals and trimming; bogus refs resolve to nothing', () => {
    const m = new SeriesMap<S>();
    const all = [5, 3, 9, 4, 6].map(mk);
    for (const s of all) m.add(s);
    expect([...m.values()].map((s) => s.ref)).toEqual([3, 4, 5, 6, 9]);
    m.remove(all[1]!); // 3
    m.remove(all[2]!); // 9
    m.trim();
    expect(m.getByRef(3)).toBeUndefined();
    expect(m.getByRef(4)).toBe(all[3]);
    expect(m.getByRef(9)).toBeUndefined();
    expect(m.getByRef(2 ** 32 + 5)).toBeUndefined();
    expect(m.getByRef(0)).toBeUndefined();
    m.add(mk(2)); // below the trimmed base
    expect([...m.values()].map((s) => s.ref)).toEqual([2, 4, 5, 6]);
    expect(m.size).toBe(4);
    for (const s of [...m.values()]) m.remove(s);
    m.trim();
    m.add(mk(1_000_000));
    expect(m.getByRef(1_000_000)!.ref).toBe(1_000_000);
    expect(m.size).toBe(1);
  });
});
