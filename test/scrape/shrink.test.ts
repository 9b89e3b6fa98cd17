import { describe, expect, test } from 'vitest';
import { ShrinkPolicy } from '../../src/scrape/shrink.js';

describe('ShrinkPolicy', () => {
  test.each([
    { what: '8 uses under a quarter halve the buffer', uses: Array(8).fill(100), cap: 1024, want: [0, 0, 0, 0, 0, 0, 0, 512] },
    { what: 'a use of a quarter or more restarts the count', uses: [100, 100, 100, 256, 100, 100, 100, 100, 100, 100, 100, 100], cap: 1024, want: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 512] },
    { what: 'never below the minimum', uses: Array(8).fill(0), cap: 384, want: [0, 0, 0, 0, 0, 0, 0, 256] },
    { what: 'a buffer at the minimum is kept', uses: Array(16).fill(0), cap: 256, want: Array(16).fill(0) },
  ])('$what', ({ uses, cap, want }) => {
    const p = new ShrinkPolicy(256);
    expect(uses.map((u: number) => p.after(u, cap))).toEqual(want);
  });
});
