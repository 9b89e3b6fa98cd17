import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { Encbuf, Decbuf, crc32c, crc32cUpdate, uvarintSize } from '../../../src/tsdb/encoding/index.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('crc32c', () => {
  test('check value of "123456789" is 0xE3069283 (Castagnoli)', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  });
  test('empty input is 0', () => expect(crc32c(new Uint8Array(0))).toBe(0));
  test('incremental update equals one-shot for any split', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), (b, cut) => {
        const k = b.length === 0 ? 0 : cut % (b.length + 1);
        expect(crc32cUpdate(crc32c(b, 0, k), b, k)).toBe(crc32c(b));
      }),
    );
  });
});

describe('varints match Go encoding/binary', () => {
  test.each([
    [0, '00'],
    [1, '01'],
    [127, '7f'],
    [128, '8001'],
    [300, 'ac02'],
    [2 ** 31, '8080808008'],
    [2 ** 53 - 1, 'ffffffffffffff0f'],
  ])('uvarint(%d) is %s', (x, want) => {
    const e = new Encbuf(1);
    e.putUvarint(x);
    expect(hex(e.get())).toBe(want);
    expect(uvarintSize(x)).toBe(want.length / 2);
    const d = new Decbuf(e.get());
    expect(d.uvarint()).toBe(x);
    expect(d.err).toBeNull();
  });

  test.each([
    [0, '00'],
    [-1, '01'],
    [1, '02'],
    [-2, '03'],
    [-64, '7f'],
    [64, '8001'],
    [-(2 ** 40), 'ffffffffff3f'],
  ])('varint(%d) is %s', (x, want) => {
    const e = new Encbuf(1);
    e.putVarint(x);
    expect(hex(e.get())).toBe(want);
    expect(new Decbuf(e.get()).varint()).toBe(x);
  });

  // Zigzag doubles the magnitude, so varints are exact for |x| < 2^52 (ms timestamps are ~2^41).
  test('round-trips every integer below 2^52', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 52) + 1, max: 2 ** 52 - 1 }), (x) => {
        const e = new Encbuf(1);
        e.putVarint(x);
        e.putUvarint(Math.abs(x));
        e.putBE64Int(x);
        const d = new Decbuf(e.get());
        expect(d.varint()).toBe(x);
        expect(d.uvarint()).toBe(Math.abs(x));
        expect(d.be64Int()).toBe(x);
        expect(d.err).toBeNull();
      }),
    );
  });

  test('putBE64Int writes two-s complement like Go', () => {
    const e = new Encbuf();
    e.putBE64Int(-1);
    e.putBE64Int(-2);
    expect(hex(e.get())).toBe('ffffffffffffffff' + 'fffffffffffffffe');
  });
});

describe('Decbuf sticky errors', () => {
  test('running off the end records an error with the offset and later reads return 0', () => {
    const d = new Decbuf(Uint8Array.from([1, 2, 3]), 0, 3, 100);
    expect(d.be16()).toBe(0x0102);
    expect(d.be32()).toBe(0);
    expect(d.err?.code).toBe('MM_ERR_INVALID_SIZE');
    expect(d.err?.offset).toBe(102);
    expect(d.byte()).toBe(0);
  });
  test('a uvarint above 2^53 is an error, not a wrong number', () => {
    const d = new Decbuf(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]));
    d.uvarint();
    expect(d.err?.code).toBe('MM_ERR_UNSAFE_INTEGER');
  });
  test('a truncated uvarint is an error', () => {
    const d = new Decbuf(Uint8Array.from([0x80, 0x80]));
    d.uvarint();
    expect(d.err?.code).toBe('MM_ERR_INVALID_VARINT');
  });
  test('strings: ASCII and UTF-8', () => {
    const e = new Encbuf(1);
    e.putUvarintStr('abc');
    e.putUvarintStr('é€😀');
    const d = new Decbuf(e.get());
    expect(d.uvarintStr()).toBe('abc');
    expect(d.uvarintStr()).toBe('é€😀');
    expect(d.err).toBeNull();
  });
  test('random bytes never throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        const d = new Decbuf(b);
        while (d.len() > 0 && d.err === null) {
          d.uvarint();
          d.varint();
          d.uvarintStr();
          d.be64();
        }
      }),
    );
  });
});
