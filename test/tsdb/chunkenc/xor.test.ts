import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { ValueType } from '../../../src/storage/index.js';
import { XORChunk, XORIterator, floatHi, floatLo, encodingName, Encoding } from '../../../src/tsdb/chunkenc/index.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const STALE = 'stale';
type V = number | typeof STALE | [number, number];

function build(samples: Array<[number, V]>): XORChunk {
  const c = new XORChunk();
  const a = c.appender();
  for (const [t, v] of samples) {
    if (v === STALE) a.appendStale(t);
    else if (Array.isArray(v)) a.appendBits(t, v[0], v[1]);
    else a.append(t, v);
  }
  return c;
}

function decode(b: Uint8Array): { ts: number[]; hi: number[]; lo: number[]; stale: boolean[]; err: Error | null } {
  const it = new XORIterator(b);
  const out = { ts: [] as number[], hi: [] as number[], lo: [] as number[], stale: [] as boolean[], err: null as Error | null };
  while (it.next() === ValueType.Float) {
    out.ts.push(it.atT());
    out.hi.push(it.atVHi());
    out.lo.push(it.atVLo());
    out.stale.push(it.atStale());
  }
  out.err = it.err();
  return out;
}

describe('XOR chunk bytes equal Prometheus 2.42 (spec §5.2.1)', () => {
  test('three samples (1000000,1) (1015000,2) (1030000,4) encode to the worked example', () => {
    const c = build([
      [1000000, 1],
      [1015000, 2],
      [1030000, 4],
    ]);
    expect(hex(c.bytes())).toBe('000380897a3ff00000000000009875c25fff4004');
    expect(c.numSamples()).toBe(3);
  });

  test('ten samples exercising most branches, Go NaN included, encode to the 59-byte example', () => {
    const c = build([
      [1000, 1],
      [16000, 1],
      [31000, 2],
      [46500, 2.5],
      [61500, 2.5],
      [85500, 3.75],
      [109600, [0x7ff80000, 1]],
      [200000, -1e-300],
      [3000000, 0.1],
      [3000001, 0.1],
    ]);
    expect(hex(c.bytes())).toBe(
      '000ad00f3ff000000000000098753097ffe07d3683be0c611946c0ec03262fbff6000000000001e102fcc1' +
        'eff2eb70fe17c79afc0000000000a561830017c39ef0cb6c2d587fffffffffffaa8d02',
    );
  });

  test('a JS NaN is written as Go math.NaN() bits 0x7ff8000000000001', () => {
    const c = build([[5, NaN]]);
    const d = decode(c.bytes());
    expect(d.hi[0]).toBe(0x7ff80000);
    expect(d.lo[0]).toBe(1);
    expect(d.stale[0]).toBe(false);
  });

  test('a one-sample chunk (t=0, v=0) is 12 bytes ending with the empty trailing byte', () => {
    expect(hex(build([[0, 0]]).bytes())).toBe('000100' + '00'.repeat(8) + '00');
  });

  test('the empty chunk is the two-byte zero header', () => {
    expect(hex(new XORChunk().bytes())).toBe('0000');
    expect(decode(new XORChunk().bytes()).ts).toEqual([]);
  });

  test('encoding names follow Prometheus', () => {
    expect(encodingName(Encoding.XOR)).toBe('XOR');
    expect(encodingName(Encoding.Histogram)).toBe('histogram');
    expect(encodingName(Encoding.FloatHistogram)).toBe('floathistogram');
    expect(encodingName(Encoding.None)).toBe('none');
  });
});

describe('stale markers keep their exact bits', () => {
  test('appendStale writes 0x7ff0000000000002 and the iterator reports atStale', () => {
    const c = build([
      [1000, 1],
      [2000, STALE],
      [3000, 2],
      [4000, STALE],
      [5000, STALE],
    ]);
    const d = decode(c.bytes());
    expect(d.stale).toEqual([false, true, false, true, true]);
    expect(d.hi[1]).toBe(0x7ff00000);
    expect(d.lo[1]).toBe(2);
    const it = c.iterator();
    it.next();
    it.next();
    expect(Number.isNaN(it.atV())).toBe(true);
  });

  test('an ordinary NaN is not stale', () => {
    const d = decode(build([[1, NaN], [2, STALE]]).bytes());
    expect(d.stale).toEqual([false, true]);
  });
});

describe('timestamp delta-of-delta buckets', () => {
  // dod values at each bucket edge: the ranges are asymmetric (-(2^(n-1)-1) .. 2^(n-1)).
  const edges = [0, 1, -1, 8192, -8191, 8193, -8192, 65536, -65535, 65537, -65536, 524288, -524287, 524289, -524288, 2 ** 40, -(2 ** 40)];
  test.each(edges)('a delta-of-delta of %d round-trips', (dod) => {
    const base = 1_700_000_000_000;
    const d1 = 10_000_000_000_000;
    const ts = [base, base + d1, base + d1 + (d1 + dod)];
    const c = build(ts.map((t, i) => [t, i] as [number, number]));
    expect(decode(c.bytes()).ts).toEqual(ts);
  });

  test('negative and decreasing timestamps round-trip like Go int64 arithmetic', () => {
    const ts = [-5000, -1000, 2 ** 50, -(2 ** 50), 7];
    const c = build(ts.map((t) => [t, 1] as [number, number]));
    const d = decode(c.bytes());
    expect(d.ts).toEqual(ts);
    expect(d.err).toBeNull();
  });
});

describe('round trip of arbitrary series', () => {
  const sample = fc.tuple(
    fc.integer({ min: 1, max: 200_000 }),
    fc.oneof(
      fc.double(),
      fc.constantFrom(0, -0, 1, Infinity, -Infinity, Number.MIN_VALUE, Number.MAX_VALUE),
      fc.constant(STALE as V),
      fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff })),
    ),
  );
  test('every timestamp and value bit pattern decodes as appended', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e12, max: 1e13 }), fc.array(sample, { maxLength: 300 }), (t0, steps) => {
        let t = t0;
        const samples: Array<[number, V]> = [];
        for (const [dt, v] of steps) {
          t += dt;
          samples.push([t, v as V]);
        }
        const c = build(samples);
        const d = decode(c.bytes());
        expect(d.err).toBeNull();
        expect(d.ts).toEqual(samples.map((s) => s[0]));
        samples.forEach(([, v], i) => {
          if (v === STALE) expect(d.stale[i]).toBe(true);
          else if (Array.isArray(v)) expect([d.hi[i], d.lo[i]]).toEqual([v[0] >>> 0, v[1] >>> 0]);
          else if (Number.isNaN(v)) expect([d.hi[i], d.lo[i]]).toEqual([0x7ff80000, 1]);
          else expect([d.hi[i], d.lo[i]]).toEqual([floatHi(v), floatLo(v)]);
        });
        expect(c.numSamples()).toBe(samples.length);
      }),
      { numRuns: 300 },
    );
  });

  test('reopening a chunk and appending gives the bytes Go gives (window kept from the iterator)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 100000 }), fc.double()), { minLength: 1, maxLength: 50 }), fc.nat(), (steps, k) => {
        let t = 0;
        const samples = steps.map(([dt, v]) => [(t += dt), v] as [number, number]);
        const cut = k % samples.length;
        const whole = build(samples);
        // Reopen from the bytes after `cut` samples and append the rest.
        const part = build(samples.slice(0, cut));
        const re = XORChunk.fromBytes(part.bytes().slice());
        const a = re.appender();
        for (const [ts, v] of samples.slice(cut)) a.append(ts, v);
        const d1 = decode(whole.bytes());
        const d2 = decode(re.bytes());
        expect(d2.ts).toEqual(d1.ts);
        expect(d2.hi).toEqual(d1.hi);
        expect(d2.lo).toEqual(d1.lo);
        // Byte identity holds except after exactly one sample (Go's reopened window is (0,0), not the sentinel).
        if (cut !== 1) expect(hex(re.bytes())).toBe(hex(whole.bytes()));
      }),
      { numRuns: 200 },
    );
  });
});

describe('iterator seek and reuse', () => {
  const c = build([
    [10, 1],
    [20, 2],
    [30, 3],
    [40, 4],
  ]);
  test.each([
    [0, 10],
    [10, 10],
    [11, 20],
    [40, 40],
  ])('seek(%d) lands on the first sample at or after it (%d)', (t, want) => {
    const it = c.iterator();
    expect(it.seek(t)).toBe(ValueType.Float);
    expect(it.atT()).toBe(want);
  });
  test('seek past the end returns None and never goes backwards', () => {
    const it = c.iterator();
    expect(it.seek(41)).toBe(ValueType.None);
    const it2 = c.iterator();
    it2.seek(30);
    expect(it2.seek(10)).toBe(ValueType.Float);
    expect(it2.atT()).toBe(30);
  });
  test('iterator(reuse) resets and returns the same object', () => {
    const it = c.iterator();
    while (it.next()) {
      /* drain */
    }
    const it2 = build([[5, 5]]).iterator(it);
    expect(it2).toBe(it);
    expect(it2.next()).toBe(ValueType.Float);
    expect(it2.atT()).toBe(5);
  });
});

describe('corrupt chunks give typed errors, never a crash or a hang', () => {
  test('truncated data reports MM_ERR_CHUNK_TRUNCATED with the sample number', () => {
    const b = build([
      [1000, 1],
      [2000, 1.5],
      [3500, 99.25],
    ]).bytes();
    const d = decode(b.subarray(0, b.length - 4));
    expect(d.err).not.toBeNull();
    expect((d.err as { code?: string }).code).toBe('MM_ERR_CHUNK_TRUNCATED');
    expect(d.err!.message).toMatch(/sample \d+ of 3/);
  });

  test('random bytes decode to at most 65535 samples or a typed error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        const it = new XORIterator(b);
        let n = 0;
        while (it.next() === ValueType.Float) n++;
        expect(n).toBeLessThanOrEqual(65535);
        const e = it.err();
        if (e !== null) expect((e as { code?: string }).code).toMatch(/^MM_ERR_CHUNK_/);
      }),
      { numRuns: 2000 },
    );
  });

  test('bit flips in valid chunks never throw', () => {
    const base = build(Array.from({ length: 120 }, (_, i) => [1_700_000_000_000 + i * 15000 + (i % 7) * 3, Math.sin(i) * 1000] as [number, number])).bytes();
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(base.length * 8 - 1)), { minLength: 1, maxLength: 4 }), (flips) => {
        const b = base.slice();
        for (const [bit] of flips) b[bit >>> 3]! ^= 0x80 >>> (bit & 7);
        const it = new XORIterator(b);
        while (it.next() === ValueType.Float) {
          expect(Number.isSafeInteger(it.atT())).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
