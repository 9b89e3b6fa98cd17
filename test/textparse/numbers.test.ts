import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { goParseMediaType, isValidUTF8, parseGoFloat, parseGoInt64, seriesKey } from '../../src/textparse/index.js';
import { numStatus } from '../../src/textparse/numbers.js';

const RUNS = process.env['MM_SOAK'] ? 50_000 : 2_000;
const TIMEOUT = process.env['MM_SOAK'] ? 1_800_000 : 60_000;
const enc = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

/** parseGoFloat on a string: the value, or an error name. */
function pf(s: string): number | string {
  const v = parseGoFloat(enc(s), 0, s.length);
  return numStatus === 0 ? v : ['ok', 'syntax', 'range', 'unsupported'][numStatus]!;
}

describe('Go ParseFloat as Prometheus calls it', () => {
  test.each([
    ['1', 1],
    ['-1.5', -1.5],
    ['.5', 0.5],
    ['5.', 5],
    ['0042', 42],
    ['1E-03', 0.001],
    ['+3', 3],
    ['-0', -0],
    ['1e-400', 0],
    ['-1e-400', -0],
    ['4.9e-324', 5e-324],
    ['2.5e-324', 5e-324],
    ['2.4e-324', 0],
    ['1.7976931348623157e308', 1.7976931348623157e308],
    ['25.333000000000002', 25.333000000000002],
    ['9007199254740993', 9007199254740992],
    ['123456789012345678901234567890', 1.2345678901234568e29],
    ['0.1', 0.1],
    ['0e99999999999', 0],
    ['Inf', Infinity],
    ['-infinity', -Infinity],
    ['+INF', Infinity],
    ['nan', NaN],
    ['NaN', NaN],
    ['1e400', 'range'],
    ['-1e400', 'range'],
    ['1.7976931348623159e308', 'range'],
    ['1e99999999999', 'range'],
    ['+nan', 'syntax'],
    ['-NaN', 'syntax'],
    ['infin', 'syntax'],
    ['infinityx', 'syntax'],
    ['.', 'syntax'],
    ['', 'syntax'],
    ['+', 'syntax'],
    ['1e', 'syntax'],
    ['1e+', 'syntax'],
    ['1.2.3', 'syntax'],
    ['0x10', 'syntax'],
    ['0x', 'syntax'],
    ['1 ', 'syntax'],
    ['1\r', 'syntax'],
    ['0x1p3', 'unsupported'],
    ['1_000', 'unsupported'],
    ['nap', 'unsupported'],
    ['1P', 'unsupported'],
  ] as const)('%j → %s', (s, want) => {
    const got = pf(s);
    if (typeof want === 'number') expect(Object.is(got, want) || (Number.isNaN(want) && Number.isNaN(got as number))).toBe(true);
    else expect(got).toBe(want);
  });

  test('every finite double reads back from its JS spellings', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (v) => {
        for (const s of [String(v), v.toExponential(), v.toPrecision(17), v.toExponential(20)]) expect(Object.is(pf(s), v) || Object.is(Number(s), pf(s))).toBe(true);
      }),
      { numRuns: RUNS, seed: 7 },
    );
  }, TIMEOUT);

  test('agrees with a regular-expression model of Go decimal syntax on random strings', () => {
    const goDecimal = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
    const special = /^([+-]?(inf|infinity)|nan)$/i;
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'0123456789.eE+-_xpPnaNIifty '.split('')), maxLength: 10 }), (s) => {
        const got = pf(s);
        if (/[pP_]/.test(s)) expect(got).toBe('unsupported');
        else if (special.test(s)) expect(typeof got).toBe('number');
        else if (!goDecimal.test(s)) expect(got).toBe('syntax');
        else if (!Number.isFinite(Number(s))) expect(got).toBe('range');
        else expect(Object.is(got, Number(s))).toBe(true);
      }),
      { numRuns: RUNS, seed: 8 },
    );
  }, TIMEOUT);
});

describe('Go ParseInt for 0.0.4 timestamps', () => {
  test.each([
    ['0', 0],
    ['000000000000000000000000001', 1],
    ['1700000000123', 1_700_000_000_123],
    ['9007199254740993', 9007199254740992],
    ['9223372036854775807', 2 ** 63], // nearest double
    ['09223372036854775807', 2 ** 63],
    ['9223372036854775808', 'range'],
    ['99999999999999999999', 'range'],
  ] as const)('%s → %s', (s, want) => {
    const v = parseGoInt64(enc(s), 0, s.length);
    expect(numStatus === 0 ? v : 'range').toBe(want);
  });
});

describe('UTF-8 validity as Go utf8.Valid', () => {
  test.each([
    ['ASCII', [0x61, 0x62], true],
    ['2-byte é', [0xc3, 0xa9], true],
    ['4-byte emoji', [0xf0, 0x9f, 0x98, 0x80], true],
    ['U+10FFFF', [0xf4, 0x8f, 0xbf, 0xbf], true],
    ['above U+10FFFF', [0xf4, 0x90, 0x80, 0x80], false],
    ['overlong 2-byte', [0xc0, 0xaf], false],
    ['overlong 3-byte', [0xe0, 0x80, 0xaf], false],
    ['surrogate', [0xed, 0xa0, 0x80], false],
    ['truncated', [0xe2, 0x82], false],
    ['lone continuation', [0x80], false],
    ['0xff', [0xff], false],
  ])('%s is %s', (_n, bytes, want) => {
    expect(isValidUTF8(new Uint8Array(bytes as number[]))).toBe(want);
  });

  test('agrees with Node’s validator on random bytes and on subranges', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.nat(), fc.nat(), (b, x, y) => {
        expect(isValidUTF8(b)).toBe(isUtf8(b));
        const s = b.length === 0 ? 0 : x % b.length;
        const e = s + (b.length === 0 ? 0 : y % (b.length - s + 1));
        expect(isValidUTF8(b, s, e)).toBe(isUtf8(b.subarray(s, e)));
      }),
      { numRuns: RUNS, seed: 9 },
    );
  }, TIMEOUT);
});

describe('seriesKey', () => {
  test('keys are equal exactly when the series bytes are', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), (a, b) => {
        expect(seriesKey(a) === seriesKey(b)).toBe(Buffer.from(a).equals(Buffer.from(b)));
        expect(seriesKey(a)).toBe(seriesKey(new Uint8Array(a)));
      }),
      { numRuns: RUNS, seed: 10 },
    );
  }, TIMEOUT);
});

describe('Go mime.ParseMediaType as Prometheus uses it', () => {
  test.each([
    ['application/openmetrics-text; version=1.0.0', 'application/openmetrics-text'],
    ['Text/Plain', 'text/plain'],
    // Header strings carry one char per byte: a lone 0xA0 byte is invalid UTF-8 to Go
    // (not a space), while C2 A0 is U+00A0, which Go's TrimSpace removes.
    ['\u00a0application/openmetrics-text', null],
    ['\u00c2\u00a0application/openmetrics-text', 'application/openmetrics-text'],
    ['applİcation/openmetrics-text', 'application/openmetrics-text'],
    ['text/plain; a="b\\"c"', 'text/plain'],
    ['text/plain;', 'text/plain'],
    ['text', 'text'],
    ['', null],
    ['/plain', null],
    ['text/', null],
    ['text/plain; a', null],
    ['text/plain; a=1; A=2', null],
    ['text/plain; a="x', null],
  ])('%j → %j', (h, want) => {
    expect(goParseMediaType(h)).toBe(want);
  });
});
