import { spawn } from 'node:child_process';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { JobExistsError, JobStoreCorruptError, InvalidJobError } from '../../src/jobs/errors.js';
import { openFileJobStore } from '../../src/jobs/file-store.js';
import { JobStatus } from '../../src/jobs/types.js';
import { makeJob, tempDir } from './support/jobs.js';

let root: { dir: string; cleanup: () => Promise<void> };
let n = 0;
const freshDir = async (): Promise<string> => {
  const d = path.join(root.dir, `s${n++}`);
  await mkdir(d);
  return d;
};

beforeAll(async () => {
  root = await tempDir('mm-jobs-store-');
});
afterAll(async () => {
  await root.cleanup();
});

describe('FileJobStore', () => {
  test('created jobs are listed newest first and survive a reopen', async () => {
    const dir = await freshDir();
    const s = await openFileJobStore(dir);
    const a = makeJob({ create_at: 100 });
    const b = makeJob({ create_at: 300 });
    const c = makeJob({ create_at: 200 });
    for (const j of [a, b, c]) await s.create(j);
    expect((await s.list()).map((j) => j.id)).toEqual([b.id, c.id, a.id]);
    await s.close();
    const s2 = await openFileJobStore(dir);
    expect((await s2.list()).map((j) => j.id)).toEqual([b.id, c.id, a.id]);
    expect(await s2.get(a.id)).toEqual(a);
    await s2.close();
  });

  test('the jobs file is written with mode 0600', async () => {
    const dir = await freshDir();
    const s = await openFileJobStore(dir);
    await s.create(makeJob());
    expect((await stat(path.join(dir, 'jobs.json'))).mode & 0o777).toBe(0o600);
    await s.close();
  });

  test.each([
    ['a duplicate id', async (s: Awaited<ReturnType<typeof openFileJobStore>>, existing: string) => s.create(makeJob({ id: existing })), JobExistsError],
    ['an id with a slash', async (s: Awaited<ReturnType<typeof openFileJobStore>>) => s.create(makeJob({ id: '../../../../etc/passwd0000' })), InvalidJobError],
    ['an upper-case id', async (s: Awaited<ReturnType<typeof openFileJobStore>>) => s.create(makeJob({ id: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ' })), InvalidJobError],
    ['an unknown status', async (s: Awaited<ReturnType<typeof openFileJobStore>>) => s.create(makeJob({ status: 'weird' as never })), InvalidJobError],
    ['a non-numeric min_t', async (s: Awaited<ReturnType<typeof openFileJobStore>>) => s.create(makeJob({ min_t: '5' as never })), InvalidJobError],
  ])('create rejects %s and stores nothing', async (_name, op, cls) => {
    const dir = await freshDir();
    const s = await openFileJobStore(dir);
    const first = makeJob();
    await s.create(first);
    await expect(op(s, first.id)).rejects.toBeInstanceOf(cls);
    expect((await s.list()).map((j) => j.id)).toEqual([first.id]);
    await s.close();
  });

  test('claim takes the oldest runnable job and exactly one caller gets each job', async () => {
    const dir = await freshDir();
    const s = await openFileJobStore(dir);
    const jobs = [makeJob({ create_at: 30 }), makeJob({ create_at: 10 }), makeJob({ create_at: 20 })];
    for (const j of jobs) await s.create(j);
    const got = await Promise.all(Array.from({ length: 8 }, (_, i) => s.claim(`node${i}`, 1000, 5000)));
    const ids = got.filter((j) => j !== null).map((j) => j!.id);
    expect(ids).toEqual([jobs[1]!.id, jobs[2]!.id, jobs[0]!.id]);
    for (const j of got.filter((x) => x !== null)) {
      expect(j!.status).toBe(JobStatus.InProgress);
      expect(j!.lease_until).toBe(6000);
    }
    await s.close();
  });

  test('claim takes over an in_progress job only after its lease ended', async () => {
    const dir = await freshDir();
    const s = await openFileJobStore(dir);
    const j = makeJob({ status: JobStatus.InProgress, owner: 'dead', lease_until: 5000 });
    await s.create(j);
    expect(await s.claim('me', 1000, 4999)).toBeNull();
    const c = await s.claim('me', 1000, 5000);
    expect(c?.id).toBe(j.id);
    expect(c?.owner).toBe('me');
    await s.close();
  });

  test('update succeeds only for the current owner and changes nothing otherwise', async () => {
    const dir = await freshDir();
    const s = await openFileJobStore(dir);
    await s.create(makeJob());
    const c = (await s.claim('me', 1000, Date.now()))!;
    expect(await s.update({ ...c, progress: 40 }, 'someone-else')).toBe(false);
    expect((await s.get(c.id))!.progress).toBe(0);
    expect(await s.update({ ...c, progress: 40 }, 'me')).toBe(true);
    expect((await s.get(c.id))!.progress).toBe(40);
    await s.delete(c.id);
    expect(await s.update({ ...c, progress: 50 }, 'me')).toBe(false);
    expect(await s.get(c.id)).toBeNull();
    await s.close();
  });

  test('delete returns the removed job once and null after', async () => {
    const dir = await freshDir();
    const s = await openFileJobStore(dir);
    const j = makeJob();
    await s.create(j);
    expect((await s.delete(j.id))?.id).toBe(j.id);
    expect(await s.delete(j.id)).toBeNull();
    await s.close();
    expect((await (await openFileJobStore(dir)).list()).length).toBe(0);
  });

  test('a failed write leaves memory and disk at the previous state', async () => {
    const dir = await freshDir();
    const s = await openFileJobStore(dir);
    const a = makeJob();
    await s.create(a);
    await mkdir(path.join(dir, 'jobs.json.tmp')); // open(tmp, 'w') now fails with EISDIR
    await expect(s.create(makeJob())).rejects.toThrow(/EISDIR/);
    expect((await s.list()).map((j) => j.id)).toEqual([a.id]);
    const onDisk = JSON.parse(await readFile(path.join(dir, 'jobs.json'), 'utf8'));
    expect(onDisk.jobs.map((j: { id: string }) => j.id)).toEqual([a.id]);
    await s.close();
    // The leftover tmp (here a dir) is discarded at open.
    const s2 = await openFileJobStore(dir);
    await s2.create(makeJob());
    expect((await s2.list()).length).toBe(2);
    await s2.close();
  });

  test.each([
    ['not JSON', '{"version":1,"jobs":[', /not JSON/],
    ['a wrong version', '{"version":7,"jobs":[]}', /unsupported version 7/],
    ['a record with a bad id', '{"version":1,"jobs":[{"id":"x","status":"pending"}]}', /jobs\[0\]: .*bad job id "x"/],
    ['no jobs array', '{"version":1}', /"jobs" array/],
  ])('a jobs file with %s fails to open with an error naming the file', async (_name, text, re) => {
    const dir = await freshDir();
    await writeFile(path.join(dir, 'jobs.json'), text);
    const err = await openFileJobStore(dir).catch((e) => e);
    expect(err).toBeInstanceOf(JobStoreCorruptError);
    expect(err.message).toContain(path.join(dir, 'jobs.json'));
    expect(err.message).toMatch(re);
  });

  test('records from an older writer get the additive fields filled in', async () => {
    const dir = await freshDir();
    const id = 'abcdefghijklmnopqrstuvwxyz';
    await writeFile(path.join(dir, 'jobs.json'), JSON.stringify({ version: 1, jobs: [{ id, status: 'success', create_at: 5, min_t: 1, max_t: 2, dump_location: 'x' }] }));
    const s = await openFileJobStore(dir);
    const j = (await s.get(id))!;
    expect(j).toMatchObject({ id, status: 'success', progress: 0, error: '', owner: '', attempts: 0, instances: [], sha256: '' });
    await s.close();
  });

  test('every mutation a killed (SIGKILL) process reported as done is on disk, and the file always parses', async () => {
    for (let round = 0; round < 4; round++) {
      const dir = await freshDir();
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'support/store-child.ts'), dir], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      await new Promise<void>((resolve) => {
        const check = (): void => {
          if (out.includes('ready')) resolve();
          else setTimeout(check, 10);
        };
        check();
      });
      await new Promise((r) => setTimeout(r, 100 + round * 90));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const committed = out.split('\n').filter((l) => l.startsWith('committed '));
      expect(committed.length).toBeGreaterThan(0);
      const s = await openFileJobStore(dir);
      for (const line of committed) {
        const [, op, id] = line.split(' ');
        const j = await s.get(id!);
        expect(j, `${op} ${id} was reported committed`).not.toBeNull();
        if (op === 'progress') expect(j!.progress).toBe(50);
      }
      await s.close();
    }
  });
});
