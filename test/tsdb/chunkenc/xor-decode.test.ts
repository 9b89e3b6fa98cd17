/**
 * The word-peeking XOR decoder (xor-iterator.ts) against an independent reference: a
 * bit-at-a-time BigInt transcription of Go's `xorIterator` (tsdb/chunkenc/xor.go,
 * 2.42), over random series built to reach every branch of the fast paths — value
 * windows of every (leading, significant) shape reused or new, every delta-of-delta
 * bucket edge, 1-sample chunks, NaN payloads, stale markers, ±Inf — and over truncated
 * and bit-flipped chunks, where both must stop at the same sample.
 */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { STALE_NAN_HI, STALE_NAN_LO, ValueType } from '../../../src/storage/index.js';
import { XORChunk, XORIterator } from '../../../src/tsdb/chunkenc/index.js';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

interface Decoded {
  ts: number[];
  hi: number[];
  lo: number[];
  /** Whether decoding ended with an error. */
  failed: boolean;
  /** Bit position after the last sample (valid chunks only). */
  endBit: number;
}

/** Go's xorIterator, one bit at a time, with BigInt for every 64-bit quantity. */
function referenceDecode(b: Uint8Array): Decoded {
  const out: Decoded = { ts: [], hi: [], lo: [], failed: false, endBit: 16 };
  if (b.length < 2) {
    out.failed = b.length !== 0;
    return out;
  }
  const endBits = b.length * 8;
  let pos = 16;
  class Eof extends Error {}
  const bit = (): number => {
    if (pos >= endBits) throw new Eof();
    const v = ((b[pos >>> 3] as number) >>> (7 - (pos & 7))) & 1;
    pos++;
    return v;
  };
  const bits = (n: number): bigint => {
    let x = 0n;
    for (let i = 0; i < n; i++) x = (x << 1n) | BigInt(bit());
    return x;
  };
  const uvarint = (): bigint | null => {
    let x = 0n;
    for (let i = 0; i < 10; i++) {
      const c = Number(bits(8));
      if (i === 9 && c > 1) return null; // overflows a uint64
      x |= BigInt(c & 0x7f) << BigInt(7 * i);
      if (c < 0x80) return x;
    }
    return null;
  };
  const total = ((b[0] as number) << 8) | (b[1] as number);
  let t = 0n;
  let tDelta = 0n;
  let v = 0n;
  let leading = 0;
  let trailing = 0;
  try {
    for (let k = 0; k < total; k++) {
      if (k === 0) {
        const u = uvarint();
        if (u === null) throw new Eof();
        t = (u >> 1n) ^ -(u & 1n); // zigzag
        v = bits(64);
      } else {
        if (k === 1) {
          const u = uvarint();
          if (u === null) throw new Eof();
          tDelta = BigInt.asIntN(64, u);
        } else {
          let d = 0;
          for (let i = 0; i < 4; i++) {
            d <<= 1;
            if (bit() === 0) break;
            d |= 1;
          }
          const sz = d === 0 ? 0 : d === 0b10 ? 14 : d === 0b110 ? 17 : d === 0b1110 ? 20 : 64;
          let dod = 0n;
          if (sz === 64) dod = BigInt.asIntN(64, bits(64));
          else if (sz > 0) {
            dod = bits(sz);
            if (dod > 1n << BigInt(sz - 1)) dod -= 1n << BigInt(sz);
          }
          if (dod > MAX_SAFE || dod < -MAX_SAFE) throw new Eof();
          tDelta += dod;
        }
        t += tDelta;
        if (bit() === 1) {
          if (bit() === 1) {
            leading = Number(bits(5));
            let sig = Number(bits(6));
            if (sig === 0) sig = 64;
            if (leading + sig > 64) throw new Eof(); // Go would wrap a uint8; we call it corrupt
            trailing = 64 - leading - sig;
          }
          const sig = 64 - leading - trailing;
          v ^= bits(sig) << BigInt(trailing);
        }
      }
      if (t > MAX_SAFE || t < -MAX_SAFE) throw new Eof();
      out.ts.push(Number(t));
      out.hi.push(Number(v >> 32n));
      out.lo.push(Number(v & 0xffffffffn));
      out.endBit = pos;
    }
  } catch (e) {
    if (!(e instanceof Eof)) throw e;
    out.failed = true;
  }
  return out;
}

function ourDecode(it: XORIterator, b: Uint8Array): Decoded {
  it.reset(b);
  const out: Decoded = { ts: [], hi: [], lo: [], failed: false, endBit: 16 };
  while (it.next() === ValueType.Float) {
    out.ts.push(it.atT());
    out.hi.push(it.atVHi());
    out.lo.push(it.atVLo());
  }
  out.failed = it.err() !== null;
  out.endBit = it.endBitPos();
  return out;
}

/**
 * A timestamp step as a delta-of-delta: steady scrapes (0), jitter, every bucket edge
 * (the encoder's ranges are [-(2^(n-1)-1), 2^(n-1)] for n = 14, 17, 20), huge gaps.
 */
const dodStep = fc.oneof(
  { weight: 6, arbitrary: fc.constant(0) },
  { weight: 2, arbitrary: fc.integer({ min: -1000, max: 1000 }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(-8191, -8192, 8192, 8193, -65535, -65536, 65536, 65537, -524287, -524288, 524288, 524289, 2 ** 20, 2 ** 31, 2 ** 40),
  },
  { weight: 1, arbitrary: fc.integer({ min: -(2 ** 45), max: 2 ** 45 }) },
);

/**
 * A value change as XOR bits within a window of `sig` significant bits starting after
 * `lead` leading zeros (every shape the fast paths split on: ≤18, ≤29, ≤32, >32 bits,
 * trailing 0, <32, ≥32), or a special value.
 */
type Change = { kind: 'same' } | { kind: 'xor'; lead: number; sig: number; hi: number; lo: number } | { kind: 'bits'; hi: number; lo: number };
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const change: fc.Arbitrary<Change> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'same' } as Change) },
  {
    weight: 6,
    arbitrary: fc
      .tuple(fc.integer({ min: 0, max: 63 }), fc.integer({ min: 1, max: 64 }), u32, u32)
      .map(([lead, s, hi, lo]) => ({ kind: 'xor', lead, sig: Math.min(s, 64 - lead), hi, lo }) as Change),
  },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom<[number, number]>(
        [STALE_NAN_HI, STALE_NAN_LO],
        [0x7ff80000, 1], // Go math.NaN()
        [0x7ff80000, 0], // JS NaN
        [0xfff00000, 0xdeadbeef], // NaN with payload, sign set
        [0x7ff00000, 0], // +Inf
        [0xfff00000, 0], // -Inf
        [0, 0],
        [0x80000000, 0], // -0
        [0x7fefffff, 0xffffffff], // MAX_VALUE
        [0, 1], // MIN_VALUE
      )
      .map(([hi, lo]) => ({ kind: 'bits', hi, lo }) as Change),
  },
);

/** Applies a window change to (hi, lo): XOR with `sig` random bits placed after `lead` zeros. */
function applyXor(hi: number, lo: number, c: Extract<Change, { kind: 'xor' }>): [number, number] {
  let x = (BigInt(c.hi >>> 0) << 32n) | BigInt(c.lo >>> 0);
  const trailing = 64 - c.lead - c.sig;
  x = (x & ((1n << BigInt(c.sig)) - 1n)) | (1n << BigInt(c.sig - 1)); // top bit of the window set
  x <<= BigInt(trailing);
  const v = ((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)) ^ x;
  return [Number(v >> 32n), Number(v & 0xffffffffn)];
}

const series = fc.record({
  t0: fc.oneof(fc.integer({ min: -(2 ** 45), max: 2 ** 45 }), fc.constant(1_700_000_000_000)),
  v0: fc.tuple(u32, u32),
  d0: fc.oneof(fc.constant(15_000), fc.integer({ min: 1, max: 2 ** 40 })),
  steps: fc.array(fc.tuple(dodStep, change), { minLength: 0, maxLength: 260 }),
});

function buildSeries(s: { t0: number; d0?: number; v0: [number, number]; steps: Array<[number, Change]> }): { chunk: XORChunk; ts: number[]; hi: number[]; lo: number[] } {
  const chunk = new XORChunk();
  const app = chunk.appender();
  let t = s.t0;
  let [hi, lo] = s.v0;
  const ts = [t];
  const his = [hi];
  const los = [lo];
  app.appendBits(t, hi, lo);
  let delta = s.d0 ?? 15_000;
  let first = true;
  for (const [dod, c] of s.steps) {
    // Timestamps stay strictly increasing: a dod that would make the delta < 1 is dropped.
    if (!first && delta + dod >= 1) delta += dod;
    first = false;
    t += delta;
    if (c.kind === 'xor') [hi, lo] = applyXor(hi, lo, c);
    else if (c.kind === 'bits') [hi, lo] = [c.hi >>> 0, c.lo >>> 0];
    app.appendBits(t, hi, lo);
    ts.push(t);
    his.push(hi);
    los.push(lo);
  }
  return { chunk, ts, hi: his, lo: los };
}

describe('XOR decoder agrees with a bit-at-a-time transcription of Go', () => {
  const it = new XORIterator(new Uint8Array(0));

  test('random series decode to exactly the appended timestamps and value bits', () => {
    fc.assert(
      fc.property(series, (s) => {
        const { chunk, ts, hi, lo } = buildSeries(s);
        const got = ourDecode(it, chunk.bytes());
        expect(got.failed).toBe(false);
        expect(got.ts).toEqual(ts);
        expect(got.hi).toEqual(hi);
        expect(got.lo).toEqual(lo);
        const ref = referenceDecode(chunk.bytes());
        expect(ref).toEqual(got);
      }),
      { numRuns: 400 },
    );
  });

  test('one-sample chunks of any value decode', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 52), max: 2 ** 52 }), u32, u32, (t, hi, lo) => {
        const { chunk } = buildSeries({ t0: t, v0: [hi, lo], steps: [] });
        const got = ourDecode(it, chunk.bytes());
        expect(got).toEqual({ ts: [t], hi: [hi], lo: [lo], failed: false, endBit: referenceDecode(chunk.bytes()).endBit });
      }),
      { numRuns: 200 },
    );
  });

  test('stale markers, NaN payloads and infinities keep their bits and atStale is exact', () => {
    const c = new XORChunk();
    const a = c.appender();
    a.append(1000, 1);
    a.appendStale(16_000);
    a.appendBits(31_000, 0x7ff00000, 0x00000003); // a NaN one bit away from StaleNaN
    a.append(46_000, Infinity);
    a.append(61_000, -Infinity);
    a.appendStale(76_000);
    a.append(91_000, NaN);
    const x = new XORIterator(c.bytes());
    const got: Array<[number, boolean, number, number]> = [];
    while (x.next() === ValueType.Float) got.push([x.atT(), x.atStale(), x.atVHi(), x.atVLo()]);
    expect(got).toEqual([
      [1000, false, 0x3ff00000, 0],
      [16_000, true, STALE_NAN_HI, STALE_NAN_LO],
      [31_000, false, 0x7ff00000, 3],
      [46_000, false, 0x7ff00000, 0],
      [61_000, false, 0xfff00000, 0],
      [76_000, true, STALE_NAN_HI, STALE_NAN_LO],
      [91_000, false, 0x7ff80000, 1],
    ]);
  });

  test('truncated and bit-flipped chunks stop at the same sample as the reference, with an error', () => {
    fc.assert(
      fc.property(series, fc.nat(), fc.nat(), fc.boolean(), (s, a, b, truncate) => {
        const bytes = buildSeries(s).chunk.bytes().slice();
        let mutated: Uint8Array;
        if (truncate) mutated = bytes.subarray(0, a % (bytes.length + 1));
        else {
          const k = a % (bytes.length * 8);
          mutated = bytes;
          mutated[k >>> 3] = (mutated[k >>> 3] as number) ^ (0x80 >>> (k & 7));
          if (b % 3 === 0) {
            const k2 = b % (bytes.length * 8);
            mutated[k2 >>> 3] = (mutated[k2 >>> 3] as number) ^ (0x80 >>> (k2 & 7));
          }
        }
        const ref = referenceDecode(mutated);
        const got = ourDecode(it, mutated);
        expect(got.ts).toEqual(ref.ts);
        expect(got.hi).toEqual(ref.hi);
        expect(got.lo).toEqual(ref.lo);
        expect(got.failed).toBe(ref.failed);
        if (!ref.failed) expect(got.endBit).toBe(ref.endBit);
      }),
      { numRuns: 600 },
    );
  });

  test('random bytes behave like the reference', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 120 }), fc.integer({ min: 0, max: 40 }), (body, count) => {
        const b = new Uint8Array(body.length + 2);
        b[1] = count;
        b.set(body, 2);
        const ref = referenceDecode(b);
        const got = ourDecode(it, b);
        expect({ ...got, endBit: 0 }).toEqual({ ...ref, endBit: 0 });
      }),
      { numRuns: 1000 },
    );
  });

  test('a chunk inside a larger buffer decodes the same as a copy (resetRange)', () => {
    fc.assert(
      fc.property(series, fc.uint8Array({ maxLength: 9 }), fc.uint8Array({ maxLength: 9 }), (s, pre, post) => {
        const bytes = buildSeries(s).chunk.bytes();
        const buf = new Uint8Array(pre.length + bytes.length + post.length);
        buf.set(pre, 0);
        buf.set(bytes, pre.length);
        buf.set(post.map((x) => x | 0x55), pre.length + bytes.length);
        const x = new XORIterator(new Uint8Array(0));
        x.resetRange(buf, pre.length, pre.length + bytes.length);
        const ts: number[] = [];
        while (x.next() === ValueType.Float) ts.push(x.atT());
        expect(x.err()).toBeNull();
        expect(ts).toEqual(ourDecode(it, bytes).ts);
      }),
      { numRuns: 200 },
    );
  });
});
