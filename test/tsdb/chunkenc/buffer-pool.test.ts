import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { BufferPool, XORChunk, XORIterator } from '../../../src/tsdb/chunkenc/index.js';
import { ValueType } from '../../../src/storage/index.js';

describe('buffer pool for open chunks', () => {
  test.each([
    ['a request of 1 byte gets the smallest class (64 B)', 1, 64],
    ['a request of exactly a class size gets that class', 128, 128],
    ['a request just above a class gets the next one', 129, 256],
    ['the largest pooled class is 4 KiB', 4096, 4096],
    ['larger requests get a plain buffer of the requested size', 5000, 5000],
  ])('%s', (_name, n, want) => {
    const p = new BufferPool();
    const b = p.get(n);
    expect(b.length).toBe(want);
    expect(b.every((x) => x === 0)).toBe(true);
  });

  test('a released buffer is handed out again, zeroed, and views never overlap', () => {
    const p = new BufferPool();
    const a = p.get(128);
    const b = p.get(128);
    a.fill(7);
    b.fill(9);
    expect(a.every((x) => x === 7)).toBe(true);
    p.put(a);
    const c = p.get(100);
    expect(c).toBe(a);
    expect(c.every((x) => x === 0)).toBe(true);
    expect(b.every((x) => x === 9)).toBe(true);
  });

  test('buffers not from a pool slab are ignored by put', () => {
    const p = new BufferPool();
    p.put(new Uint8Array(128));
    const b = p.get(128);
    expect(b.buffer.byteLength).toBe(64 * 1024);
  });

  test('XOR chunks on pooled buffers encode byte-identically to plain chunks, across growth and reuse', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.tuple(fc.integer({ min: 0, max: 100_000 }), fc.double()), { maxLength: 300 }), { maxLength: 8 }), (runs) => {
        const pool = new BufferPool();
        for (const run of runs) {
          const plain = new XORChunk();
          const pooled = new XORChunk(pool);
          const ap = plain.appender();
          const aq = pooled.appender();
          let t = 1_700_000_000_000;
          for (const [dt, v] of run) {
            t += dt;
            ap.append(t, v);
            aq.append(t, v);
          }
          expect(Buffer.from(pooled.bytes()).equals(Buffer.from(plain.bytes()))).toBe(true);
          const it = new XORIterator(pooled.bytes());
          let n = 0;
          while (it.next() === ValueType.Float) n++;
          expect(n).toBe(run.length);
          pooled.release();
          expect(pooled.bytes().length).toBe(0);
        }
      }),
      { numRuns: 200, seed: 5 },
    );
  });
});
