import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { BitReader, BitWriter } from '../../../src/tsdb/chunkenc/index.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('bit stream (Go bstream semantics)', () => {
  test('writeByte at a byte boundary leaves the extra empty byte Go keeps', () => {
    const w = new BitWriter(4);
    w.writeByte(0xab);
    expect(hex(w.bytes())).toBe('ab00');
    w.writeBit(1);
    expect(hex(w.bytes())).toBe('ab80');
    w.writeBits(0b101, 3);
    expect(hex(w.bytes())).toBe('abd0');
  });

  test('writeBits of a multiple of 8 off a boundary adds no extra byte', () => {
    const w = new BitWriter(4);
    w.writeBit(1);
    w.writeBits(0xff, 8);
    expect(hex(w.bytes())).toBe('ff80');
  });

  test('64-bit writes split across halves', () => {
    const w = new BitWriter(2);
    w.writeBits64(0x3ff00000, 0x00000001, 64);
    expect(hex(w.bytes())).toBe('3ff000000000000100');
  });

  test('whatever is written reads back, for any mix of widths', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 32 }), fc.integer({ min: 0, max: 0xffffffff })), { maxLength: 200 }), (ops) => {
        const w = new BitWriter(8);
        for (const [n, v] of ops) w.writeBits(v, n);
        const r = new BitReader(w.bytes());
        for (const [n, v] of ops) expect(r.readBits(n)).toBe(n === 32 ? v >>> 0 : (v & (2 ** n - 1)) >>> 0);
        expect(r.eof).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  test('reading past the end sets eof and returns 0', () => {
    const r = new BitReader(new Uint8Array([0xff]));
    expect(r.readBits(4)).toBe(15);
    expect(r.readBits(8)).toBe(0);
    expect(r.eof).toBe(true);
  });
});
