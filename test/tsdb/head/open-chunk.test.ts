/**
 * The head encodes its open chunks in place (MemSeries, no XORChunk/XORAppender/BitWriter):
 * every chunk it produces must be byte-identical to what XORAppender (itself golden-tested
 * against Prometheus's encoder) produces for the same samples, and chunk boundaries must
 * follow Prometheus's cutting rule (cut.ts). Several series share one slab pool and append
 * round robin, so blocks grow, are swapped at cuts and reused by other series meanwhile.
 */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { Labels, NORMAL_NAN_HI, NORMAL_NAN_LO, STALE_NAN_HI, STALE_NAN_LO } from '../../../src/storage/index.js';
import { cutPoints } from '../../../src/tsdb/chunkenc/cut.js';
import { SlabPool } from '../../../src/tsdb/chunkenc/buffer-pool.js';
import { XORChunk } from '../../../src/tsdb/chunkenc/xor.js';
import { floatHi, floatLo } from '../../../src/tsdb/chunkenc/u64.js';
import { ChunkArena } from '../../../src/tsdb/head/chunk-arena.js';
import { AppendResult, MemSeries, META_STRIDE, metaLen, metaSamples } from '../../../src/tsdb/head/mem-series.js';

type Val = { kind: 'f'; v: number } | { kind: 'stale' } | { kind: 'bits'; hi: number; lo: number };

const value: fc.Arbitrary<Val> = fc.oneof(
  fc.constantFrom(0, -0, 1, 1.5, 42, Infinity, -Infinity, NaN, 2 ** 53, -1e-300, Number.MIN_VALUE).map((v) => ({ kind: 'f' as const, v })),
  fc.double().map((v) => ({ kind: 'f' as const, v })),
  fc.integer({ min: -1000, max: 1000 }).map((v) => ({ kind: 'f' as const, v })),
  fc.constant({ kind: 'stale' as const }),
  // Raw patterns, incl. NaN payloads the engine must not touch.
  fc.tuple(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })).map(([hi, lo]) => ({ kind: 'bits' as const, hi, lo })),
);

/** Steps between timestamps: regular, jittered, 0 (a duplicate), large and huge jumps. */
const step = fc.oneof(
  { weight: 6, arbitrary: fc.constant(1000) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 2000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 10_000_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 2 ** 30 }).map((x) => x * 4096) },
);

const start = fc.oneof(
  fc.constant(1_700_000_000_000),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  fc.constantFrom(-(2 ** 50), 2 ** 50, -1, 0),
);

const series = fc.record({
  t0: start,
  samples: fc.array(fc.tuple(step, value, fc.boolean()), { maxLength: 600 }),
});

function bitsOf(v: Val): [number, number, boolean] {
  if (v.kind === 'stale') return [STALE_NAN_HI, STALE_NAN_LO, true];
  if (v.kind === 'bits') return [v.hi, v.lo, false];
  if (v.v !== v.v) return [NORMAL_NAN_HI, NORMAL_NAN_LO, false];
  return [floatHi(v.v), floatLo(v.v), false];
}

/** What XORAppender makes of the samples `[from, to)`. */
function reference(ts: number[], bits: [number, number][], from: number, to: number): Buffer {
  const c = new XORChunk();
  const a = c.appender();
  for (let i = from; i < to; i++) a.appendBits(ts[i] as number, (bits[i] as [number, number])[0], (bits[i] as [number, number])[1]);
  return Buffer.from(c.bytes());
}

describe('open chunks encoded in MemSeries', () => {
  test('every chunk equals XORAppender’s bytes for the same samples, and cuts follow Prometheus', () => {
    fc.assert(
      fc.property(fc.array(series, { minLength: 1, maxLength: 6 }), fc.constantFrom(1000, 60_000, 7_200_000, 2 ** 40), (all, chunkRange) => {
        const arena = new ChunkArena(1 << 16);
        const ss = all.map((_, i) => new MemSeries(i + 1, Labels.fromObject({ i: String(i) }), i));
        const accepted = all.map(() => ({ ts: [] as number[], bits: [] as [number, number][] }));
        const clock = all.map((s) => s.t0);
        const longest = Math.max(...all.map((s) => s.samples.length));
        // Round robin: series interleave their block growth, cuts and reuse of freed blocks.
        for (let k = 0; k < longest; k++) {
          for (let i = 0; i < all.length; i++) {
            const smp = (all[i] as (typeof all)[number]).samples[k];
            if (smp === undefined) continue;
            const [dt, v, repeatLast] = smp;
            const t = (clock[i] as number) + dt;
            if (!Number.isSafeInteger(t)) continue;
            clock[i] = t;
            const acc = accepted[i] as (typeof accepted)[number];
            // Sometimes the same value as before (xor 0 and window reuse paths).
            const [hi, lo, stale] = repeatLast && acc.bits.length > 0 ? [...(acc.bits[acc.bits.length - 1] as [number, number]), false] : bitsOf(v);
            const r = (ss[i] as MemSeries).append(t, hi, lo, stale, chunkRange, arena);
            if (r === AppendResult.Ok) {
              acc.ts.push(t);
              acc.bits.push([hi, lo]);
            } else {
              expect(dt).toBe(0);
            }
          }
        }
        for (let i = 0; i < ss.length; i++) {
          const s = ss[i] as MemSeries;
          const { ts, bits } = accepted[i] as (typeof accepted)[number];
          const starts = cutPoints(ts, ts.length, chunkRange);
          const m = s.cutMeta;
          expect(s.numChunks()).toBe(starts.length);
          for (let c = 0; c < starts.length; c++) {
            const from = starts[c] as number;
            const to = c + 1 < starts.length ? (starts[c + 1] as number) : ts.length;
            const want = reference(ts, bits, from, to);
            let got: Buffer;
            if (c < s.numCut()) {
              const k = c * META_STRIDE;
              expect([m[k], m[k + 1], metaSamples(m[k + 3] as number)]).toEqual([ts[from], ts[to - 1], to - from]);
              got = Buffer.from(arena.read(m[k + 2] as number, metaLen(m[k + 3] as number)));
            } else {
              expect([s.headMint, s.headMaxt, s.headN]).toEqual([ts[from], ts[to - 1], to - from]);
              got = Buffer.from(s.openChunkBytes());
            }
            expect(got.toString('hex')).toBe(want.toString('hex'));
          }
        }
      }),
      { numRuns: 300, seed: 11 },
    );
  });

  test('at a cut a series keeps a block that fits the next chunk, and blocks left behind free their slabs', () => {
    const arena = new ChunkArena(1 << 16);
    const pool = arena.openChunks;
    const N = 2000;
    const ss = Array.from({ length: N }, (_, i) => new MemSeries(i + 1, Labels.fromObject({ i: String(i) }), i));
    const scrape = (k: number): void => {
      for (const s of ss) expect(s.append(k * 1000, 0, 0, false, 120_000, arena)).toBe(AppendResult.Ok);
    };
    for (let k = 0; k < 120; k++) scrape(k);
    // First chunks: 128-byte blocks, 512 per slab (chunk range 2 min: the first cut is at sample 120).
    expect(pool.numSlabs()).toBe(Math.ceil((N * 128) / 65536));
    scrape(120);
    // Constant values: ~2 bits per sample, a 120-sample chunk is ~50 bytes; every series moved
    // to a block of that size class and the slabs of first-chunk blocks went, but one.
    const len = metaLen(ss[0]!.cutMeta[3] as number);
    expect(len).toBeLessThan(64);
    const cap = SlabPool.capFor(len + (len >>> 3) + 4);
    const live = Math.ceil((N * cap) / Math.floor(65536 / cap) / cap);
    expect(pool.numSlabs()).toBe(live + 1);
    for (let k = 121; k < 241; k++) scrape(k);
    // Second cut, same size: blocks kept, no slab taken or dropped.
    expect(ss[0]!.numCut()).toBe(2);
    expect(Math.abs(metaLen(ss[0]!.cutMeta[7] as number) - len)).toBeLessThanOrEqual(4);
    expect(pool.numSlabs()).toBe(live + 1);
    // Truncating every open chunk gives all blocks back: one slab per class remains.
    for (const s of ss) s.truncateChunksBefore(1e9, arena);
    expect(pool.numSlabs()).toBe(2);
  });
});

describe('slab pool packing', () => {
  test('after every cut round the blocks sit in few slabs: at most one partly used slab per class beyond what they need', () => {
    const arena = new ChunkArena(1 << 16);
    const pool = arena.openChunks;
    const N = 6000;
    const ss = Array.from({ length: N }, (_, i) => new MemSeries(i + 1, Labels.fromObject({ i: String(i) }), i));
    let seed = 7;
    const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
    const vals = ss.map(() => 0);
    for (let k = 0; k < 500; k++) {
      for (let i = 0; i < N; i++) {
        // Constant, counter and random-gauge series, a few changing kind over time: blocks of many classes.
        const kind = (i + (k > 250 && i % 7 === 0 ? 1 : 0)) % 3;
        if (kind === 1) vals[i]! += Math.floor(rnd() * 20);
        else if (kind === 2) vals[i] = rnd();
        expect(ss[i]!.append(k * 1000, floatHi(vals[i]!), floatLo(vals[i]!), false, 120_000, arena)).toBe(AppendResult.Ok);
      }
      if (k % 120 === 5) {
        const need = ss.reduce((n, s) => n + s.openChunkCap(), 0);
        const classes = new Set(ss.map((s) => s.openChunkCap())).size;
        // Needed bytes, plus per class one partly used slab and one kept empty first-chunk slab.
        expect(pool.allocatedBytes()).toBeLessThanOrEqual(need + 2 * classes * 65536 + 8 * 65536);
      }
    }
  });
});

describe('slab pool classes', () => {
  test.each([
    ['1 byte gets the smallest block (32 B)', 1, 32],
    ['a class size gets exactly that class', 48, 48],
    ['one byte above a class gets the next (a quarter step)', 129, 160],
    ['the largest pooled block is 4 KiB', 4096, 4096],
    ['above 4 KiB the block is a plain buffer of the requested size', 5000, 5000],
  ])('%s', (_name, n, want) => {
    const p = new SlabPool();
    expect(SlabPool.capFor(n)).toBe(want);
    expect(p.take(n)).toBe(want);
    expect(p.buf.length - p.off).toBeGreaterThanOrEqual(want);
  });

  test('classes are a quarter of a power of two apart and each request gets the smallest that fits', () => {
    const sizes = [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 640, 768, 896, 1024, 1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096];
    for (let n = 1; n <= 4096; n++) expect(SlabPool.capFor(n)).toBe(sizes.find((c) => c >= n));
  });

  test('a given-back block is handed out again zeroed, and blocks never overlap', () => {
    const p = new SlabPool();
    const cap = p.take(100);
    const a = [p.buf, p.off] as const;
    p.take(100);
    const b = [p.buf, p.off] as const;
    expect(a[0] === b[0] && Math.abs(a[1] - b[1]) < cap).toBe(false);
    a[0].fill(7, a[1], a[1] + cap);
    b[0].fill(9, b[1], b[1] + cap);
    p.give(a[0], a[1], cap, cap);
    expect(p.take(100)).toBe(cap);
    expect([p.buf, p.off]).toEqual([a[0], a[1]]);
    expect(p.buf.subarray(p.off, p.off + cap).every((x) => x === 0)).toBe(true);
    expect(b[0].subarray(b[1], b[1] + cap).every((x) => x === 9)).toBe(true);
  });
});
