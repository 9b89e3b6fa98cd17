/**
 * A real database crash-restart under three electors, on private servers (private-db.ts) so
 * the shared PostgreSQL/MariaDB used by other suites are never restarted.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openDb, type Db } from '../../src/cluster/db.js';
import { LeaderElector } from '../../src/cluster/leader.js';
import { randomName, waitFor } from './helpers.js';
import { privateMariaDBAvailable, privatePostgresAvailable, startPrivateMariaDB, startPrivatePostgres, type PrivateDb } from './private-db.js';
import { ElectorProc, leadershipIntervals, overlaps, workIntervals, type ElectorTiming } from './procs.js';

const TIMING: ElectorTiming = { retryMs: 500, healthMs: 400, healthTimeoutMs: 600 };

const SERVERS: Array<[string, () => Promise<PrivateDb>, boolean]> = [
  ['PostgreSQL', startPrivatePostgres, privatePostgresAvailable()],
  ['MariaDB', startPrivateMariaDB, privateMariaDBAvailable()],
];

describe.each(SERVERS)('LeaderElector through a %s crash-restart', (_name, startServer, available) => {
  let server: PrivateDb;
  let admin: Db;
  const procs: ElectorProc[] = [];
  const lockName = randomName('lock');
  const leaders = () => procs.filter((p) => !p.exited && p.isLeader);
  const acquires = () => procs.flatMap((p) => p.of('acquire').map((e) => ({ p, e }))).sort((a, b) => a.e.at! - b.e.at!);
  const diag = () => procs.map((p) => `${p.node}: ${JSON.stringify(p.events.filter((e) => e.ev !== 'work'))} ${p.stderr.slice(0, 300)}`).join('\n');

  beforeAll(async () => {
    if (!available) return;
    server = await startServer();
    admin = openDb(server.driver, server.dsn, { poolSize: 1 });
    for (let i = 1; i <= 3; i++) procs.push(new ElectorProc({ driver: server.driver, dsn: server.dsn, lockName, node: `r${i}`, timing: TIMING }));
    expect(await waitFor(() => procs.every((p) => p.of('ready').length === 1), 20_000, 50), diag()).toBe(true);
  });

  afterAll(async () => {
    for (const p of procs) if (!p.exited) p.child.kill('SIGKILL');
    for (const p of procs) await p.waitExit(5000);
    await admin?.close();
    await server?.stop();
  });

  test.skipIf(!available)('the leader loses its role when the server dies, and exactly one leader follows once it is back', async () => {
    expect(await waitFor(() => leaders().length === 1, 10_000, 20), diag()).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    const old = leaders()[0]!;
    const oldTerm = old.of('acquire').at(-1)!.term!;
    const before = acquires().length;
    const t0 = Date.now();
    await server.crashRestart();
    const upAt = Date.now();
    expect(old.of('lose').length, diag()).toBeGreaterThan(0);
    const lose = old.of('lose').at(-1)!;
    expect(lose.reason).toBe('connection lost');
    // The old leader noticed before the server was even back up.
    expect(lose.at!).toBeLessThanOrEqual(upAt);
    expect(await waitFor(() => acquires().length > before && leaders().length === 1, 15_000, 20), diag()).toBe(true);
    const next = acquires().at(-1)!;
    console.log(`FIGURE leader_reacquire_after_${server.driver}_restart: ${next.e.at! - upAt} ms after the server was up (down ${upAt - t0} ms)`);
    expect(next.e.term, diag()).toBe(oldTerm + 1);
    // Another process waited out the old lease; the old leader itself may re-take at once.
    if (next.p !== old) expect(next.e.waitedMs!).toBeGreaterThanOrEqual(TIMING.healthMs + 2 * TIMING.healthTimeoutMs);
    await new Promise((r) => setTimeout(r, 1000));
    expect(leaders().length).toBe(1);
    const ivs = leadershipIntervals(procs);
    expect(overlaps(ivs), JSON.stringify(ivs)).toEqual([]);
    const work = workIntervals(procs);
    expect(work.length).toBeGreaterThanOrEqual(2);
    expect(overlaps(work), JSON.stringify(work)).toEqual([]);
    // The term row survived the crash (WAL/redo) and still fences.
    const rows = await admin.query<{ term: number }>('SELECT term AS term FROM mmmetrics_leader WHERE name = ?', [lockName]);
    expect(rows[0]!.term).toBe(next.e.term);
  });

  test.skipIf(!available)('a leader whose database stops answering, with no socket event, steps down within one check', async () => {
    const db = openDb(server.driver, server.dsn, { poolSize: 1 });
    const el = new LeaderElector(db, { name: randomName('solo'), retryIntervalMs: 300, healthIntervalMs: 200, healthTimeoutMs: 300 });
    const lost: Array<{ reason: string; at: number; detail: string }> = [];
    el.onLose((i) => lost.push(i));
    el.start();
    let thaw: (() => void) | null = null;
    try {
      expect(await waitFor(() => el.isLeader(), 8000, 10)).toBe(true);
      await new Promise((r) => setTimeout(r, 300));
      const t0 = Date.now();
      thaw = server.freeze(el.sessionId);
      // At most one interval until the next check plus its timeout.
      const bound = el.options.healthIntervalMs + el.options.healthTimeoutMs + 400;
      expect(await waitFor(() => lost.length > 0, bound + 2000, 5)).toBe(true);
      console.log(`FIGURE leader_stepdown_after_silent_${server.driver}_stall: ${lost[0]!.at - t0} ms (bound ${bound} ms)`);
      expect(lost[0]!.at - t0).toBeLessThanOrEqual(bound);
      expect(lost[0]!.detail).toMatch(/no answer within/);
      expect(el.isLeader()).toBe(false);
      thaw();
      thaw = null;
      // Once the server answers again, the lock comes back to us (we were the last holder: no grace).
      expect(await waitFor(() => el.isLeader(), 10_000, 10)).toBe(true);
    } finally {
      thaw?.();
      await el.stop();
      await db.close();
    }
  });
});
