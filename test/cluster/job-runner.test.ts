/**
 * The real JobRunner (src/jobs/runner.ts) over DbJobStore: the cluster store must satisfy what
 * the runner relies on (exactly-once claims, owner CAS, lease takeover, attempts persisted).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openDbJobStore, type DbJobStore } from '../../src/cluster/job-store.js';
import { LocalDumpArtifacts } from '../../src/jobs/local-artifacts.js';
import { JobRunner } from '../../src/jobs/runner.js';
import { JobStatus, type DumpJob } from '../../src/jobs/types.js';
import { makeJob, tempDir, waitFor } from '../jobs/support/jobs.js';
import { TarDumpBuilder } from '../jobs/support/tar-builder.js';
import { createTestDatabase, DRIVERS, type TestDatabase } from './helpers.js';

describe.each(DRIVERS)('JobRunner over DbJobStore on %s', (_name, c) => {
  let t: TestDatabase;
  let root: { dir: string; cleanup: () => Promise<void> };
  let n = 0;
  const runners: JobRunner[] = [];
  beforeAll(async () => {
    t = await createTestDatabase(c);
    await openDbJobStore(t.db); // creates the table
    root = await tempDir('mmt-cluster-runner-');
  });
  afterAll(async () => {
    for (const r of runners) await r.stop();
    await t?.drop();
    await root?.cleanup();
  });

  /** One "node": its own pool on the shared database, its own runner, a shared file store dir. */
  async function node(dir: string, nodeId: string, opts: { maxAttempts?: number; stepMs?: number } = {}): Promise<{ store: DbJobStore; builder: TarDumpBuilder; runner: JobRunner }> {
    const store = await openDbJobStore(t.open());
    const builder = new TarDumpBuilder(dir, { stepMs: opts.stepMs ?? 2 });
    const artifacts = new LocalDumpArtifacts(dir);
    const options = { pollMs: 20, progressWriteMs: 0, ...(opts.maxAttempts !== undefined ? { maxAttempts: opts.maxAttempts } : {}) };
    const runner = new JobRunner({ store, builder, deleteArtifacts: artifacts.deleteArtifacts, nodeId, options });
    runners.push(runner);
    return { store, builder, runner };
  }
  async function freshDir(): Promise<string> {
    const dir = path.join(root.dir, `d${n++}`);
    await mkdir(dir);
    return dir;
  }
  const statusIs = (s: DbJobStore, id: string, st: string) => async (): Promise<DumpJob | null> => {
    const j = await s.get(id);
    return j && j.status === st ? j : null;
  };

  test('two nodes build each job exactly once, and every job records one attempt', async () => {
    await t.db.exec('DELETE FROM mmmetrics_jobs');
    const dir = await freshDir();
    const a = await node(dir, 'node-a');
    const b = await node(dir, 'node-b');
    await Promise.all([a.runner.start(), b.runner.start()]);
    const jobs: DumpJob[] = [];
    for (let i = 0; i < 8; i++) jobs.push(await (i % 2 ? a : b).runner.create({ min_t: 1, max_t: 2 + i }));
    for (const j of jobs) await waitFor(statusIs(a.store, j.id, JobStatus.Success), 20_000, `job ${j.id}`);
    expect(a.builder.builds + b.builder.builds).toBe(8);
    const all = await b.store.list();
    expect(all.length).toBe(8);
    for (const j of all) expect(j).toMatchObject({ status: JobStatus.Success, attempts: 1, progress: 100 });
    await a.runner.stop();
    await b.runner.stop();
  });

  test('a job left in_progress by a dead node is taken over when its lease ends, counting a second attempt', async () => {
    await t.db.exec('DELETE FROM mmmetrics_jobs');
    const dir = await freshDir();
    const a = await node(dir, 'node-a');
    const dead = makeJob({ status: JobStatus.InProgress, owner: 'gone-node', lease_until: Date.now() + 400, attempts: 1 });
    await a.store.create(dead);
    await a.runner.start();
    await new Promise((r) => setTimeout(r, 150));
    expect((await a.store.get(dead.id))!.owner).toBe('gone-node');
    const done = await waitFor(statusIs(a.store, dead.id, JobStatus.Success), 20_000, 'takeover');
    expect(done.attempts).toBe(2);
    await a.runner.stop();
  });

  test('a job that used every attempt on other nodes is marked error instead of being retried', async () => {
    await t.db.exec('DELETE FROM mmmetrics_jobs');
    const dir = await freshDir();
    const a = await node(dir, 'node-a', { maxAttempts: 2 });
    const dead = makeJob({ status: JobStatus.InProgress, owner: 'gone-node', lease_until: 1, attempts: 2 });
    await a.store.create(dead);
    await a.runner.start();
    const done = await waitFor(statusIs(a.store, dead.id, JobStatus.Error), 20_000, 'give up');
    expect(done.error).toMatch(/gave up after 2 attempts/);
    expect(a.builder.builds).toBe(0);
    await a.runner.stop();
  });
});
