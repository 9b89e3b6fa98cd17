import { describe, expect, test } from 'vitest';
import { ChunkCutter, computeChunkEndTime, cutPoints, goDiv, rangeForTimestamp, promtoolChunkRange, DEFAULT_BLOCK_DURATION } from '../../../src/tsdb/chunkenc/index.js';

const H = 3_600_000;

describe('Go integer arithmetic', () => {
  test.each([
    [7, 2, 3],
    [-7, 2, -3],
    [-1, 7200000, 0],
  ])('goDiv(%d, %d) truncates toward zero to %d', (a, b, want) => expect(goDiv(a, b)).toBe(want));

  test.each([
    [0, 2 * H, 2 * H],
    [1, 2 * H, 2 * H],
    [2 * H - 1, 2 * H, 2 * H],
    [2 * H, 2 * H, 4 * H],
    [-1, 2 * H, 2 * H],
    [-2 * H - 5, 2 * H, 0],
  ])('rangeForTimestamp(%d, %d) is %d', (t, w, want) => expect(rangeForTimestamp(t, w)).toBe(want));

  test.each([
    // 30 samples at 15s span 435s: 7200000 / (435001*4) = 4 chunks -> start + 1800000 (120 samples each)
    [0, 435_000, 2 * H, 1_800_000],
    // slow series: n <= 1 keeps max
    [0, 3_000_000, 2 * H, 2 * H],
  ])('computeChunkEndTime(%d, %d, %d) is %d', (s, c, m, want) => expect(computeChunkEndTime(s, c, m)).toBe(want));
});

describe('head chunk cutting (Prometheus 2.42 appendPreprocessor)', () => {
  test('a 15s series over 2h aligned makes 4 chunks of 120 samples (450s prediction)', () => {
    const ts = Array.from({ length: 480 }, (_, i) => i * 15000);
    expect(cutPoints(ts)).toEqual([0, 120, 240, 360]);
  });

  test('chunks never cross a chunk-range boundary', () => {
    const ts = Array.from({ length: 100 }, (_, i) => 2 * H - 50 * 1000 + i * 1000);
    const cuts = cutPoints(ts);
    // sample at exactly 2h starts a new chunk
    expect(cuts).toEqual([0, 50]);
  });

  test('a rate increase after the prediction forces a cut at 240 samples, then the next chunk predicts 120', () => {
    // 30 slow samples (1 min) then 1 sample per ms
    const ts: number[] = [];
    for (let i = 0; i < 30; i++) ts.push(i * 60000);
    for (let i = 0; i < 1000; i++) ts.push(30 * 60000 + i);
    const cuts = cutPoints(ts);
    expect(cuts[0]).toBe(0);
    expect(cuts[1]).toBe(240);
    expect(cuts[2]).toBe(360);
  });

  test('promtool backfill uses twice the block duration as chunk range', () => {
    expect(promtoolChunkRange()).toBe(2 * DEFAULT_BLOCK_DURATION);
    const ts = Array.from({ length: 960 }, (_, i) => i * 15000); // 4h at 15s
    expect(cutPoints(ts, ts.length, promtoolChunkRange())).toEqual([0, 120, 240, 360, 480, 600, 720, 840]);
  });

  test('the cutter reports the first sample of every chunk and tracks its bounds', () => {
    const c = new ChunkCutter(2 * H);
    expect(c.add(100)).toBe(true);
    expect(c.add(200)).toBe(false);
    expect([c.minT, c.maxT, c.n]).toEqual([100, 200, 2]);
    expect(c.add(2 * H)).toBe(true);
    expect([c.minT, c.maxT, c.n, c.nextAt]).toEqual([2 * H, 2 * H, 1, 4 * H]);
  });
});
