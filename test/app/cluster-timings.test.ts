import { afterAll, describe, expect, test } from 'vitest';
import { LeaderElector, openDb } from '../../src/cluster/index.js';
import { jobLeaseMs, leaderTimings, worstCaseTakeoverMs } from '../../src/app/cluster-timings.js';

describe('cluster timings derived from cluster.leaderTakeover', () => {
  // No connection is made: the elector only checks its timings at construction.
  const db = openDb('postgres', 'postgres://u@127.0.0.1:1/x?sslmode=disable');
  afterAll(() => db.close());

  test.each([5_000, 7_500, 10_000, 15_000, 30_000, 60_000, 120_000, 600_000])('a bound of %i ms gives timings the elector accepts, whose worst case fits the bound', (bound) => {
    const t = leaderTimings(bound);
    expect(worstCaseTakeoverMs(t)).toBeLessThanOrEqual(bound);
    const el = new LeaderElector(db, { name: 'x', nodeId: 'n', ...t });
    expect(el.worstCaseTakeoverMs()).toBe(worstCaseTakeoverMs(t));
    // The check timeout keeps the largest share: a slow database should not cost a failover.
    expect(t.healthTimeoutMs).toBeGreaterThan(t.healthIntervalMs);
  });

  test('the default 30 s bound checks every 2 s with a 2.5 s timeout and retries every 5 s', () => {
    expect(leaderTimings(30_000)).toEqual({ retryIntervalMs: 5_000, healthIntervalMs: 2_000, healthTimeoutMs: 2_500, takeoverBoundMs: 30_000 });
  });

  test('a bound no timing can meet is refused with the setting named', () => {
    expect(() => leaderTimings(2_000)).toThrow(/cluster\.leaderTakeover/);
  });

  test('the dump-job lease follows the bound, never below 3 s', () => {
    expect(jobLeaseMs(30_000)).toBe(30_000);
    expect(jobLeaseMs(1_000)).toBe(3_000);
  });
});
