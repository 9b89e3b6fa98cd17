import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { JobExistsError } from '../../src/cluster/errors.js';
import { JobInvalidError, openDbJobStore, type DbJobStore } from '../../src/cluster/job-store.js';
import { JobStatus, type DumpJob } from '../../src/jobs/types.js';
import { createTestDatabase, DRIVERS, newId, type TestDatabase } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLAIMER = fileURLToPath(new URL('./fixtures/claimer.ts', import.meta.url));

function pendingJob(createAt: number, extra: Partial<DumpJob> = {}): DumpJob {
  const id = newId();
  return {
    id,
    status: JobStatus.Pending,
    create_at: createAt,
    min_t: createAt - 86_400_000,
    max_t: createAt,
    dump_location: '',
    progress: 0,
    error: '',
    data_min_t: 0,
    data_max_t: 0,
    size: 0,
    sha256: '',
    owner: '',
    lease_until: 0,
    update_at: createAt,
    attempts: 0,
    ...extra,
  };
}

function runClaimer(env: Record<string, string>): Promise<{ claimed: string[]; finishFailures: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLAIMER], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`claimer exited ${code}: ${err}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1)!) as { claimed: string[]; finishFailures: number });
    });
  });
}

describe.each(DRIVERS)('DbJobStore on %s', (_name, c) => {
  let t: TestDatabase;
  let store: DbJobStore;
  beforeAll(async () => {
    t = await createTestDatabase(c);
    store = await openDbJobStore(t.db);
  });
  afterEach(async () => {
    // Each test starts from an empty table, even when the previous one failed midway.
    await t.db.exec('DELETE FROM mmmetrics_jobs');
  });
  afterAll(async () => {
    await store?.close();
    await t?.drop();
  });

  test('a created job reads back identically, from another node’s pool too, and list is newest first', async () => {
    const a = pendingJob(1_000, { instances: ['10.0.0.1:8067'], matchers: ['{job="node"}'], groups: ['api', 'go'] });
    const b = pendingJob(3_000);
    const cjob = pendingJob(2_000, { instances: [] });
    for (const j of [a, b, cjob]) await store.create(j);
    expect(await store.get(a.id)).toEqual(a);
    expect(await store.get(cjob.id)).toEqual(cjob);
    const other = await openDbJobStore(t.open());
    expect(await other.get(b.id)).toEqual(b);
    expect((await other.list()).map((j) => j.id)).toEqual([b.id, cjob.id, a.id]);
    expect(await store.get(newId())).toBeNull();
    for (const j of [a, b, cjob]) await store.delete(j.id);
  });

  test('creating an existing id fails with JobExistsError and invalid records are refused', async () => {
    const j = pendingJob(5);
    await store.create(j);
    await expect(store.create(j)).rejects.toBeInstanceOf(JobExistsError);
    await expect(store.create({ ...j, id: 'short' })).rejects.toBeInstanceOf(JobInvalidError);
    await expect(store.create({ ...pendingJob(5), status: 'weird' as JobStatus })).rejects.toBeInstanceOf(JobInvalidError);
    await expect(store.create({ ...pendingJob(5), min_t: 1.5 })).rejects.toBeInstanceOf(JobInvalidError);
    expect(await store.delete(j.id)).toEqual(j);
    expect(await store.delete(j.id)).toBeNull();
  });

  test('claims take pending jobs oldest first, then expired leases, and nothing while leases are valid', async () => {
    const now = 1_700_000_000_000;
    const older = pendingJob(now - 2000);
    const newer = pendingJob(now - 1000);
    await store.create(newer);
    await store.create(older);
    const c1 = await store.claim('node-a', 10_000, now);
    expect(c1).toMatchObject({ id: older.id, status: 'in_progress', owner: 'node-a', lease_until: now + 10_000, update_at: now });
    const c2 = await store.claim('node-b', 20_000, now);
    expect(c2?.id).toBe(newer.id);
    expect(await store.claim('node-c', 10_000, now + 5_000)).toBeNull();
    expect(await store.claim('node-c', 10_000, now + 10_000)).toBeNull(); // lease_until is still valid at its own instant
    const r = await store.claim('node-c', 10_000, now + 10_001);
    // older's lease (now+10 s) ran out; newer's (now+20 s) did not.
    expect(r).toMatchObject({ id: older.id, owner: 'node-c', lease_until: now + 20_001 });
    expect(await store.claim('node-d', 10_000, now + 19_000)).toBeNull();
    expect((await store.claim('node-d', 10_000, now + 20_001))?.id).toBe(newer.id);
    for (const j of [older, newer]) await store.delete(j.id);
  });

  test('an update by a job’s former owner is refused after another node reclaimed it; the new owner’s update lands', async () => {
    const now = 1_700_000_100_000;
    const j = pendingJob(now);
    await store.create(j);
    const mine = (await store.claim('node-a', 1_000, now))!;
    expect(await store.update({ ...mine, progress: 10, lease_until: now + 2_000, update_at: now + 500 }, 'node-a')).toBe(true);
    // node-a stalls past its renewed lease; node-b takes over.
    const theirs = (await store.claim('node-b', 1_000, now + 2_001))!;
    expect(theirs.owner).toBe('node-b');
    expect(theirs.progress).toBe(10);
    expect(await store.update({ ...mine, status: 'success', progress: 100 }, 'node-a')).toBe(false);
    expect(await store.get(j.id)).toMatchObject({ owner: 'node-b', status: 'in_progress', progress: 10 });
    // An identical rewrite still counts as applied (found rows, not changed rows).
    expect(await store.update(theirs, 'node-b')).toBe(true);
    const done = { ...theirs, status: JobStatus.Success, progress: 100, dump_location: `plugin-data/mattermost-plugin-metrics/dump/${j.id}/tsdb_dump.tar.gz`, size: 1234, sha256: 'ab'.repeat(32), owner: '', lease_until: 0 };
    expect(await store.update(done, 'node-b')).toBe(true);
    expect(await store.get(j.id)).toEqual(done);
    expect(await store.update(done, 'node-b')).toBe(false); // owner is now ''
    expect(await store.update({ ...done, id: newId() }, '')).toBe(false); // gone
    await store.delete(j.id);
  });

  test('many concurrent claimers on several pools in one process claim each job exactly once', async () => {
    const n = 120;
    const jobs = Array.from({ length: n }, (_, i) => pendingJob(1_000_000 + i));
    for (const j of jobs) await store.create(j);
    const stores = await Promise.all([t.open(), t.open(), t.open()].map((db) => openDbJobStore(db)));
    const claimed: string[] = [];
    await Promise.all(
      stores.flatMap((s, si) =>
        Array.from({ length: 4 }, async (_, li) => {
          for (;;) {
            const job = await s.claim(`p${si}-${li}`, 60_000, Date.now());
            if (job === null) return;
            claimed.push(job.id);
          }
        }),
      ),
    );
    // Claimers may see null while others hold row locks; finish the stragglers and count.
    for (;;) {
      const job = await store.claim('sweeper', 60_000, Date.now());
      if (job === null) break;
      claimed.push(job.id);
    }
    expect(claimed.length).toBe(n);
    expect(new Set(claimed).size).toBe(n);
    expect(new Set(claimed)).toEqual(new Set(jobs.map((j) => j.id)));
    for (const j of jobs) await store.delete(j.id);
  });

  test('concurrent claimers in four processes claim and finish each job exactly once', async () => {
    const n = 200;
    const jobs = Array.from({ length: n }, (_, i) => pendingJob(2_000_000 + i));
    for (const j of jobs) await store.create(j);
    const barrier = await mkdtemp(join(tmpdir(), 'mm-claim-barrier-'));
    const running = [1, 2, 3, 4].map((i) => runClaimer({ DRIVER: c.driver, DSN: t.dsn, TABLE: 'mmmetrics_jobs', OWNER: `proc${i}`, POOLS: '2', LOOPS: '3', BARRIER_DIR: barrier }));
    for (let waited = 0; (await readdir(barrier)).length < 4 && waited < 60_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    await writeFile(join(barrier, 'go'), '');
    const results = await Promise.all(running);
    await rm(barrier, { recursive: true, force: true });
    const all = results.flatMap((r) => r.claimed);
    expect(results.every((r) => r.finishFailures === 0)).toBe(true);
    expect(all.length).toBe(n);
    expect(new Set(all).size).toBe(n);
    // More than one process took part.
    expect(results.filter((r) => r.claimed.length > 0).length).toBeGreaterThan(1);
    const stored = await store.list();
    const mine = stored.filter((j) => j.create_at >= 2_000_000 && j.create_at < 2_000_000 + n);
    expect(mine.length).toBe(n);
    expect(mine.every((j) => j.status === 'success' && j.owner.startsWith('proc'))).toBe(true);
    for (const j of jobs) await store.delete(j.id);
  });

  test('many claimers racing for one expired lease: exactly one wins', async () => {
    const now = 1_700_000_200_000;
    const j = pendingJob(now);
    await store.create(j);
    await store.claim('dead-node', 1_000, now);
    const stores = await Promise.all([t.open(), t.open()].map((db) => openDbJobStore(db)));
    const got = await Promise.all(Array.from({ length: 16 }, (_, i) => stores[i % 2]!.claim(`racer-${i}`, 1_000, now + 5_000)));
    const winners = got.filter((x) => x !== null);
    expect(winners.length).toBe(1);
    expect((await store.get(j.id))!.owner).toBe(winners[0]!.owner);
    await store.delete(j.id);
  });

  test('attempts round-trips through create, claim and update, and a job without it reads back as 0', async () => {
    const j = pendingJob(7, { attempts: 2 });
    await store.create(j);
    const { attempts: _drop, ...bare } = pendingJob(8);
    await store.create(bare);
    expect((await store.get(bare.id))!.attempts).toBe(0);
    const c1 = (await store.claim('n', 1000, 10))!;
    expect(c1).toMatchObject({ id: j.id, attempts: 2 });
    expect(await store.update({ ...c1, attempts: 3 }, 'n')).toBe(true);
    expect((await store.get(j.id))!.attempts).toBe(3);
    await expect(store.create({ ...pendingJob(9), attempts: -1 })).rejects.toBeInstanceOf(JobInvalidError);
  });

  test('a table created by an older version without attempts gets the column on open, keeping its rows', async () => {
    const other = await createTestDatabase(c);
    try {
      await other.db.exec(
        'CREATE TABLE mmmetrics_jobs (id VARCHAR(26) NOT NULL PRIMARY KEY, status VARCHAR(32) NOT NULL, create_at BIGINT NOT NULL, update_at BIGINT NOT NULL, ' +
          'min_t BIGINT NOT NULL, max_t BIGINT NOT NULL, request TEXT NOT NULL, dump_location VARCHAR(1024) NOT NULL, progress INTEGER NOT NULL, error TEXT NOT NULL, ' +
          'data_min_t BIGINT NOT NULL, data_max_t BIGINT NOT NULL, size BIGINT NOT NULL, sha256 VARCHAR(64) NOT NULL, owner VARCHAR(255) NOT NULL, lease_until BIGINT NOT NULL)',
      );
      const old = pendingJob(11);
      await other.db.exec(
        "INSERT INTO mmmetrics_jobs VALUES (?, 'pending', ?, ?, 1, 2, '{}', '', 0, '', 0, 0, 0, '', '', 0)",
        [old.id, old.create_at, old.update_at],
      );
      const stores = await Promise.all([other.open(), other.open()].map((db) => openDbJobStore(db)));
      expect((await stores[0]!.get(old.id))!.attempts).toBe(0);
      const j = pendingJob(12, { attempts: 4 });
      await stores[1]!.create(j);
      expect((await stores[0]!.get(j.id))!.attempts).toBe(4);
    } finally {
      await other.drop();
    }
  });

  test('the table is created by concurrent openers without error and only our own tables are touched', async () => {
    const other = await createTestDatabase(c);
    try {
      await Promise.all([other.open(), other.open(), other.open()].map((db) => openDbJobStore(db)));
      const tables =
        c.driver === 'postgres'
          ? await other.db.query<{ name: string }>("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
          : await other.db.query<{ name: string }>('SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1', [other.name]);
      expect(tables.map((r) => r.name)).toEqual(['mmmetrics_jobs']);
    } finally {
      await other.drop();
    }
  });
});
