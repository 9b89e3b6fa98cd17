import { describe, expect, test } from 'vitest';
import {
  compactionRanges,
  deletableBlocks,
  exponentialBlockRanges,
  headCompactable,
  headCutRange,
  planCompaction,
  splitByRange,
  type PlanMeta,
} from '../../../src/tsdb/compact/plan.js';

const m = (ulid: string, minTime: number, maxTime: number, extra: Partial<PlanMeta> = {}): PlanMeta => ({
  ulid,
  minTime,
  maxTime,
  compaction: { level: 1 },
  ...extra,
});
const ids = (ms: PlanMeta[]) => ms.map((x) => x.ulid);
const ranges = [20, 60, 180, 540, 1620];

describe('planCompaction follows Prometheus LeveledCompactor.plan', () => {
  test.each<[string, PlanMeta[], string[]]>([
    ['a single block is never compacted', [m('1', 0, 20)], []],
    ['two small blocks wait: the newest is never included', [m('1', 0, 20), m('2', 20, 40)], []],
    ['three small blocks still wait for a fourth to make the first window complete', [m('1', 0, 20), m('2', 20, 40), m('3', 40, 60)], []],
    ['a block in the next window completes the first one', [m('1', 0, 20), m('2', 20, 40), m('3', 40, 60), m('4', 60, 80)], ['1', '2', '3']],
    ['a window with a gap waits while the block after it is the newest', [m('1', 0, 20), m('2', 20, 40), m('4', 60, 80)], []],
    ['a window with a gap is compacted once a block after it is no longer the newest', [m('1', 0, 20), m('2', 20, 40), m('4', 60, 80), m('5', 80, 100)], ['1', '2']],
    ['input order does not matter', [m('4', 60, 80), m('2', 20, 40), m('1', 0, 20), m('3', 40, 60)], ['1', '2', '3']],
    ['overlapping blocks are compacted first, vertically', [m('1', 0, 20), m('2', 19, 40), m('3', 40, 60)], ['1', '2']],
    ['a block contained in another overlaps it', [m('1', 0, 60), m('2', 20, 40), m('3', 60, 80)], ['1', '2']],
    ['unaligned blocks are grouped by the window their start falls in', [m('1', 10, 30), m('2', 30, 50), m('3', 50, 70), m('4', 70, 90)], ['1', '2']],
    ['a failed block keeps its window from being compacted', [m('1', 0, 20, { compaction: { level: 1, failed: true } }), m('2', 20, 40), m('3', 40, 60), m('4', 60, 80)], []],
    [
      'a big block with more than 5 % tombstones is rewritten alone',
      [m('1', 0, 180, { stats: { numSeries: 100, numTombstones: 6 } }), m('2', 180, 200)],
      ['1'],
    ],
    [
      'a small block whose series are all deleted is rewritten alone',
      [m('1', 0, 20, { stats: { numSeries: 3, numTombstones: 3 } }), m('2', 20, 40)],
      ['1'],
    ],
  ])('%s', (_n, metas, want) => {
    expect(ids(planCompaction(metas, ranges))).toEqual(want);
  });

  test('splitByRange groups aligned windows and skips blocks larger than the window', () => {
    const groups = splitByRange([m('a', 0, 20), m('b', 20, 40), m('c', 40, 100), m('d', 120, 140)], 60);
    expect(groups.map(ids)).toEqual([['a', 'b'], ['d']]);
    // negative times align downwards, as Go does
    expect(splitByRange([m('n', -60, -40), m('o', -40, -20)], 60).map(ids)).toEqual([['n', 'o']]);
  });

  test('ranges are exponential and capped by the max block duration', () => {
    const h2 = 7_200_000;
    expect(exponentialBlockRanges(h2, 4, 3)).toEqual([h2, 3 * h2, 9 * h2, 27 * h2]);
    // Prometheus default: retention 15 d → max block 36 h → 2 h, 6 h, 18 h
    expect(compactionRanges(h2, 36 * 3_600_000)).toEqual([h2, 3 * h2, 9 * h2]);
  });
});

describe('head cut planning', () => {
  const h2 = 7_200_000;
  test.each<[string, number, number, boolean]>([
    ['an empty head is not compactable', Infinity, -Infinity, false],
    ['exactly 1.5 ranges is not enough', 0, 1.5 * h2, false],
    ['more than 1.5 ranges is compactable', 0, 1.5 * h2 + 1, true],
  ])('%s', (_n, mint, maxt, want) => {
    expect(headCompactable(mint, maxt, h2)).toBe(want);
  });

  test('the cut ends at the aligned range boundary after the head minimum', () => {
    expect(headCutRange(1_700_000_123_456, h2)).toEqual({ mint: 1_700_000_123_456, maxt: 1_700_006_400_000 });
    expect(headCutRange(h2, h2)).toEqual({ mint: h2, maxt: 2 * h2 });
  });
});

describe('deletableBlocks', () => {
  const none = { retentionMs: 0, maxBytes: 0, headBytes: 0 };
  test.each<[string, PlanMeta[], Parameters<typeof deletableBlocks>[1], Record<string, number>, Record<string, string>]>([
    ['nothing when retention is off', [m('1', 0, 10), m('2', 10, 20)], none, {}, {}],
    ['blocks marked deletable', [m('1', 0, 10, { compaction: { level: 1, deletable: true } }), m('2', 10, 20)], none, {}, { '1': 'deletable' }],
    ['parents of a compacted block, loaded or not', [m('3', 0, 20, { compaction: { level: 2, parents: [{ ulid: '1' }, { ulid: '2' }] } }), m('1', 0, 10)], none, {}, { '1': 'parent', '2': 'parent' }],
    [
      'time retention is relative to the newest block and removes everything older',
      [m('1', 0, 10), m('2', 10, 20), m('3', 20, 30), m('4', 30, 40)],
      { retentionMs: 15, maxBytes: 0, headBytes: 0 },
      {},
      { '1': 'retention-time', '2': 'retention-time' },
    ],
    [
      'size retention counts the head first, then blocks newest to oldest',
      [m('1', 0, 10), m('2', 10, 20), m('3', 20, 30)],
      { retentionMs: 0, maxBytes: 250, headBytes: 50 },
      { '1': 100, '2': 100, '3': 100 },
      { '1': 'retention-size' },
    ],
  ])('%s', (_n, metas, opts, sizes, want) => {
    expect(Object.fromEntries(deletableBlocks(metas, opts, new Map(Object.entries(sizes))))).toEqual(want);
  });
});
