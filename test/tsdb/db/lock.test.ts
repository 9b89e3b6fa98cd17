import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, test } from 'vitest';
import { acquireDirLock, LockError } from '../../../src/tsdb/head/lockfile.js';

const dirs: string[] = [];
const procs: ChildProcess[] = [];
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'mm-lock-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const lockModule = new URL('../../../src/tsdb/head/lockfile.ts', import.meta.url).pathname;

/** A child node process that takes the lock and holds it until killed. */
async function holder(dir: string): Promise<ChildProcess> {
  const code = `import { acquireDirLock } from ${JSON.stringify(lockModule)}; acquireDirLock(${JSON.stringify(dir)}); console.log('LOCKED'); setInterval(() => {}, 1000);`;
  const p = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  procs.push(p);
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: p.stdout! }).on('line', (l) => l === 'LOCKED' && resolve());
    p.on('exit', (c) => reject(new Error(`holder exited with ${c}`)));
  });
  return p;
}

describe('the data directory lock', () => {
  test('a second open in the same process is refused, and release frees it', async () => {
    const dir = await tmp();
    const l = acquireDirLock(dir);
    expect(() => acquireDirLock(dir)).toThrow(/already open in this process/);
    expect(await readFile(join(dir, 'lock'), 'utf8')).toContain(`pid=${process.pid}`);
    l.release();
    expect(existsSync(join(dir, 'lock'))).toBe(false);
    acquireDirLock(dir).release();
  });

  test('a live process holding the lock makes open fail with a clear message; after kill -9 the stale lock is taken over', async () => {
    const dir = await tmp();
    const p = await holder(dir);
    let err: unknown;
    try {
      acquireDirLock(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LockError);
    expect((err as LockError).code).toBe('MM_ERR_DB_LOCKED');
    expect((err as Error).message).toContain(`locked by running process pid ${p.pid}`);
    p.kill('SIGKILL');
    await new Promise((r) => p.once('exit', r));
    const stale: string[] = [];
    const l = acquireDirLock(dir, (w) => stale.push(w));
    expect(stale).toEqual([`stale lock of pid ${p.pid} (process gone)`]);
    l.release();
  });

  test('a lock naming our own pid but not held by this process is a leftover (pid reuse after restart)', async () => {
    const dir = await tmp();
    await writeFile(join(dir, 'lock'), `mm-metrics-lock v1\npid=${process.pid}\nstart=1\nboot=x\nhost=${(await import('node:os')).hostname()}\n`);
    const stale: string[] = [];
    acquireDirLock(dir, (w) => stale.push(w)).release();
    expect(stale.length).toBe(1);
  });

  test('a lock written on another host is refused: it cannot be checked', async () => {
    const dir = await tmp();
    await writeFile(join(dir, 'lock'), 'mm-metrics-lock v1\npid=123\nstart=1\nboot=x\nhost=some-other-host\n');
    expect(() => acquireDirLock(dir)).toThrow(/locked by pid 123 on host some-other-host/);
  });

  test.skipIf(!existsSync('/usr/bin/flock'))('an empty lock file flock-ed by another process (a running Prometheus) is refused; unlocked, it is taken over', async () => {
    const dir = await tmp();
    const path = join(dir, 'lock');
    await writeFile(path, '');
    // Its own process group, so the shell and sleep holding the inherited lock fd die too.
    const p = spawn('/usr/bin/flock', [path, 'sh', '-c', 'echo LOCKED; exec sleep 60'], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    procs.push(p);
    await new Promise<void>((resolve) => createInterface({ input: p.stdout! }).on('line', (l) => l === 'LOCKED' && resolve()));
    expect(() => acquireDirLock(dir)).toThrow(/flock held/);
    process.kill(-p.pid!, 'SIGKILL');
    await new Promise((r) => p.once('exit', r));
    const stale: string[] = [];
    // The killed group's last member may need a moment to drop the inherited lock fd.
    for (let i = 0; ; i++) {
      try {
        acquireDirLock(dir, (w) => stale.push(w)).release();
        break;
      } catch (e) {
        if (i >= 50) throw e;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    expect(stale[0]).toMatch(/unowned lock file/);
  });
});
