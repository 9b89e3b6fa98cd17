/**
 * Minimal harness for the WAL's Prometheus conformance tests: runs the real
 * /usr/bin/prometheus (2.42) on a given data dir and free loopback port, waits
 * for /-/ready, queries, stops with SIGTERM. Kept local to the WAL tests so they
 * do not depend on other suites' helpers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer as createNetServer } from 'node:net';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';

export const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';
export const havePrometheus = existsSync(PROMETHEUS_BIN);

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RunningProm {
  url: string;
  logs(): string;
  /** SIGTERM and wait for a clean exit (the TSDB is closed when it resolves). */
  stop(): Promise<number | null>;
  /** SIGKILL, for cleanup after a failure. */
  kill(): void;
}

/** Starts Prometheus with `config` (YAML text) in `workDir`, TSDB at `dataDir`. */
export async function startProm(workDir: string, dataDir: string, config: string, args: string[] = []): Promise<RunningProm> {
  const configPath = join(workDir, `prometheus-${Date.now()}-${Math.random().toString(36).slice(2)}.yml`);
  await writeFile(configPath, config);
  const port = await freePort();
  const proc: ChildProcess = spawn(
    PROMETHEUS_BIN,
    [`--config.file=${configPath}`, `--storage.tsdb.path=${dataDir}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=info', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  const keep = (d: Buffer) => {
    log += d.toString();
    if (log.length > 400_000) log = log.slice(-200_000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const exited = new Promise<number | null>((res) => proc.once('exit', (c) => res(c)));
  let exitCode: number | null | undefined;
  void exited.then((c) => (exitCode = c));
  const url = `http://127.0.0.1:${port}`;
  const kill = () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exitCode !== undefined) throw new Error(`prometheus exited with ${exitCode}:\n${log}`);
    if (Date.now() > deadline) {
      kill();
      throw new Error(`prometheus not ready after 30 s:\n${log}`);
    }
    try {
      if ((await fetch(`${url}/-/ready`)).status === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    logs: () => log,
    kill,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(kill, 20_000);
        const c = await exited;
        clearTimeout(t);
        return c;
      }
      return proc.exitCode;
    },
  };
}

export interface MatrixElem {
  metric: Record<string, string>;
  values: Array<[number, string]>;
}

/** /api/v1/query at `timeMs`; returns the raw `data.result`. */
export async function query<T = MatrixElem[]>(url: string, expr: string, timeMs: number): Promise<T> {
  const q = new URLSearchParams({ query: expr, time: String(timeMs / 1000) });
  const r = await fetch(`${url}/api/v1/query?${q.toString()}`);
  const j = (await r.json()) as { status: string; data: { result: T }; error?: string };
  if (j.status !== 'success') throw new Error(`query ${expr}: ${j.error}`);
  return j.data.result;
}

/** A tiny scrape target whose body is produced per request by `body(n)` (n = 1, 2, … per scrape). */
export async function startTarget(body: (n: number) => string): Promise<{ addr: string; scrapes: () => number; close: () => Promise<void> }> {
  let n = 0;
  const srv: Server = createServer((req, res) => {
    n++;
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(body(n));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  return {
    addr: `127.0.0.1:${port}`,
    scrapes: () => n,
    close: () => new Promise<void>((r) => srv.close(() => r())),
  };
}
