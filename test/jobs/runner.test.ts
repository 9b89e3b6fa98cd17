import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openFileJobStore, type FileJobStore } from '../../src/jobs/file-store.js';
import { LocalDumpArtifacts } from '../../src/jobs/local-artifacts.js';
import { dumpDir } from '../../src/jobs/paths.js';
import { JobRunner, type JobRunnerOptions } from '../../src/jobs/runner.js';
import { JobStatus, type DumpJob } from '../../src/jobs/types.js';
import { makeJob, tempDir, waitFor } from './support/jobs.js';
import { sha256File, TarDumpBuilder, type TarBuilderOptions } from './support/tar-builder.js';

let root: { dir: string; cleanup: () => Promise<void> };
let n = 0;
const runners: JobRunner[] = [];
const stores: FileJobStore[] = [];

beforeAll(async () => {
  root = await tempDir('mm-jobs-runner-');
});
afterAll(async () => {
  for (const r of runners) await r.stop();
  for (const s of stores) await s.close();
  await root.cleanup();
});

interface Env {
  dir: string;
  store: FileJobStore;
  builder: TarDumpBuilder;
  artifacts: LocalDumpArtifacts;
  runner: JobRunner;
}

async function env(b: Partial<TarBuilderOptions> = {}, o: Partial<JobRunnerOptions> = {}, nodeId = 'node-a', dir?: string): Promise<Env> {
  if (!dir) {
    dir = path.join(root.dir, `e${n++}`);
    await mkdir(dir);
  }
  const store = await openFileJobStore(dir);
  stores.push(store);
  const builder = new TarDumpBuilder(dir, b);
  const artifacts = new LocalDumpArtifacts(dir);
  const runner = new JobRunner({ store, builder, deleteArtifacts: artifacts.deleteArtifacts, nodeId, options: { pollMs: 20, progressWriteMs: 0, ...o } });
  runners.push(runner);
  return { dir, store, builder, artifacts, runner };
}

const statusIs = (s: FileJobStore, id: string, st: string) => async (): Promise<DumpJob | null> => {
  const j = await s.get(id);
  return j && j.status === st ? j : null;
};

describe('JobRunner', () => {
  test('a created job runs to success with a real archive, its size and its sha256', async () => {
    const e = await env();
    await e.runner.start();
    const job = await e.runner.create({ min_t: 1000, max_t: 5000 });
    expect(job.status).toBe(JobStatus.Pending);
    const done = await waitFor(statusIs(e.store, job.id, JobStatus.Success), 10_000, 'success');
    const file = e.artifacts.resolve(done.dump_location);
    expect(done.dump_location).toBe(`plugin-data/mattermost-plugin-metrics/dump/${job.id}/tsdb_dump.tar.gz`);
    expect(done.sha256).toBe(await sha256File(file));
    expect(done).toMatchObject({ progress: 100, owner: '', lease_until: 0, attempts: 1, data_min_t: 1000, data_max_t: 5000, error: '' });
    expect(done.size).toBe((await e.artifacts.stat(done.dump_location))!.size);
  });

  test('progress and lease renewals are written while a job runs', async () => {
    const e = await env({ steps: 10, stepMs: 60 }, { leaseMs: 150 });
    await e.runner.start();
    const job = await e.runner.create({ min_t: 1, max_t: 2 });
    const first = await waitFor(async () => {
      const j = await e.store.get(job.id);
      return j && j.status === JobStatus.InProgress && j.progress > 0 ? j : null;
    }, 5000, 'progress');
    const later = await waitFor(async () => {
      const j = await e.store.get(job.id);
      return j && j.status === JobStatus.InProgress && j.lease_until > first.lease_until && j.progress > first.progress ? j : null;
    }, 5000, 'lease renewal');
    expect(later.owner).toBe('node-a');
    expect(later.progress).toBeLessThan(100);
    await waitFor(statusIs(e.store, job.id, JobStatus.Success));
  });

  test('a failing build ends in error with the builder message and leaves no files', async () => {
    const e = await env({ failWith: () => 'no blocks in the remote storage' });
    await e.runner.start();
    const job = await e.runner.create({ min_t: 1, max_t: 2 });
    const done = await waitFor(statusIs(e.store, job.id, JobStatus.Error));
    expect(done.error).toBe('no blocks in the remote storage');
    expect(done.dump_location).toBe('');
    expect(existsSync(path.join(e.dir, dumpDir(job.id)))).toBe(false);
  });

  test('deleting a pending job cancels it: it is never built', async () => {
    const e = await env();
    const job = await e.runner.create({ min_t: 1, max_t: 2 }); // runner not started yet
    expect((await e.runner.delete(job.id))?.id).toBe(job.id);
    await e.runner.start();
    await new Promise((r) => setTimeout(r, 100));
    expect(e.builder.builds).toBe(0);
    expect(await e.store.get(job.id)).toBeNull();
  });

  test('deleting a running job aborts the build, removes its files, and it never comes back', async () => {
    const e = await env({ steps: 200, stepMs: 10 });
    await e.runner.start();
    const job = await e.runner.create({ min_t: 1, max_t: 2 });
    await waitFor(statusIs(e.store, job.id, JobStatus.InProgress));
    await waitFor(() => existsSync(path.join(e.dir, dumpDir(job.id))), 5000, 'staging dir');
    await e.runner.delete(job.id);
    await waitFor(() => e.runner.runningIds().length === 0, 5000, 'build to stop');
    expect(await e.store.get(job.id)).toBeNull();
    expect(existsSync(path.join(e.dir, dumpDir(job.id)))).toBe(false);
    await new Promise((r) => setTimeout(r, 100));
    expect(await e.store.list()).toEqual([]);
  });

  test('deleting a finished job removes its archive folder and record; deleteAll removes the rest', async () => {
    const e = await env();
    await e.runner.start();
    const jobs = [];
    for (let i = 0; i < 3; i++) jobs.push(await e.runner.create({ min_t: 1, max_t: 2 + i }));
    for (const j of jobs) await waitFor(statusIs(e.store, j.id, JobStatus.Success));
    await e.runner.delete(jobs[0]!.id);
    expect(existsSync(path.join(e.dir, dumpDir(jobs[0]!.id)))).toBe(false);
    expect(existsSync(path.join(e.dir, dumpDir(jobs[1]!.id)))).toBe(true);
    expect(await e.runner.delete(jobs[0]!.id)).toBeNull();
    expect(await e.runner.deleteAll()).toBe(2);
    expect(await e.store.list()).toEqual([]);
    for (const j of jobs) expect(existsSync(path.join(e.dir, dumpDir(j.id)))).toBe(false);
  });

  test('stop() during a build puts the job back to pending without counting the try, and the next start finishes it', async () => {
    const e = await env({ steps: 100, stepMs: 10 });
    await e.runner.start();
    const job = await e.runner.create({ min_t: 1, max_t: 2 });
    await waitFor(statusIs(e.store, job.id, JobStatus.InProgress));
    await e.runner.stop();
    const back = (await e.store.get(job.id))!;
    expect(back).toMatchObject({ status: JobStatus.Pending, owner: '', lease_until: 0, attempts: 0, progress: 0 });
    const e2 = await env({}, {}, 'node-a', e.dir);
    await e2.runner.start();
    const done = await waitFor(statusIs(e2.store, job.id, JobStatus.Success));
    expect(done.attempts).toBe(1);
  });

  test('two runners over one store build each job exactly once', async () => {
    const e = await env({ stepMs: 2 });
    const other = new JobRunner({ store: e.store, builder: e.builder, deleteArtifacts: e.artifacts.deleteArtifacts, nodeId: 'node-b', options: { pollMs: 5 } });
    runners.push(other);
    await Promise.all([e.runner.start(), other.start()]);
    const jobs = [];
    for (let i = 0; i < 6; i++) jobs.push(await e.runner.create({ min_t: 1, max_t: 2 + i }));
    for (const j of jobs) await waitFor(statusIs(e.store, j.id, JobStatus.Success));
    expect(e.builder.builds).toBe(6);
    for (const j of await e.store.list()) expect(j.attempts).toBe(1);
  });

  test('a job left in_progress by another node is taken over once its lease ends', async () => {
    const e = await env();
    const dead = makeJob({ status: JobStatus.InProgress, owner: 'gone-node', lease_until: Date.now() + 300, attempts: 1 });
    await e.store.create(dead);
    await e.runner.start();
    await new Promise((r) => setTimeout(r, 100));
    expect((await e.store.get(dead.id))!.owner).toBe('gone-node');
    const done = await waitFor(statusIs(e.store, dead.id, JobStatus.Success));
    expect(done.attempts).toBe(2);
  });

  test('a job that already used every attempt is marked error, not retried', async () => {
    const e = await env({}, { maxAttempts: 2 });
    const dead = makeJob({ status: JobStatus.InProgress, owner: 'gone-node', lease_until: 1, attempts: 2 });
    await e.store.create(dead);
    await e.runner.start();
    const done = await waitFor(statusIs(e.store, dead.id, JobStatus.Error));
    expect(done.error).toMatch(/gave up after 2 attempts/);
    expect(e.builder.builds).toBe(0);
  });

  test.each([
    ['re-queued and finished when tries remain', 3, JobStatus.Success, 2],
    ['marked error when it used its last try', 1, JobStatus.Error, 1],
  ])('a job whose process was killed (SIGKILL) mid-build is %s at restart, without waiting for the lease', async (_n, maxAttempts, want, attempts) => {
    const dir = path.join(root.dir, `kill${n++}`);
    await mkdir(dir);
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'support/runner-child.ts'), dir, 'node-k', '3600000'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const id = await waitFor(() => /running (\w+)/.exec(out)?.[1], 20_000, 'child to start the job');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const e = await env({}, { maxAttempts }, 'node-k', dir);
    const before = (await e.store.get(id))!;
    expect(before.status).toBe(JobStatus.InProgress);
    expect(before.lease_until).toBeGreaterThan(Date.now() + 3_000_000); // lease alone would keep it for an hour
    await e.runner.start();
    const done = await waitFor(statusIs(e.store, id, want), 10_000, want);
    expect(done.attempts).toBe(attempts);
    if (want === JobStatus.Error) expect(existsSync(path.join(dir, dumpDir(id)))).toBe(false);
  });
});
