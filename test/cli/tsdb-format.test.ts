import { describe, expect, test } from 'vitest';
import { TabWriter, base2Bytes, formatGoFloat, goDuration, goUnixUTC } from '../../src/cli/tsdb-format.js';
import { parseMetricSelector } from '../../src/cli/tsdb-selector.js';
import { compatibleBlockDuration } from '../../src/cli/tsdb-backfill.js';
import { parseGoDuration } from '../../src/cli/tsdb.js';
import { goQuote } from '../../src/storage/index.js';

describe('Go %g formatting of float64 (fmt.Printf("%g"))', () => {
  test.each<[number, string]>([
    [0, '0'],
    [-0, '-0'],
    [1, '1'],
    [-2.5, '-2.5'],
    [100000, '100000'],
    [123456, '123456'],
    [1e6, '1e+06'],
    [1234567, '1.234567e+06'],
    [0.0001, '0.0001'],
    [0.00001, '1e-05'],
    [0.1, '0.1'],
    [1 / 3, '0.3333333333333333'],
    [1e21, '1e+21'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
    [5e-324, '5e-324'],
    [2 ** 53, '9.007199254740992e+15'],
    [NaN, 'NaN'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
    [320000000, '3.2e+08'],
    [841.4709848078965, '841.4709848078965'],
  ])('%d prints as %s', (v, want) => expect(formatGoFloat(v)).toBe(want));
});

describe('Go time and size formatting', () => {
  test.each<[number, string]>([
    [0, '0s'],
    [1, '1ms'],
    [999, '999ms'],
    [1000, '1s'],
    [30001, '30.001s'],
    [30010, '30.01s'],
    [7200000, '2h0m0s'],
    [7199999, '1h59m59.999s'],
    [5160001, '1h26m0.001s'],
    [-1500, '-1.5s'],
  ])('Duration(%d ms) is %s', (ms, want) => expect(goDuration(ms)).toBe(want));
  test('time.Unix(s, 0).UTC().String()', () => {
    expect(goUnixUTC(1000000)).toBe('1970-01-01 00:16:40 +0000 UTC');
    expect(goUnixUTC(1700000000999)).toBe('2023-11-14 22:13:20 +0000 UTC');
  });
  test.each<[number, string]>([
    [0, '0B'],
    [933, '933B'],
    [1024, '1KiB'],
    [47230, '46KiB126B'],
    [1048576 + 5, '1MiB5B'],
  ])('Base2Bytes(%d) is %s', (n, want) => expect(base2Bytes(n)).toBe(want));
  test('tabwriter pads columns to the widest cell plus 2, at least 13', () => {
    const tw = new TabWriter(13, 2);
    tw.row('BLOCK ULID', 'MIN', 'LAST');
    tw.row('01M80S8XRDHSM6Q7VP9SBHQCZA', '1000000', '933');
    expect(tw.flush()).toBe('BLOCK ULID                  MIN          LAST\n01M80S8XRDHSM6Q7VP9SBHQCZA  1000000      933\n');
  });
});

describe('Go strconv.Quote as used by Labels.String()', () => {
  test.each<[string, string]>([
    ['plain', '"plain"'],
    ['a"b\\c', '"a\\"b\\\\c"'],
    ['\n\t\x07\x01\x7f', '"\\n\\t\\a\\x01\\x7f"'],
    ['héllo ✓ 日本語 😀', '"héllo ✓ 日本語 😀"'],
    ['private \uE000', '"private \\ue000"'],
    ['zero\u200bwidth', '"zero\\u200bwidth"'],
    ['\u{E0001}', '"\\U000e0001"'],
  ])('%j quotes as %s', (s, want) => expect(goQuote(s)).toBe(want));
});

describe('flags', () => {
  test.each<[string, number]>([
    ['0', 0],
    ['6h', 6 * 3600000],
    ['1h30m', 5400000],
    ['90s', 90000],
    ['500ms', 500],
  ])('duration %s', (s, ms) => expect(parseGoDuration(s)).toBe(ms));
  test('bad durations are refused', () => expect(() => parseGoDuration('6x')).toThrow(/invalid duration/));
  test.each<[number, number]>([
    [0, 7200000],
    [7200000, 7200000],
    [6 * 3600000, 6 * 3600000],
    [10 * 3600000, 6 * 3600000],
    [1e15, 7200000 * 3 ** 9],
  ])('max block duration %d gives blocks of %d', (max, want) => expect(compatibleBlockDuration(max)).toBe(want));
});

describe('metric selectors (--match)', () => {
  test('promtool default matches every name, including the empty string', () => {
    const [m] = parseMetricSelector("{__name__=~'(?s:.*)'}");
    expect(m!.matches('a\nb')).toBe(true);
    expect(m!.matches('')).toBe(true);
  });
  test('name and matchers with all four operators and Go string escapes', () => {
    const ms = parseMetricSelector('up{a="x\\"y", b!=`raw\\n`, c=~"f.*", d!~\'z\'}');
    expect(ms.map((m) => m.toString())).toEqual(['__name__="up"', 'a="x\\"y"', 'b!="raw\\\\n"', 'c=~"f.*"', 'd!~"z"']);
  });
  test.each(['{a=}', 'up{', '{a="x"', 'up{a~"x"}', '{a="\\q"}'])('%s is a parse error', (s) => {
    expect(() => parseMetricSelector(s)).toThrow(/parse error/);
  });
});
