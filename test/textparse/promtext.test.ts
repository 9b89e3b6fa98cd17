import { describe, expect, test } from 'vitest';
import { LabelsBuilder } from '../../src/storage/labels.js';
import { Entry, MetricType, ParseError, PromTextParser, newParser } from '../../src/textparse/index.js';
import { TEXT, TEXT_CASES, caseBody } from './cases.js';
import { assertSimMatchesCase } from './check.js';
import { labelsOf, simulateScrape } from './simulate.js';

const NOW = 1_700_000_000_123;
const enc = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));

describe('Prometheus text 0.0.4: the edge cases a real 2.42 was checked on (cases.ts)', () => {
  test.each(TEXT_CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    assertSimMatchesCase(simulateScrape(caseBody(c, NOW), c.ct), c, NOW);
  });
});

describe('Prometheus text 0.0.4 parser API', () => {
  test('series() returns the raw series bytes from the line start to the closing brace', () => {
    const p = new PromTextParser(enc('foo{a="1"} 1 2\n  bar {b="x"}\t3\nbaz 4\n'));
    const got: string[] = [];
    for (let e = p.next(); e !== Entry.EOF; e = p.next()) {
      got.push(Buffer.from(p.series()).toString());
      expect(Buffer.from(p.b.subarray(p.seriesStartOffset(), p.seriesEndOffset())).toString()).toBe(got[got.length - 1]);
    }
    expect(got).toEqual(['foo{a="1"}', '  bar {b="x"}', 'baz']);
  });

  test('values, timestamps and hasTimestamp follow each sample', () => {
    const p = new PromTextParser(enc('a 1.5 42\nb -Inf\nc NaN 0\n'));
    const got: [number, boolean, number][] = [];
    for (let e = p.next(); e !== Entry.EOF; e = p.next()) got.push([p.value(), p.hasTimestamp(), p.hasTimestamp() ? p.timestamp() : -1]);
    expect(got).toEqual([
      [1.5, true, 42],
      [-Infinity, false, -1],
      [NaN, true, 0],
    ]);
  });

  test('labels() passes every pair through as written, __name__ first, empties and repeats included', () => {
    const p = new PromTextParser(enc('foo{b="2",a="",b="3",c="x\\"y"} 1\n'));
    expect(p.next()).toBe(Entry.Series);
    const names: string[] = [];
    const values: string[] = [];
    p.labels({ reset: () => ((names.length = 0), (values.length = 0)), set: (n, v) => (names.push(n), values.push(v)) });
    expect(names).toEqual(['__name__', 'b', 'a', 'b', 'c']);
    expect(values).toEqual(['foo', '2', '', '3', 'x"y']);
  });

  test('labels() into a LabelsBuilder gives the sorted storage label set', () => {
    const p = new PromTextParser(enc('http_requests_total{method="GET",code="200"} 7\n'));
    p.next();
    expect(labelsOf(p)).toEqual({ __name__: 'http_requests_total', code: '200', method: 'GET' });
    const b = new LabelsBuilder();
    p.labels(b);
    expect(b.labels().toString()).toBe('{__name__="http_requests_total", code="200", method="GET"}');
  });

  test('HELP, TYPE and comment entries carry their text', () => {
    const p = new PromTextParser(enc('# HELP m Some \\\\ help\\n.\n# TYPE m histogram\n# just a comment\n#x\n'));
    expect(p.next()).toBe(Entry.Help);
    expect(p.help()).toEqual({ name: 'm', text: 'Some \\ help\n.' });
    expect(p.next()).toBe(Entry.Type);
    expect(p.type()).toEqual({ name: 'm', type: MetricType.Histogram });
    expect(p.next()).toBe(Entry.Comment);
    expect(p.comment()).toBe('# just a comment');
    expect(p.next()).toBe(Entry.Comment);
    expect(p.comment()).toBe('#x');
    expect(p.next()).toBe(Entry.EOF);
    expect(p.next()).toBe(Entry.EOF);
    expect(p.exemplar()).toBeNull();
    expect(p.createdTimestamp()).toBeNull();
  });

  test.each([
    ['a bad value', 'a 1\nb 1x\n', 2, 3, /expected float value, got "1x" \(invalid syntax\)/],
    ['a stray brace', 'a 1\nb{,} 1\n', 2, 3, /expected label name, got ","/],
    ['a missing equals sign', 'a{b"1"} 1\n', 1, 4, /expected equal, got "\\""/],
    ['an overflowing timestamp', 'a 1 99999999999999999999\n', 1, 5, /expected int64 millisecond timestamp, got "99999999999999999999" \(value out of range\)/],
    ['an invalid start', '\n\n  =x\n', 3, 3, /expected a valid start token, got "="/],
    ['a missing value at the end of input', 'a', 1, 2, /expected value after metric, got end of line/],
    ['an unsupported float character', 'a 1_0', 1, 3, /unsupported character in float/],
    ['an invalid TYPE', '# TYPE a b\n', 1, 10, /expected metric type counter, gauge, histogram, summary or untyped, got "b"/],
  ])('%s is reported with line, column and what was expected', (_n, body, line, column, re) => {
    const p = new PromTextParser(enc(body));
    let err: unknown = null;
    try {
      while (p.next() !== Entry.EOF);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ParseError);
    const pe = err as ParseError;
    expect({ line: pe.line, column: pe.column }).toEqual({ line, column });
    expect(pe.message).toMatch(re);
    expect(pe.code).toBe('MM_ERR_PARSE');
    // The parser stays failed.
    expect(() => p.next()).toThrow(pe);
  });

  test('newParser uses the 0.0.4 parser for text/plain and for a missing Content-Type', () => {
    expect(newParser(enc('a 1'), TEXT)).toBeInstanceOf(PromTextParser);
    expect(newParser(enc('a 1'), null)).toBeInstanceOf(PromTextParser);
    expect(newParser(enc('a 1'), '')).toBeInstanceOf(PromTextParser);
  });

  test('a body in a subarray of a larger buffer is parsed from its own offset', () => {
    const big = enc('XXXXfoo{a="é"} 2 3\nYYYY');
    const p = new PromTextParser(big.subarray(4, big.length - 4));
    expect(p.next()).toBe(Entry.Series);
    expect(labelsOf(p)).toEqual({ __name__: 'foo', a: 'é' });
    expect([p.value(), p.timestamp()]).toEqual([2, 3]);
    expect(p.next()).toBe(Entry.EOF);
  });

  test('thousands of labels on one series are all kept', () => {
    const n = 3000;
    const body = 'm{' + Array.from({ length: n }, (_, i) => `l${i}="v${i}"`).join(',') + '} 1\n';
    const p = new PromTextParser(enc(body));
    p.next();
    const l = labelsOf(p);
    expect(Object.keys(l).length).toBe(n + 1);
    expect(l['l2999']).toBe('v2999');
  });
});
