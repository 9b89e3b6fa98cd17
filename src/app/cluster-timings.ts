/**
 * Cluster timings derived from the one knob an admin sets, `cluster.leaderTakeover` (the
 * worst-case time for a standby to take over scraping, default 30 s).
 *
 * LeaderElector (src/cluster/leader.ts) refuses timings whose worst case exceeds the bound:
 *   worst = serverIdle + retry + checkTimeout + grace,  lease = check + 2·checkTimeout,
 *   grace = lease + 250 ms,  serverIdle = ceil((lease + check) / 1 s) · 1 s.
 * Its defaults (check 2 s, timeout 1.5 s, retry 5 s: worst 18.75 s) only fit bounds ≥ 19 s,
 * so the app scales the timings with the bound instead: check every B/15, check timeout
 * B/12, retry every B/6. For B = 30 s that is a worst case of 23.75 s (takeover after a
 * kill -9, whose socket close frees the lock at once: ≤ retry + grace ≈ 12.3 s); for the
 * smallest bound the config accepts (5 s), 4.7 s. The check timeout gets the largest share
 * because a spurious timeout on a busy database or host costs a needless failover.
 *
 * The dump-job lease follows the same bound: a node that dies mid-dump has its job taken
 * over (and retried) once the lease ran out, so within about one takeover bound too.
 */

export interface LeaderTimings {
  retryIntervalMs: number;
  healthIntervalMs: number;
  healthTimeoutMs: number;
  takeoverBoundMs: number;
}

const LEASE_MARGIN_MS = 250; // leader.ts LEASE_MARGIN_MS

/** The elector's worst-case takeover for these timings (the formula in leader.ts). */
export function worstCaseTakeoverMs(t: Omit<LeaderTimings, 'takeoverBoundMs'>): number {
  const lease = t.healthIntervalMs + 2 * t.healthTimeoutMs;
  const grace = lease + LEASE_MARGIN_MS;
  const idle = Math.ceil((lease + t.healthIntervalMs) / 1000) * 1000;
  return idle + t.retryIntervalMs + t.healthTimeoutMs + grace;
}

/** Elector timings whose worst case fits `boundMs`; throws a RangeError below what any timing fits. */
export function leaderTimings(boundMs: number): LeaderTimings {
  if (!(boundMs >= 3000)) throw new RangeError(`cluster.leaderTakeover must be at least 3s, got ${boundMs} ms`);
  for (let f = 1; f > 0.2; f *= 0.9) {
    const t = {
      retryIntervalMs: Math.floor((f * boundMs) / 6),
      healthIntervalMs: Math.floor((f * boundMs) / 15),
      healthTimeoutMs: Math.floor((f * boundMs) / 12),
    };
    if (worstCaseTakeoverMs(t) <= boundMs) return { ...t, takeoverBoundMs: boundMs };
  }
  throw new RangeError(`cluster.leaderTakeover ${boundMs} ms is too short for leader election`);
}

/** Lease of a running dump job in a cluster: renewed every third of it; expiry hands the job to another node. */
export function jobLeaseMs(takeoverBoundMs: number): number {
  return Math.max(3000, takeoverBoundMs);
}
