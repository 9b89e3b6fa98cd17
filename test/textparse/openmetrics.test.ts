import { describe, expect, test } from 'vitest';
import { Entry, MetricType, OpenMetricsParser, ParseError, goFloatToInt64, newParser } from '../../src/textparse/index.js';
import { CONTENT_TYPE_CASES, OM, OM_CASES, caseBody } from './cases.js';
import { assertSimMatchesCase } from './check.js';
import { labelsOf, simulateScrape } from './simulate.js';

const NOW = 1_700_000_000_123;
const enc = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));

describe('OpenMetrics 1.0: the edge cases a real 2.42 was checked on (cases.ts)', () => {
  test.each(OM_CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    assertSimMatchesCase(simulateScrape(caseBody(c, NOW), c.ct), c, NOW);
  });
});

describe('parser choice by Content-Type (cases.ts)', () => {
  test.each(CONTENT_TYPE_CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    assertSimMatchesCase(simulateScrape(caseBody(c, NOW), c.ct), c, NOW);
  });

  test('a protobuf Content-Type fails on a non-empty body and is empty on an empty one', () => {
    expect(() => newParser(enc('a 1\n'), 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily').next()).toThrow(ParseError);
    expect(newParser(new Uint8Array(0), 'application/vnd.google.protobuf').next()).toBe(Entry.EOF);
  });
});

describe('OpenMetrics timestamps convert as int64(ts * 1000) does on amd64', () => {
  test.each([
    ['1.001', 1000],
    ['1.005', 1004],
    ['-1.0015', -1001],
    ['-0.0009', 0],
    ['0.0009', 0],
    ['1E3', 1_000_000],
    ['+1.5', 1500],
    ['.5', 500],
    ['1700000000.001', 1_700_000_000_001],
    ['9.2e15', 9.2e18],
    ['1e300', -(2 ** 63)],
    ['-1e300', -(2 ** 63)],
  ])('timestamp %s is %d ms', (ts, ms) => {
    const p = new OpenMetricsParser(enc(`a 1 ${ts}\n# EOF\n`));
    expect(p.next()).toBe(Entry.Series);
    expect(p.timestamp()).toBe(ms);
    expect(Object.is(p.timestamp(), -0)).toBe(false);
  });

  test('goFloatToInt64 maps NaN and the int64 edges like CVTTSD2SQ', () => {
    expect(goFloatToInt64(NaN)).toBe(-(2 ** 63));
    expect(goFloatToInt64(2 ** 63)).toBe(-(2 ** 63));
    expect(goFloatToInt64(-(2 ** 63))).toBe(-(2 ** 63));
    expect(goFloatToInt64(2 ** 63 - 1024)).toBe(2 ** 63 - 1024);
    expect(goFloatToInt64(-2.9)).toBe(-2);
  });
});

describe('OpenMetrics parser API', () => {
  test('entries, metadata, exemplar and created timestamp of a counter family', () => {
    const p = new OpenMetricsParser(
      enc(
        '# TYPE rpc counter\n# HELP rpc Calls \\"made\\".\n# UNIT rpc_seconds seconds\n' +
          'rpc_total{m="a"} 17 1700000000.5 # {trace_id="4f\\"x"} 0.25 1700000000.25\n' +
          'rpc_created{m="a"} 1600000000.25\n# TYPE g gauge\ng_created 5\n# EOF\n',
      ),
    );
    expect(p.next()).toBe(Entry.Type);
    expect(p.type()).toEqual({ name: 'rpc', type: MetricType.Counter });
    expect(p.next()).toBe(Entry.Help);
    expect(p.help()).toEqual({ name: 'rpc', text: 'Calls "made".' });
    expect(p.next()).toBe(Entry.Unit);
    expect(p.unit()).toEqual({ name: 'rpc_seconds', unit: 'seconds' });
    expect(p.next()).toBe(Entry.Series);
    expect(Buffer.from(p.series()).toString()).toBe('rpc_total{m="a"}');
    expect(labelsOf(p)).toEqual({ __name__: 'rpc_total', m: 'a' });
    expect([p.value(), p.hasTimestamp(), p.timestamp()]).toEqual([17, true, 1_700_000_000_500]);
    expect(p.exemplar()).toEqual({ labels: ['trace_id', '4f\\"x'], value: 0.25, hasTimestamp: true, timestamp: 1_700_000_000_250 });
    expect(p.createdTimestamp()).toBeNull();
    expect(p.next()).toBe(Entry.Series);
    expect(p.exemplar()).toBeNull();
    expect(p.hasTimestamp()).toBe(false);
    expect(p.createdTimestamp()).toBe(1_600_000_000_250);
    expect(p.next()).toBe(Entry.Type);
    expect(p.next()).toBe(Entry.Series);
    expect(p.createdTimestamp()).toBeNull();
    expect(p.next()).toBe(Entry.EOF);
    expect(p.next()).toBe(Entry.EOF);
  });

  test.each([
    ['no # EOF', 'a 1\n', 2, 1, /expected "# EOF" at end of data, got end of input/],
    ['data after # EOF', 'a 1\n# EOF\nb 1\n', 3, 1, /expected end of input after "# EOF", got "b"/],
    ['a comment', 'a 1\n# hi\n', 2, 3, /expected HELP, TYPE, UNIT or EOF after "# ", got "hi"/],
    ['an exemplar on a gauge', 'g 1 # {a="b"} 1\n# EOF\n', 1, 5, /expected metric name ending in _total or _bucket for an exemplar, got "g"/],
    ['a bad unit', '# UNIT a_b c\n# EOF\n', 1, 12, /expected unit to be a suffix of metric "a_b" after "_", got "c"/],
    ['a trailing comma', 'a{b="1",} 1\n# EOF\n', 1, 9, /expected label name, got "}"/],
    ['a NaN timestamp', 'a 1 nan\n# EOF\n', 1, 5, /expected finite timestamp, got "nan"/],
  ])('%s is reported with line, column and what was expected', (_n, body, line, column, re) => {
    const p = new OpenMetricsParser(enc(body));
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
  });

  test('newParser picks OpenMetrics by media type whatever the version parameter says', () => {
    expect(newParser(enc('# EOF'), OM)).toBeInstanceOf(OpenMetricsParser);
    expect(newParser(enc('# EOF'), 'application/openmetrics-text; version=9.9.9')).toBeInstanceOf(OpenMetricsParser);
  });
});
