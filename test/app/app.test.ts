import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import pino from 'pino';
import { startApp, type App, type AppSettings } from '../../src/app.js';
import { testAppSettings } from '../support/app-settings.js';
import { TargetServer, mattermostTarget } from '../support/target-server.js';

const TOKEN = 'test-admin-token-0123456789abcdef0123456789';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function settings(dataDir: string, targetUrl: string): AppSettings {
  return testAppSettings(dataDir, [targetUrl], TOKEN);
}

async function api(app: App, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(app.url + path.replace(/^\//, ''), { ...init, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });
}

describe('the service on one node', () => {
  let dir: string;
  let server: TargetServer;
  let app: App;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mm-app-'));
    server = await TargetServer.start();
    server.define('/metrics', mattermostTarget({ series: 300, seed: 7 }));
    app = await startApp(settings(join(dir, 'data'), server.url('/metrics')), pino({ level: 'silent' }));
    await sleep(4500);
  }, 60_000);
  afterAll(async () => {
    await app?.stop();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('scrapes its targets and itself, and reports them healthy', async () => {
    const r = await api(app, '/targets');
    expect(r.status).toBe(200);
    const targets = (await r.json()) as Array<{ job: string; health: string; last_samples: number }>;
    expect(targets.map((t) => t.job).sort()).toEqual(['mm-metrics', 'prometheus']);
    for (const t of targets) expect(t.health).toBe('up');
    expect(targets.find((t) => t.job === 'prometheus')!.last_samples).toBeGreaterThanOrEqual(300);
  });

  test('routes need the admin token, health and metrics do not', async () => {
    expect((await fetch(app.url + 'jobs')).status).toBe(401);
    const origin = new URL(app.url).origin;
    expect((await fetch(origin + '/healthz')).status).toBe(200);
    const m = await fetch(origin + '/metrics');
    expect(m.status).toBe(200);
    expect(await m.text()).toContain('prometheus_tsdb_head_series');
  });

  test('a dump created through the API finishes, downloads, and opens in promtool with the scraped series', async () => {
    const stats = (await (await api(app, '/tsdb/stats')).json()) as { head?: { min_t: number; max_t: number; num_series: number } };
    expect(stats.head?.num_series).toBeGreaterThan(300);
    const body = JSON.stringify({ min_t: stats.head!.min_t, max_t: stats.head!.max_t });
    const est = (await (await api(app, '/jobs/estimate', { method: 'POST', body })).json()) as { bytes: number };
    expect(est.bytes).toBeGreaterThan(0);
    const created = await api(app, '/jobs/create', { method: 'POST', body });
    expect(created.status).toBe(200);
    const job = (await created.json()) as { id: string; status: string };
    expect(job.status).toBe('pending');
    let j: { status: string; sha256: string; size: number; error: string } = { status: '', sha256: '', size: 0, error: '' };
    for (let i = 0; i < 100 && j.status !== 'success' && j.status !== 'error'; i++) {
      await sleep(200);
      j = (await (await api(app, `/jobs/${job.id}`)).json()) as typeof j;
    }
    expect(j.error).toBe('');
    expect(j.status).toBe('success');
    const dl = await api(app, `/jobs/download/${job.id}`);
    expect(dl.status).toBe(200);
    const bytes = Buffer.from(await dl.arrayBuffer());
    expect(bytes.length).toBe(j.size);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(j.sha256);
    const out = join(dir, 'extract');
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'dump.tar.gz'), bytes);
    execFileSync('tar', ['xzf', 'dump.tar.gz'], { cwd: out });
    const dump = execFileSync('promtool', ['tsdb', 'dump', join(out, 'data')], { encoding: 'utf8', maxBuffer: 256 << 20 });
    expect(dump).toMatch(/^\{__name__="up", instance="127\.0\.0\.1:\d+", job="prometheus"\} 1 \d+$/m);
    expect(dump).toContain('job="mm-metrics"');
    expect(await readFile(join(out, 'metadata.yaml'), 'utf8')).toContain('type: plugin-packet');
  });

  test('a second instance on the same data directory refuses to start with a clear message', async () => {
    await expect(startApp({ ...settings(join(dir, 'data'), server.url('/metrics')), listen: { host: '127.0.0.1', port: 0 } }, pino({ level: 'silent' }))).rejects.toThrow(/already open|locked/);
  });
});
