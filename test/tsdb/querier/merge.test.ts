import { describe, expect, test } from 'vitest';
import { ArrayIterator, Labels, ValueType, type Matcher, type Querier, type SampleIterator, type Series, type SeriesSet } from '../../../src/storage/index.js';
import { ChainIterator, ChainedSeries, mergeQueriers } from '../../../src/tsdb/querier.js';

class ArraySeries implements Series {
  constructor(
    private readonly l: Labels,
    private readonly ts: number[],
    private readonly vs: number[],
  ) {}
  labels(): Labels {
    return this.l;
  }
  iterator(): SampleIterator {
    return new ArrayIterator(this.ts, this.vs);
  }
}

class ListSet implements SeriesSet {
  private i = -1;
  constructor(private readonly list: Series[]) {}
  next(): boolean {
    return ++this.i < this.list.length;
  }
  at(): Series {
    return this.list[this.i]!;
  }
  err(): Error | null {
    return null;
  }
  warnings(): string[] {
    return [];
  }
}

/** A querier over fixed series, returned sorted (what block and head queriers guarantee). */
class FixedQuerier implements Querier {
  closed = false;
  constructor(private readonly list: ArraySeries[]) {}
  select(_s: boolean, _h: unknown, ...ms: Matcher[]): SeriesSet {
    const l = this.list.filter((s) => ms.every((m) => m.matches(s.labels().get(m.name)))).sort((a, b) => a.labels().compare(b.labels()));
    return new ListSet(l);
  }
  labelValues(name: string): string[] {
    return [...new Set(this.list.map((s) => s.labels().get(name)).filter((v) => v !== ''))].sort();
  }
  labelNames(): string[] {
    return [...new Set(this.list.flatMap((s) => s.labels().pairs.filter((_, i) => i % 2 === 0)))].sort();
  }
  close(): void {
    this.closed = true;
  }
}

function drain(it: SampleIterator): [number, number][] {
  const out: [number, number][] = [];
  while (it.next() === ValueType.Float) out.push([it.atT(), it.atV()]);
  return out;
}

const L = (n: string) => Labels.fromObject({ __name__: n });

describe('ChainIterator merges sources by timestamp', () => {
  test.each([
    ['disjoint sources interleave', [[[1, 3], [10, 30]], [[2, 4], [20, 40]]], [[1, 10], [2, 20], [3, 30], [4, 40]]],
    ['equal timestamps are returned once, from the first source', [[[1, 2], [10, 20]], [[2, 3], [99, 30]]], [[1, 10], [2, 20], [3, 30]]],
    ['an empty source changes nothing', [[[], []], [[5], [50]]], [[5, 50]]],
    ['three overlapping sources', [[[1, 5], [1, 5]], [[1, 2, 5], [9, 2, 9]], [[3, 5, 6], [3, 9, 6]]], [[1, 1], [2, 2], [3, 3], [5, 5], [6, 6]]],
  ] as [string, [number[], number[]][], [number, number][]][])('%s', (_n, srcs, want) => {
    const s = new ChainedSeries(L('x'), srcs.map(([ts, vs]) => new ArraySeries(L('x'), ts, vs)));
    expect(drain(s.iterator())).toEqual(want);
  });

  test('seek positions on the first sample at or after t across sources and never goes back', () => {
    const s = new ChainedSeries(L('x'), [new ArraySeries(L('x'), [1, 4, 8], [1, 4, 8]), new ArraySeries(L('x'), [2, 5, 9], [2, 5, 9])]);
    const it = s.iterator();
    expect(it.seek(3)).toBe(ValueType.Float);
    expect(it.atT()).toBe(4);
    expect(it.seek(2)).toBe(ValueType.Float);
    expect(it.atT()).toBe(4);
    expect(it.next()).toBe(ValueType.Float);
    expect(it.atT()).toBe(5);
    expect(it.seek(9)).toBe(ValueType.Float);
    expect(it.atT()).toBe(9);
    expect(it.seek(10)).toBe(ValueType.None);
  });

  test('an iterator passed back as reuse is reset', () => {
    const s = new ChainedSeries(L('x'), [new ArraySeries(L('x'), [1], [1]), new ArraySeries(L('x'), [2], [2])]);
    const it = s.iterator();
    drain(it);
    const again = s.iterator(it);
    expect(again).toBe(it);
    expect(again).toBeInstanceOf(ChainIterator);
    expect(drain(again)).toEqual([[1, 1], [2, 2]]);
  });
});

describe('mergeQueriers', () => {
  const qa = new FixedQuerier([new ArraySeries(L('a'), [1, 2], [1, 2]), new ArraySeries(L('c'), [1], [1])]);
  const qb = new FixedQuerier([new ArraySeries(L('b'), [1], [1]), new ArraySeries(L('a'), [2, 3], [2, 3])]);
  const q = mergeQueriers([qa, qb]);

  test('series come out sorted with same-label series merged', () => {
    const set = q.select(true, null);
    const got: [string, [number, number][]][] = [];
    while (set.next()) got.push([set.at().labels().metricName(), drain(set.at().iterator())]);
    expect(set.err()).toBeNull();
    expect(got).toEqual([
      ['a', [[1, 1], [2, 2], [3, 3]]],
      ['b', [[1, 1]]],
      ['c', [[1, 1]]],
    ]);
  });

  test('label names and values are unions', () => {
    expect(q.labelValues('__name__')).toEqual(['a', 'b', 'c']);
    expect(q.labelNames()).toEqual(['__name__']);
  });

  test('closing closes every source', () => {
    q.close();
    expect(qa.closed && qb.closed).toBe(true);
  });
});
