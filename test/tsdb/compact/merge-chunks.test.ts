import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { XORChunk } from '../../../src/tsdb/chunkenc/index.js';
import type { ChunkMeta } from '../../../src/tsdb/chunks/index.js';
import { ChunkMerger, MERGE_SAMPLES_PER_CHUNK } from '../../../src/tsdb/compact/merge-chunks.js';
import { ValueType } from '../../../src/storage/index.js';

/** Builds one chunk from [t, v] pairs; v === 'stale' appends a stale marker. */
function chunk(samples: Array<[number, number | 'stale']>): ChunkMeta {
  const c = new XORChunk();
  const a = c.appender();
  for (const [t, v] of samples) {
    if (v === 'stale') a.appendStale(t);
    else a.append(t, v);
  }
  return { ref: 0, minTime: samples[0]![0], maxTime: samples[samples.length - 1]![0], chunk: c };
}

function samplesOf(out: ChunkMeta[]): Array<[number, number | 'stale']> {
  const r: Array<[number, number | 'stale']> = [];
  for (const m of out) {
    const it = m.chunk!.iterator();
    while (it.next() === ValueType.Float) r.push([it.atT(), it.atStale() ? 'stale' : it.atV()]);
    expect(m.minTime).toBe(m.chunk!.iterator().seek(-Infinity) === ValueType.Float ? firstT(m) : NaN);
  }
  return r;
}
function firstT(m: ChunkMeta): number {
  const it = m.chunk!.iterator();
  it.next();
  return it.atT();
}

const seq = (from: number, to: number, step: number, v = (t: number) => t / 1000): Array<[number, number]> => {
  const r: Array<[number, number]> = [];
  for (let t = from; t <= to; t += step) r.push([t, v(t)]);
  return r;
};

describe('ChunkMerger', () => {
  test('a chunk fully inside the range with no overlap is passed through untouched (same object)', () => {
    const a = chunk(seq(0, 10_000, 1000));
    const m = new ChunkMerger();
    const out: ChunkMeta[] = [];
    expect(m.merge([a], 0, 100_000, null, out)).toBe(11);
    expect(out[0]!.chunk).toBe(a.chunk);
    expect(m.passed).toBe(1);
    expect(m.reencoded).toBe(0);
  });

  test('chunks crossing the range edges are cut exactly to the range (inclusive)', () => {
    const out: ChunkMeta[] = [];
    new ChunkMerger().merge([chunk(seq(0, 10_000, 1000)), chunk(seq(11_000, 20_000, 1000))], 3000, 15_000, null, out);
    expect(samplesOf(out).map(([t]) => t)).toEqual(seq(3000, 15_000, 1000).map(([t]) => t));
  });

  test('overlapping chunks from two sources merge by time, first source wins on equal timestamps', () => {
    const a = chunk([
      [0, 1],
      [2000, 2],
      [4000, 3],
    ]);
    const b = chunk([
      [1000, 10],
      [2000, 20],
      [3000, 30],
    ]);
    const out: ChunkMeta[] = [];
    new ChunkMerger().merge([a, b], 0, 10_000, null, out);
    expect(samplesOf(out)).toEqual([
      [0, 1],
      [1000, 10],
      [2000, 2],
      [3000, 30],
      [4000, 3],
    ]);
  });

  test('stale markers survive re-encoding bit for bit', () => {
    const out: ChunkMeta[] = [];
    new ChunkMerger().merge(
      [
        chunk([
          [0, 1],
          [1000, 'stale'],
          [2000, NaN],
        ]),
      ],
      500,
      5000,
      null,
      out,
    );
    const got = samplesOf(out);
    expect(got[0]).toEqual([1000, 'stale']);
    expect(got[1]![0]).toBe(2000);
    expect(Number.isNaN(got[1]![1])).toBe(true);
  });

  test('tombstoned ranges are dropped', () => {
    const out: ChunkMeta[] = [];
    new ChunkMerger().merge([chunk(seq(0, 9000, 1000))], 0, 100_000, [{ mint: 2000, maxt: 4000 }], out);
    expect(samplesOf(out).map(([t]) => t)).toEqual([0, 1000, 5000, 6000, 7000, 8000, 9000]);
  });

  test('re-encoded output is cut into chunks of at most 120 samples', () => {
    const out: ChunkMeta[] = [];
    const a = chunk(seq(0, 299_000, 1000));
    const b = chunk(seq(500, 299_500, 1000));
    new ChunkMerger().merge([a, b], 0, 1e9, null, out);
    expect(out.map((c) => c.chunk!.numSamples())).toEqual([120, 120, 120, 120, 120]);
    expect(out.every((c, i) => i === 0 || c.minTime > out[i - 1]!.maxTime)).toBe(true);
    expect(MERGE_SAMPLES_PER_CHUNK).toBe(120);
  });

  test('property: merging random overlapping sources equals the sorted, deduplicated, range-cut union', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uniqueArray(fc.integer({ min: 0, max: 2000 }), { minLength: 1, maxLength: 150 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 0, max: 2000 }),
        fc.integer({ min: 0, max: 2000 }),
        (sources, x, y) => {
          const [mint, maxt] = x <= y ? [x, y] : [y, x];
          const metas = sources.map((ts, si) => chunk([...ts].sort((p, q) => p - q).map((t) => [t, si * 10_000 + t] as [number, number])));
          const out: ChunkMeta[] = [];
          new ChunkMerger().merge(metas, mint, maxt, null, out);
          const want = new Map<number, number>();
          sources.forEach((ts, si) => {
            for (const t of ts) if (t >= mint && t <= maxt && !want.has(t)) want.set(t, si * 10_000 + t);
          });
          const exp = [...want.entries()].sort((p, q) => p[0] - q[0]);
          expect(samplesOf(out)).toEqual(exp);
        },
      ),
      { numRuns: 200 },
    );
  });
});
