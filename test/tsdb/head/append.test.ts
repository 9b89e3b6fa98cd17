import { describe, expect, test } from 'vitest';
import {
  AppenderClosedError,
  DuplicateSampleError,
  InvalidLabelsError,
  Labels,
  Matcher,
  OutOfBoundsError,
  OutOfOrderSampleError,
  ValueType,
  type Appender,
} from '../../../src/storage/index.js';
import { cutPoints } from '../../../src/tsdb/chunkenc/cut.js';
import { Head } from '../../../src/tsdb/head/head.js';

const A = Labels.fromObject({ __name__: 'a', job: 'x' });
const B = Labels.fromObject({ __name__: 'b', job: 'x' });
const H = 3600_000;

/** Samples of `lset` in the head as [t, v | 'stale'] pairs. */
function samples(head: Head, lset: Labels, mint = -Infinity, maxt = Infinity): [number, number | 'stale'][] {
  const q = head.querier(mint, maxt);
  const set = q.select(true, null, ...lset.pairs.filter((_, i) => i % 2 === 0).map((n) => Matcher.equal(n, lset.get(n))));
  const out: [number, number | 'stale'][] = [];
  while (set.next()) {
    if (!set.at().labels().equals(lset)) continue;
    const it = set.at().iterator();
    while (it.next() === ValueType.Float) out.push([it.atT(), it.atStale() ? 'stale' : it.atV()]);
    expect(it.err()).toBeNull();
  }
  return out;
}

type Step = ['v', number, number] | ['stale', number] | ['commit'];
type Want = null | 'ooo' | 'dup' | 'oob';

/** Runs steps on one series: each step's expected outcome (thrown error class or null). */
async function run(head: Head, steps: [Step, Want][]): Promise<void> {
  let app: Appender = head.appender();
  for (const [step, want] of steps) {
    if (step[0] === 'commit') {
      await app.commit();
      app = head.appender();
      continue;
    }
    const f = () => (step[0] === 'v' ? app.append(0, A, step[1], step[2]) : app.appendStale(0, A, step[1]));
    if (want === null) expect(f).not.toThrow();
    else expect(f).toThrow(want === 'ooo' ? OutOfOrderSampleError : want === 'dup' ? DuplicateSampleError : OutOfBoundsError);
  }
  await app.commit();
}

describe('head appends follow Prometheus 2.42 semantics', () => {
  test.each<[string, [Step, Want][], [number, number | 'stale'][]]>([
    ['in-order samples are all stored', [[['v', 1000, 1], null], [['v', 2000, 2], null]], [[1000, 1], [2000, 2]]],
    ['an older sample than the committed newest is out of order', [[['v', 2000, 2], null], [['commit'], null], [['v', 1000, 1], 'ooo']], [[2000, 2]]],
    ['the same timestamp with another value is a duplicate', [[['v', 2000, 2], null], [['commit'], null], [['v', 2000, 3], 'dup']], [[2000, 2]]],
    ['an identical duplicate is accepted and dropped', [[['v', 2000, 2], null], [['commit'], null], [['v', 2000, 2], null], [['v', 3000, 3], null]], [[2000, 2], [3000, 3]]],
    ['NaN repeated at the same timestamp is an identical duplicate', [[['v', 2000, NaN], null], [['commit'], null], [['v', 2000, NaN], null]], [[2000, NaN]]],
    ['+0 and -0 differ in bits, so they are a duplicate', [[['v', 2000, 0], null], [['commit'], null], [['v', 2000, -0], 'dup']], [[2000, 0]]],
    ['a stale marker after a value is stored as stale', [[['v', 1000, 1], null], [['stale', 2000], null]], [[1000, 1], [2000, 'stale']]],
    ['a stale marker at the timestamp of a value is a duplicate', [[['v', 1000, 1], null], [['commit'], null], [['stale', 1000], 'dup']], [[1000, 1]]],
    ['a second stale marker at the same timestamp is an identical duplicate', [[['stale', 1000], null], [['commit'], null], [['stale', 1000], null]], [[1000, 'stale']]],
    ['a value at the timestamp of a stale marker is a duplicate', [[['stale', 1000], null], [['commit'], null], [['v', 1000, 1], 'dup']], [[1000, 'stale']]],
    ['within one transaction the first sample of a timestamp wins', [[['v', 1000, 1], null], [['v', 1000, 2], null]], [[1000, 1]]],
    ['within one transaction a later older sample is dropped at commit', [[['v', 2000, 2], null], [['v', 1000, 1], null]], [[2000, 2]]],
    ['a sample older than half a chunk range behind the head is out of bounds', [[['v', 10 * H, 1], null], [['commit'], null], [['v', 9 * H - 1, 1], 'oob']], [[10 * H, 1]]],
    ['a sample exactly half a chunk range behind the head max is still appendable', [[['v', 10 * H, 1], null], [['commit'], null], [['v', 9 * H, 1], 'ooo']], [[10 * H, 1]]],
  ])('%s', async (_name, steps, want) => {
    const head = new Head();
    await run(head, steps);
    expect(samples(head, A)).toEqual(want);
  });

  test('rejections are counted per reason', async () => {
    const head = new Head();
    await run(head, [
      [['v', 10 * H, 1], null],
      [['commit'], null],
      [['v', 10 * H - 1, 1], 'ooo'],
      [['v', 10 * H, 2], 'dup'],
      [['v', 10 * H, 1], null],
      [['v', 1, 1], 'oob'],
    ]);
    expect(head.metrics).toMatchObject({ outOfOrderSamples: 1, duplicateSamples: 1, outOfBoundSamples: 1, identicalDuplicates: 1, samplesAppended: 1 });
  });

  test('the first transaction on an empty head accepts samples up to half a range before its first sample', async () => {
    const head = new Head();
    const app = head.appender();
    app.append(0, A, 10 * H, 1);
    expect(() => app.append(0, B, 9 * H - 1, 1)).toThrow(OutOfBoundsError);
    app.append(0, B, 9 * H, 1);
    await app.commit();
    expect(head.stats()).toMatchObject({ numSeries: 2, numSamples: 2, mint: 9 * H, maxt: 10 * H });
  });

  test('appends below the newest block end are out of bounds', async () => {
    const head = new Head();
    head.minValidTime = 5000;
    const app = head.appender();
    expect(() => app.append(0, A, 4999, 1)).toThrow(OutOfBoundsError);
    app.append(0, A, 5000, 1);
    await app.commit();
    expect(samples(head, A)).toEqual([[5000, 1]]);
  });

  test('rollback discards every sample and keeps the appender closed', async () => {
    const head = new Head();
    const app = head.appender();
    app.append(0, A, 1000, 1);
    await app.rollback();
    expect(samples(head, A)).toEqual([]);
    expect(head.stats().numSamples).toBe(0);
    expect(() => app.append(0, A, 2000, 1)).toThrow(AppenderClosedError);
    await expect(app.commit()).rejects.toThrow(AppenderClosedError);
  });

  test('nothing is visible before commit resolves', async () => {
    const head = new Head();
    const app = head.appender();
    app.append(0, A, 1000, 1);
    expect(samples(head, A)).toEqual([]);
    await app.commit();
    expect(samples(head, A)).toEqual([[1000, 1]]);
  });

  test('the returned ref skips the label lookup and stays stable', async () => {
    const head = new Head();
    const app = head.appender();
    const ref = app.append(0, A, 1000, 1);
    expect(ref).toBe(1);
    expect(app.append(ref, A, 2000, 2)).toBe(ref);
    expect(app.append(0, B, 2000, 2)).toBe(2);
    await app.commit();
    // A ref that names no series falls back to the labels.
    const app2 = head.appender();
    expect(app2.append(999, A, 3000, 3)).toBe(ref);
    await app2.commit();
    expect(samples(head, A)).toEqual([[1000, 1], [2000, 2], [3000, 3]]);
  });

  test.each([
    ['an empty label set', Labels.EMPTY],
    ['a repeated label name', Labels.fromSortedFlat(['a', '1', 'a', '2'])],
    ['an empty label value', Labels.fromSortedFlat(['a', ''])],
  ])('%s is rejected as invalid', (_n, lset) => {
    const head = new Head();
    expect(() => head.appender().append(0, lset, 1000, 1)).toThrow(InvalidLabelsError);
  });
});

describe('head chunks are cut exactly as Prometheus cuts them', () => {
  const patterns: [string, number[]][] = [
    ['15 s scrapes over 5 h', Array.from({ length: 1200 }, (_, i) => 1_700_000_000_000 + i * 15_000)],
    ['1 s scrapes over 10 min (the 240-sample rule)', Array.from({ length: 600 }, (_, i) => 1_700_000_000_000 + i * 1000)],
    ['irregular gaps across range boundaries', Array.from({ length: 700 }, (_, i) => i * 17_000 + (i % 7) * 2001 + Math.floor(i / 100) * 3_000_000)],
    ['negative timestamps', Array.from({ length: 300 }, (_, i) => -5_000_000 + i * 60_000)],
  ];
  test.each(patterns)('%s', async (_n, ts) => {
    const head = new Head();
    for (const t of ts) {
      const app = head.appender();
      app.append(0, A, t, t / 1000);
      await app.commit();
    }
    const s = head.series.getByRef(1)!;
    const want = cutPoints(ts).length;
    expect(s.numChunks()).toBe(want);
    // chunk boundaries: first sample of each chunk
    const starts: number[] = [];
    for (let i = 0; i < s.numCut(); i++) starts.push(s.cutMeta[4 * i]!);
    starts.push(s.headMint);
    expect(starts).toEqual(cutPoints(ts).map((i) => ts[i]));
    expect(samples(head, A).map((x) => x[0])).toEqual(ts);
  });
});

describe('head querier', () => {
  test('restricts samples to [mint, maxt] and seeks across chunks', async () => {
    const head = new Head();
    const ts = Array.from({ length: 500 }, (_, i) => i * 15_000);
    for (const t of ts) {
      const app = head.appender();
      app.append(0, A, t, t);
      await app.commit();
    }
    expect(samples(head, A, 30_000, 60_000)).toEqual([[30_000, 30_000], [45_000, 45_000], [60_000, 60_000]]);
    const set = head.querier(0, 10_000_000).select(true, null, Matcher.equal('__name__', 'a'));
    expect(set.next()).toBe(true);
    const it = set.at().iterator();
    expect(it.seek(3_000_001)).toBe(ValueType.Float);
    expect(it.atT()).toBe(3_015_000);
    expect(it.next()).toBe(ValueType.Float);
    expect(it.atT()).toBe(3_030_000);
    expect(it.seek(0)).toBe(ValueType.Float);
    expect(it.atT()).toBe(3_030_000);
    expect(it.seek(7_485_000)).toBe(ValueType.Float);
    expect(it.next()).toBe(ValueType.None);
  });

  test('an iterator keeps the samples committed when it was created', async () => {
    const head = new Head();
    let app = head.appender();
    app.append(0, A, 1000, 1);
    await app.commit();
    const set = head.querier(0, 1e12).select(true, null);
    expect(set.next()).toBe(true);
    const it = set.at().iterator();
    app = head.appender();
    app.append(0, A, 2000, 2);
    await app.commit();
    const got: number[] = [];
    while (it.next() === ValueType.Float) got.push(it.atT());
    expect(got).toEqual([1000]);
  });

  test('an iterator over the open chunk is unaffected by appends into that chunk before it is consumed', async () => {
    const head = new Head();
    for (let i = 0; i < 20; i++) {
      const app = head.appender();
      app.append(0, A, i * 1000, i);
      await app.commit();
    }
    const set = head.querier(0, 1e12).select(true, null);
    expect(set.next()).toBe(true);
    const it = set.at().iterator();
    for (let i = 20; i < 80; i++) {
      const app = head.appender();
      app.append(0, A, i * 1000, i * 1.5);
      await app.commit();
    }
    const got: number[] = [];
    while (it.next() === ValueType.Float) got.push(it.atT());
    expect(it.err()).toBeNull();
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => i * 1000));
  });

  test('label names and values, with and without matchers', async () => {
    const head = new Head();
    const app = head.appender();
    app.append(0, A, 1000, 1);
    app.append(0, Labels.fromObject({ __name__: 'b', job: 'y', zone: 'z1' }), 1000, 1);
    await app.commit();
    const q = head.querier(0, 2000);
    expect(q.labelNames()).toEqual(['__name__', 'job', 'zone']);
    expect(q.labelValues('job')).toEqual(['x', 'y']);
    expect(q.labelValues('job', Matcher.equal('__name__', 'a'))).toEqual(['x']);
    expect(q.labelNames(Matcher.equal('__name__', 'a'))).toEqual(['__name__', 'job']);
    expect(head.querier(5000, 6000).labelNames()).toEqual([]);
  });
});

describe('truncation and garbage collection', () => {
  test('drops chunks before the cut, then series without chunks, and their postings', async () => {
    const head = new Head();
    for (let i = 0; i < 600; i++) {
      const app = head.appender();
      app.append(0, A, i * 15_000, i);
      if (i < 100) app.append(0, B, i * 15_000, i);
      await app.commit();
    }
    const before = head.stats();
    expect(before.numSamples).toBe(700);
    const removed = head.truncateMemory(2 * H);
    expect(removed).toEqual([2]);
    expect(head.stats().numSeries).toBe(1);
    expect(head.querier(-Infinity, Infinity).labelValues('__name__')).toEqual(['a']);
    const left = samples(head, A);
    expect(left[0]![0]).toBeGreaterThanOrEqual(2 * H - 15_000 * 120);
    expect(head.stats().numSamples).toBe(left.length);
    expect(head.minTime).toBe(left[0]![0] < 2 * H ? 2 * H : left[0]![0]);
    expect(head.minValidTime).toBe(2 * H);
  });

  test('a series with a pending commit survives gc', async () => {
    const head = new Head();
    let app = head.appender();
    app.append(0, B, 1000, 1);
    await app.commit();
    app = head.appender();
    app.append(0, A, 3 * H, 1);
    await app.commit();
    const open = head.appender();
    open.append(0, B, 3 * H, 2);
    head.truncateMemory(2 * H);
    expect(head.series.size).toBe(2);
    await open.commit();
    expect(samples(head, B)).toEqual([[3 * H, 2]]);
  });
});

describe('waiting for appenders before a cut', () => {
  test('a cut waits for an open appender holding older samples, and stops waiting for an abandoned one', async () => {
    const head = new Head();
    const app = head.appender();
    app.append(0, A, 1000, 1);
    let waited = false;
    const w = head.waitForAppendersBelow(5000, 5000).then(() => (waited = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(waited).toBe(false);
    await app.commit();
    await w;
    expect(waited).toBe(true);
    // An appender that is never finished: given up on after the timeout, not waited for again.
    const abandoned = head.appender();
    abandoned.append(0, B, 2000, 1);
    await head.waitForAppendersBelow(5000, 100);
    expect(head.metrics.abandonedAppenders).toBe(1);
    const t0 = Date.now();
    await head.waitForAppendersBelow(5000, 10_000);
    expect(Date.now() - t0).toBeLessThan(100);
    // A sample newer than the cut does not block it.
    const newer = head.appender();
    newer.append(0, A, 9000, 1);
    await head.waitForAppendersBelow(5000, 10_000);
    await newer.rollback();
  });
});

describe('pooled transaction batches', () => {
  test('a reused batch holds only its own samples: a smaller transaction after a big one commits and releases exactly its series', async () => {
    const head = new Head();
    const ls = Array.from({ length: 100 }, (_, i) => Labels.fromObject({ __name__: 'pool', i: String(i) }));
    let app = head.appender();
    for (const l of ls) app.append(0, l, 1000, 1);
    await app.commit();
    // Same pooled batch, fewer samples: rollback must only release these 5.
    app = head.appender();
    for (const l of ls.slice(0, 5)) app.append(0, l, 2000, 2);
    await app.rollback();
    app = head.appender();
    for (const l of ls.slice(0, 3)) app.append(0, l, 3000, 3);
    await app.commit();
    for (const s of head.series.values()) expect(s.pendingCommit).toBe(0);
    expect(head.metrics.samplesAppended).toBe(103);
    expect(samples(head, ls[0]!)).toEqual([[1000, 1], [3000, 3]]);
    expect(samples(head, ls[4]!)).toEqual([[1000, 1]]);
  });
});
