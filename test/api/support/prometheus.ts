/** Starts a real Prometheus (empty TSDB, no scrape jobs) on a free loopback port for side-by-side checks. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface RealPrometheus {
  url: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startPrometheus(): Promise<RealPrometheus> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mm-prom-'));
  await writeFile(path.join(dir, 'prometheus.yml'), 'global: {}\n');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn('/usr/bin/prometheus', [
    `--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--log.level=error',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const r = await fetch(`${url}/-/ready`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`prometheus did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    async stop() {
      child.kill('SIGTERM');
      if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** True if Prometheus accepts `sel` as a `match[]` of /api/v1/series. */
export async function prometheusAccepts(p: RealPrometheus, sel: string): Promise<{ ok: boolean; error: string }> {
  const r = await fetch(`${p.url}/api/v1/series?${new URLSearchParams({ 'match[]': sel, start: '0', end: '1' })}`);
  const body = (await r.json()) as { status: string; error?: string };
  if (r.status !== 200 && r.status !== 400) throw new Error(`unexpected status ${r.status}: ${JSON.stringify(body)}`);
  return { ok: body.status === 'success', error: body.error ?? '' };
}
