import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TargetServer, mattermostTarget } from '../support/target-server.js';

const BIN = new URL('../../bin/mm-metrics.js', import.meta.url).pathname;

interface Running {
  child: ChildProcess;
  stderr: () => string;
  url: Promise<string>;
  exit: Promise<number | null>;
}

function runService(args: string[]): Running {
  const child = spawn(process.execPath, [BIN, 'run', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const url = new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /running: (http:\/\/\S+)/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.on('exit', () => reject(new Error(`exited before ready:\n${err}\n${out}`)));
  });
  url.catch(() => {});
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, stderr: () => err, url, exit };
}

describe('mm-metrics run', () => {
  let dir: string;
  let server: TargetServer;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mm-cli-run-'));
    server = await TargetServer.start();
    server.define('/metrics', mattermostTarget({ series: 100 }));
  });
  afterAll(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('starts with flags, prints the URL and the admin token once, refuses a second instance, stops cleanly on SIGTERM, and keeps its data across a restart', async () => {
    const data = join(dir, 'data');
    const args = ['--data-dir', data, '--listen', '127.0.0.1:0', '--target', server.url('/metrics'), '--scrape-interval', '1s'];
    const a = runService(args);
    const url = await a.url;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/plugins\/com\.mattermost\.mattermost-plugin-metrics\/$/);
    const token = /Admin token[^\n]*\n\s+(\S+)/.exec(a.stderr())![1]!;
    expect(token.length).toBeGreaterThanOrEqual(32);
    expect((await stat(join(data, 'admin-token'))).mode & 0o777).toBe(0o600);
    await new Promise((r) => setTimeout(r, 3500));
    const targets = (await (await fetch(url + 'targets', { headers: { authorization: `Bearer ${token}` } })).json()) as Array<{ job: string; health: string }>;
    expect(targets.find((t) => t.job === 'static')?.health).toBe('up');

    const b = runService(args);
    expect(await b.exit).not.toBe(0);
    expect(b.stderr()).toMatch(/locked by running process/);

    a.child.kill('SIGTERM');
    expect(await a.exit).toBe(0);

    const c = runService(args);
    const url2 = await c.url;
    expect(c.stderr()).not.toContain('Admin token');
    const stats = (await (await fetch(url2 + 'tsdb/stats', { headers: { authorization: `Bearer ${token}` } })).json()) as { head?: { num_series: number } };
    expect(stats.head?.num_series).toBeGreaterThan(100);
    c.child.kill('SIGTERM');
    expect(await c.exit).toBe(0);
  }, 60_000);

  test('a bad setting is a clear error naming the key, with exit code 2', async () => {
    const r = runService(['--data-dir', join(dir, 'bad'), '--scrape-interval', 'soon']);
    expect(await r.exit).not.toBe(0);
    expect(r.stderr()).toMatch(/interval/);
  });
});
