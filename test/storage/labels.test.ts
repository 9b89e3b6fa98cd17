import { describe, expect, test } from 'vitest';
import { Labels, LabelsBuilder, compareLabels, goQuote } from '../../src/storage/labels.js';
import { Matcher, MatchType } from '../../src/storage/matcher.js';

describe('Labels', () => {
  test('builder sorts by name, drops empty values and keeps the last write', () => {
    const l = new LabelsBuilder().set('b', '2').set('a', '1').set('c', '').set('b', '3').labels();
    expect(l.pairs).toEqual(['a', '1', 'b', '3']);
    expect(l.get('b')).toBe('3');
    expect(l.get('zz')).toBe('');
  });

  test.each([
    ['{a="1"} sorts before {a="2"}', Labels.fromPairs('a', '1'), Labels.fromPairs('a', '2'), -1],
    ['a shorter prefix set sorts first', Labels.fromPairs('a', '1'), Labels.fromPairs('a', '1', 'b', '1'), -1],
    ['equal sets compare as 0', Labels.fromPairs('a', '1', 'b', '2'), Labels.fromPairs('b', '2', 'a', '1'), 0],
  ])('%s', (_name, a, b, want) => {
    expect(Math.sign(compareLabels(a, b))).toBe(want);
    expect(Math.sign(compareLabels(b, a))).toBe(want === 0 ? 0 : -want);
  });

  test('toString quotes values like Go %q', () => {
    expect(Labels.fromPairs('__name__', 'up', 'job', 'a"b\\c\n').toString()).toBe('{__name__="up", job="a\\"b\\\\c\\n"}');
    expect(goQuote('\x01')).toBe('"\\x01"');
  });
});

describe('Matcher', () => {
  test.each([
    [MatchType.Equal, 'a', 'a', true],
    [MatchType.NotEqual, 'a', 'a', false],
    [MatchType.Regexp, 'a|b', 'b', true],
    [MatchType.Regexp, 'a', 'ab', false],
    [MatchType.Regexp, '.*', '', true],
    [MatchType.NotRegexp, '.+', '', true],
    [MatchType.Regexp, '\\Qa.b\\E', 'a.b', true],
    [MatchType.Regexp, '\\Qa.b\\E', 'axb', false],
    [MatchType.Regexp, '(?i)abc', 'ABC', true],
    [MatchType.Regexp, 'a.c', 'a\nc', false],
  ] as const)('type %i %s on %j is %s', (type, re, s, want) => {
    expect(new Matcher(type, 'x', re).matches(s)).toBe(want);
  });

  test('rejects what RE2 rejects', () => {
    expect(() => new Matcher(MatchType.Regexp, 'x', '(a)\\1')).toThrow(/backreferences/);
    expect(() => new Matcher(MatchType.Regexp, 'x', '(?=a)')).toThrow(/lookaround/);
    expect(() => new Matcher(MatchType.Regexp, 'x', '(')).toThrow(/invalid regular expression/);
  });
});

describe('compareStrings', () => {
  test.each([
    ['a', 'b', -1],
    ['ab', 'a', 1],
    ['\ue000', '\u{1f600}', -1], // U+E000 (EE 80 80) < U+1F600 (F0 9F 98 80) in UTF-8, though not in UTF-16
    ['\uffff', '\u{10000}', -1],
    ['\u{1f600}', '\u{1f601}', -1],
    ['z', '\ue000', -1],
  ])('%j vs %j is %i (UTF-8 byte order)', (a, b, want) => {
    expect(compareLabels(Labels.fromPairs('x', a), Labels.fromPairs('x', b))).toBe(want);
    expect(Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)))).toBe(want);
  });
});
