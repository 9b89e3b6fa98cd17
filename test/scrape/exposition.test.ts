/**
 * The scrape core without HTTP: `ExpositionAppender.append(app, body, contentType, ts)`
 * into the in-memory appender, one case per Prometheus 2.42 rule (spec §6–§9).
 */
import { describe, expect, test } from 'vitest';
import { Labels } from '../../src/storage/index.js';
import { newParser } from '../../src/textparse/index.js';
import { AppendResult, ExpositionAppender, ScrapeErrorCode, type AppendOptions } from '../../src/scrape/index.js';
import { MemoryStorage } from '../support/memory-appender.js';
import { OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE } from '../support/mm-exposition.js';

const TARGET = Labels.fromObject({ job: 'mm', instance: 'h:8067' });
const enc = new TextEncoder();

function opts(o: Partial<AppendOptions> = {}): AppendOptions {
  return { honorLabels: false, honorTimestamps: true, sampleLimit: 0, labelLimit: 0, labelNameLengthLimit: 0, labelValueLengthLimit: 0, ...o };
}

/** Runs scrapes the way the loop does: append; on error roll back and append an empty body. */
class Harness {
  readonly st = new MemoryStorage();
  readonly core: ExpositionAppender;
  readonly res = new AppendResult();
  private readonly empty = new AppendResult();
  constructor(o: Partial<AppendOptions> = {}, targetLabels = TARGET) {
    this.core = new ExpositionAppender(targetLabels, opts(o), newParser);
  }
  async scrape(body: string | Uint8Array, t: number, contentType = TEXT_CONTENT_TYPE): Promise<AppendResult> {
    let app = this.st.appender();
    this.core.append(app, typeof body === 'string' ? enc.encode(body) : body, contentType, t, this.res);
    if (this.res.err !== null) {
      await app.rollback();
      app = this.st.appender();
      this.core.appendEmpty(app, t, this.empty);
    }
    await app.commit();
    return this.res;
  }
  /** `name{…}` → list of [t, value | 'stale']. */
  samples(lset: Record<string, string>): Array<[number, number | 'stale']> {
    const s = this.st.get(Labels.fromObject(lset));
    if (s === undefined) return [];
    return s.ts.map((t, i) => [t, s.stale[i] === 1 ? 'stale' : s.vs[i]!]);
  }
  names(): string[] {
    return this.st
      .all()
      .filter((s) => s.ts.length > 0)
      .map((s) => s.lset.toString())
      .sort();
  }
}

const m = (name: string, extra: Record<string, string> = {}): Record<string, string> => ({ __name__: name, job: 'mm', instance: 'h:8067', ...extra });

describe('appending one exposition', () => {
  test('every sample is stored with the target labels at the scrape timestamp, and counted', async () => {
    const h = new Harness();
    const r = await h.scrape('# TYPE a counter\na_total 1\nb{x="1"} 2.5\nc NaN\nd +Inf\n', 1000);
    expect(r.err).toBeNull();
    expect([r.total, r.added, r.seriesAdded]).toEqual([4, 4, 4]);
    expect(h.samples(m('a_total'))).toEqual([[1000, 1]]);
    expect(h.samples(m('b', { x: '1' }))).toEqual([[1000, 2.5]]);
    expect(Number.isNaN(h.samples(m('c'))[0]![1])).toBe(true);
    expect(h.samples(m('d'))).toEqual([[1000, Infinity]]);
  });

  test('a repeated scrape takes every series from the cache: no series added, values appended', async () => {
    const h = new Harness();
    await h.scrape('a 1\nb{x="1"} 2\n', 1000);
    const r = await h.scrape('a 2\nb{x="1"} 3\n', 2000);
    expect([r.total, r.added, r.seriesAdded]).toEqual([2, 2, 0]);
    expect(h.samples(m('b', { x: '1' }))).toEqual([
      [1000, 2],
      [2000, 3],
    ]);
    expect(h.core.cache.size).toBe(2);
  });

  test('a series that disappears gets one stale marker at the next scrape timestamp', async () => {
    const h = new Harness();
    await h.scrape('a 1\nb 1\n', 1000);
    const r = await h.scrape('a 2\n', 2000);
    expect(r.staleMarkers).toBe(1);
    await h.scrape('a 3\n', 3000);
    expect(h.samples(m('b'))).toEqual([
      [1000, 1],
      [2000, 'stale'],
    ]);
    // It comes back: a normal sample again, counted as added (its text left the cache).
    const r4 = await h.scrape('a 4\nb 9\n', 4000);
    expect(r4.seriesAdded).toBe(1);
    expect(h.samples(m('b')).at(-1)).toEqual([4000, 9]);
  });

  test('the same series written differently is one stored series and two cache entries', async () => {
    const h = new Harness();
    const r = await h.scrape('a{x="1",y="2"} 1\n', 1000);
    const r2 = await h.scrape('a{y="2",x="1"} 2\n', 2000);
    expect([r.seriesAdded, r2.seriesAdded]).toEqual([1, 1]);
    // Same exposed label set: no stale marker for the old spelling.
    expect(r2.staleMarkers).toBe(0);
    expect(h.samples(m('a', { x: '1', y: '2' }))).toEqual([
      [1000, 1],
      [2000, 2],
    ]);
  });

  test('a failed scrape (empty body) marks every series of the last successful scrape stale', async () => {
    const h = new Harness();
    await h.scrape('a 1\nb 1\n', 1000);
    const r = await h.scrape('', 2000);
    expect(r.err).toBeNull();
    expect(r.staleMarkers).toBe(2);
    expect(h.samples(m('a')).at(-1)).toEqual([2000, 'stale']);
    // And nothing more at the next failure.
    expect((await h.scrape('', 3000)).staleMarkers).toBe(0);
  });

  describe('timestamps', () => {
    test('an exposed timestamp is used with honor_timestamps and such series never get stale markers', async () => {
      const h = new Harness();
      const now = Date.now();
      await h.scrape(`a 1 ${now - 5000}\nb 1\n`, now);
      const r = await h.scrape('', now + 1000);
      expect(r.staleMarkers).toBe(1);
      expect(h.samples(m('a'))).toEqual([[now - 5000, 1]]);
      expect(h.samples(m('b')).at(-1)).toEqual([now + 1000, 'stale']);
    });

    test('without honor_timestamps the scrape timestamp is used and staleness applies', async () => {
      const h = new Harness({ honorTimestamps: false });
      await h.scrape('a 1 123\n', 1000);
      await h.scrape('', 2000);
      expect(h.samples(m('a'))).toEqual([
        [1000, 1],
        [2000, 'stale'],
      ]);
    });

    test('an exposed timestamp older than the stored one is dropped as out of order; the scrape stays good', async () => {
      const h = new Harness();
      const now = Date.now();
      await h.scrape(`a 1 ${now}\n`, now);
      const r = await h.scrape(`a 2 ${now - 1000}\nb 1\n`, now + 1000);
      expect(r.err).toBeNull();
      expect(r.outOfOrder).toBe(1);
      expect(r.added).toBe(2);
      expect(h.samples(m('a'))).toEqual([[now, 1]]);
    });

    test('the same timestamp with a different value is a duplicate; an identical one is silently fine', async () => {
      const h = new Harness();
      const now = Date.now();
      await h.scrape(`a 1 ${now}\nb 1 ${now}\n`, now);
      const r = await h.scrape(`a 2 ${now}\nb 1 ${now}\n`, now + 1000);
      expect([r.duplicates, r.outOfOrder, r.err]).toEqual([1, 0, null]);
    });

    test('a timestamp more than 10 minutes in the future is out of bounds', async () => {
      const h = new Harness();
      const r = await h.scrape(`a 1 ${Date.now() + 11 * 60_000}\nb 1\n`, Date.now());
      expect([r.outOfBounds, r.err, r.seriesAdded]).toEqual([1, null, 1]);
      expect(h.names()).toEqual(['{__name__="b", instance="h:8067", job="mm"}']);
    });

    test('a series exposed twice in one scrape is stored once, first value wins, scrape stays up', async () => {
      const h = new Harness();
      const r = await h.scrape('d 1\nd 2\n', 1000);
      expect(r.err).toBeNull();
      expect(r.added).toBe(2);
      expect(h.samples(m('d'))).toEqual([[1000, 1]]);
    });
  });

  describe('honor_labels', () => {
    test.each<{ name: string; honor: boolean; body: string; want: Record<string, string> }>([
      { name: 'off: an exposed job moves to exported_job', honor: false, body: 'x{job="exposed"} 1\n', want: { __name__: 'x', job: 'mm', instance: 'h:8067', exported_job: 'exposed' } },
      {
        name: 'off: the prefix repeats while the name is taken',
        honor: false,
        body: 'x{job="e",exported_job="f"} 1\n',
        want: { __name__: 'x', job: 'mm', instance: 'h:8067', exported_job: 'f', exported_exported_job: 'e' },
      },
      {
        name: 'off: an empty exposed value is no conflict and counts as taken for renames',
        honor: false,
        body: 'x{instance="",job="e",exported_job=""} 1\n',
        want: { __name__: 'x', job: 'mm', instance: 'h:8067', exported_exported_job: 'e' },
      },
      {
        name: 'off: conflicts resolve in order of name length',
        honor: false,
        body: 'x{job="j",instance="i"} 1\n',
        want: { __name__: 'x', job: 'mm', instance: 'h:8067', exported_job: 'j', exported_instance: 'i' },
      },
      { name: 'on: exposed labels win', honor: true, body: 'x{job="exposed"} 1\n', want: { __name__: 'x', job: 'exposed', instance: 'h:8067' } },
      { name: 'on: an empty exposed value removes the target label', honor: true, body: 'x{job="exposed",instance=""} 1\n', want: { __name__: 'x', job: 'exposed' } },
    ])('$name', async ({ honor, body, want }) => {
      const h = new Harness({ honorLabels: honor });
      expect((await h.scrape(body, 1000)).err).toBeNull();
      expect(h.samples(want)).toEqual([[1000, 1]]);
    });
  });

  // Each row was verified against Prometheus 2.42 (prometheus-compat.test.ts: dup_labels,
  // dup_honor, dup_limit, bad_names). null = the scrape fails.
  describe('repeated label names and metric names (Go labels.Builder, then the head appender)', () => {
    test.each<{ name: string; honor?: boolean; body: string; want: Record<string, string> | null; msg?: RegExp }>([
      { name: 'a name with an empty value anywhere drops every pair of it', body: 'foo{a="",a="1"} 1\n', want: m('foo') },
      { name: 'the empty value may come last', body: 'foo{a="1",b="x",a=""} 1\n', want: m('foo', { b: 'x' }) },
      { name: 'two non-empty values fail at append', body: 'foo{a="1",a="2"} 1\n', want: null, msg: /^label name "a" is not unique: invalid sample$/ },
      { name: 'two identical pairs fail too', body: 'foo{a="1",a="1"} 1\n', want: null, msg: /"a" is not unique/ },
      { name: 'a __name__ label next to the metric name fails', body: 'foo{__name__="bar"} 1\n', want: null, msg: /"__name__" is not unique/ },
      { name: 'an empty __name__ removes the name', body: 'foo{__name__=""} 1\n', want: null, msg: /missing metric name/ },
      { name: 'an invalid second __name__ is an invalid metric name', body: 'foo{__name__="1x"} 1\n', want: null, msg: /invalid metric name/ },
      { name: 'honor off: a repeated target label name is replaced, the first value exported', body: 'foo{job="x",job="y"} 1\n', want: m('foo', { exported_job: 'x' }) },
      { name: 'honor off: a repeated instance with an empty value is just the target instance', body: 'foo{instance="",instance="z"} 1\n', want: m('foo') },
      { name: 'honor on: a repeated target label name fails', honor: true, body: 'foo{job="x",job="y"} 1\n', want: null, msg: /"job" is not unique/ },
      { name: 'honor on: an empty value among repeats removes the target label', honor: true, body: 'foo{job="",job="x"} 1\n', want: { __name__: 'foo', instance: 'h:8067' } },
      { name: 'a leading blank is part of the metric name', body: ' foo 1\n', want: null, msg: /invalid metric name/ },
      { name: 'a leading tab too', body: '\tfoo{a="1"} 1\n', want: null, msg: /invalid metric name/ },
      { name: 'a blank between name and braces is fine', body: 'foo {a="1"} 1\n', want: m('foo', { a: '1' }) },
    ])('$name', async ({ honor, body, want, msg }) => {
      const h = new Harness({ honorLabels: honor ?? false });
      const r = await h.scrape(body, 1000);
      if (want === null) {
        expect(r.err?.message).toMatch(msg!);
        expect(h.names()).toEqual([]);
      } else {
        expect(r.err).toBeNull();
        expect(h.samples(want)).toEqual([[1000, 1]]);
        expect(h.names()).toHaveLength(1);
      }
    });

    test('a repeated name past the sample limit is a sample-limit failure and every line is counted', async () => {
      const h = new Harness({ sampleLimit: 1 });
      const r = await h.scrape('ok 1\ndup{a="1",a="2"} 1\nzzz 1\n', 1000);
      expect(r.err?.code).toBe(ScrapeErrorCode.SampleLimit);
      expect([r.total, r.added]).toEqual([3, 3]);
    });

    test('a repeated name with a timestamp past the 10-minute window is only out of bounds', async () => {
      const h = new Harness();
      const r = await h.scrape(`ok 1\nfut{a="1",a="2"} 1 ${Date.now() + 20 * 60_000}\n`, 1000);
      expect(r.err).toBeNull();
      expect([r.total, r.added, r.outOfBounds]).toEqual([2, 2, 1]);
      expect(h.samples(m('ok'))).toEqual([[1000, 1]]);
    });
  });

  describe('an empty body from a successful fetch', () => {
    test('0.0.4: an empty exposition, every series goes stale, the scrape is good', async () => {
      const h = new Harness();
      await h.scrape('a 1\n', 1000);
      const r = await h.scrape('', 2000);
      expect(r.err).toBeNull();
      expect([r.total, r.staleMarkers]).toEqual([0, 1]);
      expect(h.samples(m('a'))).toEqual([[1000, 1], [2000, 'stale']]);
    });

    test('OpenMetrics: fails for the missing # EOF, and the series go stale', async () => {
      const h = new Harness();
      await h.scrape('a 1\n# EOF\n', 1000, OPENMETRICS_CONTENT_TYPE);
      const r = await h.scrape('', 2000, OPENMETRICS_CONTENT_TYPE);
      expect(r.err?.code).toBe(ScrapeErrorCode.Parse);
      expect(r.err?.message).toMatch(/# EOF/);
      expect(h.samples(m('a'))).toEqual([[1000, 1], [2000, 'stale']]);
    });
  });

  describe('failures roll back the whole scrape', () => {
    test('a parse error keeps nothing of the scrape; counts stop at the bad line', async () => {
      const h = new Harness();
      await h.scrape('a 1\n', 1000);
      const r = await h.scrape('a 2\nb 2\nc{ 3\n', 2000);
      expect(r.err?.code).toBe(ScrapeErrorCode.Parse);
      expect(r.err?.message).toMatch(/line 3/);
      expect([r.total, r.added]).toEqual([2, 2]);
      expect(h.samples(m('b'))).toEqual([]);
      // Prometheus 2.42 quirk kept on purpose: `a` was appended (then rolled back) in the
      // failed attempt, so it is still "seen" and gets no stale marker at this scrape.
      expect(h.samples(m('a'))).toEqual([[1000, 1]]);
    });

    test('more samples than sample_limit fail the scrape; all lines are still counted', async () => {
      const h = new Harness({ sampleLimit: 2 });
      const r = await h.scrape('a 1\nb 1\nc 1\n', 1000);
      expect(r.err?.code).toBe(ScrapeErrorCode.SampleLimit);
      expect(r.err?.message).toBe('sample limit exceeded');
      expect([r.total, r.added, r.seriesAdded]).toEqual([3, 3, 2]);
      expect(h.names()).toEqual([]);
    });

    test('after a good scrape, a sample-limit failure marks stale only the series past the limit (2.42 tracking)', async () => {
      const h = new Harness({ sampleLimit: 2 });
      await h.scrape('a 1\nb 1\n', 1000);
      const r = await h.scrape('a 2\nb 2\nc 2\n', 2000);
      expect(r.err?.code).toBe(ScrapeErrorCode.SampleLimit);
      // a and b were appended within the limit (then rolled back) and count as seen.
      expect(h.samples(m('a'))).toEqual([[1000, 1]]);
      const r3 = await h.scrape('a 3\nc 3\n', 3000);
      expect(r3.err).toBeNull();
      expect(h.samples(m('b')).at(-1)).toEqual([3000, 'stale']);
    });

    test.each<{ name: string; body: Uint8Array | string; code: string; msg: RegExp }>([
      { name: 'invalid UTF-8 in a label value (the parser rejects it, as 2.42 does)', body: new Uint8Array([...enc.encode('a{x="'), 0xff, 0xfe, ...enc.encode('"} 1\n')]), code: ScrapeErrorCode.Parse, msg: /line 1/ },
      { name: 'a duplicate label name', body: 'a{x="1",x="2"} 1\n', code: ScrapeErrorCode.InvalidLabels, msg: /label name "x" is not unique/ },
      { name: 'an invalid label name', body: 'a{0x="1"} 1\n', code: ScrapeErrorCode.Parse, msg: /line 1/ },
      { name: 'an HTML page', body: '<!DOCTYPE html>\n<html></html>\n', code: ScrapeErrorCode.Parse, msg: /line 1/ },
    ])('$name fails the scrape', async ({ body, code, msg }) => {
      const h = new Harness();
      const r = await h.scrape(body, 1000);
      expect(r.err).not.toBeNull();
      if (code !== '') expect(r.err?.code).toBe(code);
      expect(r.err?.message).toMatch(msg);
      expect(h.names()).toEqual([]);
    });

    test.each<{ name: string; o: Partial<AppendOptions>; body: string; msg: string }>([
      { name: 'label_limit counts __name__ and target labels', o: { labelLimit: 3 }, body: 'a{x="1"} 1\n', msg: 'label_limit exceeded (metric: a, number of labels: 4, limit: 3)' },
      { name: 'label_name_length_limit', o: { labelNameLengthLimit: 8 }, body: 'a{long_name="1"} 1\n', msg: 'label_name_length_limit exceeded' },
      { name: 'label_value_length_limit in bytes', o: { labelValueLengthLimit: 7 }, body: 'a{x="éééé"} 1\n', msg: 'label name: x, value: "éééé", length: 8, limit: 7' },
    ])('$name fails the scrape', async ({ o, body, msg }) => {
      const h = new Harness(o);
      const r = await h.scrape(body, 1000);
      expect(r.err?.code).toBe(ScrapeErrorCode.LabelLimit);
      expect(r.err?.message).toContain(msg);
    });
  });

  test('an OpenMetrics body is parsed by Content-Type; _created is an ordinary series; timestamps are seconds', async () => {
    const h = new Harness();
    const now = Date.now();
    const tsSec = Math.floor(now / 1000) - 1 + 0.25;
    const body = `# TYPE foo counter\nfoo_total 3 ${tsSec}\nfoo_created 1700000000.5\n# EOF\n`;
    const r = await h.scrape(body, now, OPENMETRICS_CONTENT_TYPE);
    expect(r.err).toBeNull();
    expect(h.samples(m('foo_total'))).toEqual([[Math.trunc(tsSec * 1000), 3]]);
    expect(h.samples(m('foo_created'))).toEqual([[now, 1700000000.5]]);
    // The same body served as text/plain fails (no `# EOF` rule there, but `foo_total 3 1.7e9` has a fractional timestamp).
    const h2 = new Harness();
    expect((await h2.scrape(body, now, 'text/plain')).err?.code).toBe(ScrapeErrorCode.Parse);
  });
});
