/**
 * Starts and stops a real Prometheus 2.42 (`/usr/bin/prometheus`) for tests and
 * benches: free port on 127.0.0.1, its own temp dir (config + TSDB), waits until
 * ready, and wraps the HTTP API.
 *
 *   const prom = await startPrometheus({ scrapeConfigs: [{ job_name: 'a', static_configs: [{ targets: [addr] }] }] });
 *   await prom.query('up');                     // instant vector
 *   await prom.queryRange('rate(x[1m])', s, e, 1);
 *   await prom.series(['{job="a"}']);
 *   await prom.targets();
 *   await prom.reload({ scrapeConfigs: [...] }); // rewrite config + POST /-/reload
 *   await prom.stop();                          // SIGTERM, wait, remove temp dir
 *
 * Times in and out are milliseconds since the epoch; the API is given seconds.
 * Scrape configs are plain objects in Prometheus's YAML schema (snake_case), written
 * with the `yaml` package, so any 2.42 option can be used.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

export const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';
export const havePrometheus = existsSync(PROMETHEUS_BIN);

/** One `scrape_configs` entry in Prometheus's YAML schema. */
export type PromScrapeConfig = Record<string, unknown> & { job_name: string };

export interface PrometheusOptions {
  scrapeConfigs?: PromScrapeConfig[];
  /** `global:` section (scrape_interval, scrape_timeout, external_labels …). */
  global?: Record<string, unknown>;
  /** Extra command-line flags, e.g. `--enable-feature=…`, `--storage.tsdb.retention.time=…`. */
  args?: string[];
  /** Use this TSDB directory instead of a fresh temp dir (kept on stop). */
  dataDir?: string;
  /** Keep the temp dir on stop (to read the TSDB Prometheus wrote). */
  keepData?: boolean;
  /** ms to wait for /-/ready. Default 30 s. */
  readyTimeout?: number;
  /** --log.level; default warn. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

export interface PromSample {
  /** ms */
  t: number;
  /** Prometheus's string rendering ("1.5", "NaN", "+Inf"). */
  value: string;
}

export interface PromVectorElem {
  metric: Record<string, string>;
  /** Evaluation time (ms) and value. */
  t: number;
  value: string;
}

export interface PromMatrixElem {
  metric: Record<string, string>;
  values: PromSample[];
}

export interface PromTarget {
  discoveredLabels: Record<string, string>;
  labels: Record<string, string>;
  scrapePool: string;
  scrapeUrl: string;
  globalUrl: string;
  lastError: string;
  lastScrape: string;
  lastScrapeDuration: number;
  health: 'up' | 'down' | 'unknown';
  scrapeInterval: string;
  scrapeTimeout: string;
}

export type PromQueryResult =
  | { resultType: 'vector'; result: PromVectorElem[] }
  | { resultType: 'matrix'; result: PromMatrixElem[] }
  | { resultType: 'scalar' | 'string'; result: PromSample };

export class PrometheusError extends Error {
  readonly code = 'MM_ERR_TEST_PROMETHEUS';
}

/** Finds a free TCP port on 127.0.0.1 (bind :0, read, close). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export class Prometheus {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  readonly dataDir: string;
  readonly configPath: string;
  private readonly proc: ChildProcess;
  private readonly ownDir: boolean;
  private readonly keep: boolean;
  private log = '';
  private exited: Promise<number | null>;
  private global: Record<string, unknown>;

  private constructor(proc: ChildProcess, port: number, dir: string, dataDir: string, configPath: string, ownDir: boolean, keep: boolean, global: Record<string, unknown>) {
    this.proc = proc;
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    this.dir = dir;
    this.dataDir = dataDir;
    this.configPath = configPath;
    this.ownDir = ownDir;
    this.keep = keep;
    this.global = global;
    const keepLog = (d: Buffer): void => {
      this.log += d.toString();
      if (this.log.length > 200_000) this.log = this.log.slice(-100_000);
    };
    proc.stdout?.on('data', keepLog);
    proc.stderr?.on('data', keepLog);
    this.exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
  }

  /** Process id (for /proc/<pid>/stat in benches). */
  get pid(): number {
    return this.proc.pid ?? -1;
  }

  /** Everything Prometheus logged so far (for failure messages). */
  logs(): string {
    return this.log;
  }

  static async start(o: PrometheusOptions = {}): Promise<Prometheus> {
    if (!havePrometheus) throw new PrometheusError(`prometheus binary not found at ${PROMETHEUS_BIN}`);
    const dir = await mkdtemp(join(tmpdir(), 'mm-prom-'));
    const dataDir = o.dataDir ?? join(dir, 'data');
    const configPath = join(dir, 'prometheus.yml');
    const global = o.global ?? { scrape_interval: '1s', scrape_timeout: '1s' };
    await writeFile(configPath, renderConfig(global, o.scrapeConfigs ?? []));
    const port = await freePort();
    const proc = spawn(
      PROMETHEUS_BIN,
      [
        `--config.file=${configPath}`,
        `--storage.tsdb.path=${dataDir}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--web.enable-lifecycle',
        '--web.enable-admin-api',
        `--log.level=${o.logLevel ?? 'warn'}`,
        ...(o.args ?? []),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const p = new Prometheus(proc, port, dir, dataDir, configPath, o.dataDir === undefined, o.keepData ?? false, global);
    try {
      await p.waitReady(o.readyTimeout ?? 30_000);
    } catch (e) {
      await p.stop();
      throw e;
    }
    return p;
  }

  private async waitReady(timeout: number): Promise<void> {
    const deadline = Date.now() + timeout;
    let exitCode: number | null | undefined;
    void this.exited.then((c) => (exitCode = c));
    while (Date.now() < deadline) {
      if (exitCode !== undefined) throw new PrometheusError(`prometheus exited with ${exitCode}:\n${this.log}`);
      try {
        const r = await fetch(`${this.url}/-/ready`);
        if (r.status === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new PrometheusError(`prometheus not ready after ${timeout} ms:\n${this.log}`);
  }

  /** Rewrites the config and reloads it (POST /-/reload). */
  async reload(o: { scrapeConfigs: PromScrapeConfig[]; global?: Record<string, unknown> }): Promise<void> {
    if (o.global !== undefined) this.global = o.global;
    await writeFile(this.configPath, renderConfig(this.global, o.scrapeConfigs));
    const r = await fetch(`${this.url}/-/reload`, { method: 'POST' });
    if (r.status !== 200) throw new PrometheusError(`reload failed: ${r.status} ${await r.text()}`);
  }

  private async api<T>(path: string, params: Record<string, string | string[]>): Promise<T> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) q.append(k, x);
    const r = await fetch(`${this.url}${path}`, { method: 'POST', body: q });
    const j = (await r.json()) as { status: string; data: T; error?: string };
    if (j.status !== 'success') throw new PrometheusError(`${path} ${q.toString()}: ${j.error ?? r.status}`);
    return j.data;
  }

  /** Instant query at `time` (ms; default now). Matrix results keep raw samples (range selectors). */
  async query(expr: string, time?: number): Promise<PromQueryResult> {
    const params: Record<string, string> = { query: expr };
    if (time !== undefined) params.time = String(time / 1000);
    return convertResult(await this.api<RawResult>('/api/v1/query', params));
  }

  /** Raw samples of every series matching `selector` in (time − window, time]: `selector[window]`. */
  async rawSamples(selector: string, windowMs: number, time: number): Promise<PromMatrixElem[]> {
    const r = await this.query(`${selector}[${Math.ceil(windowMs)}ms]`, time);
    if (r.resultType !== 'matrix') throw new PrometheusError(`expected matrix for ${selector}`);
    return r.result;
  }

  /** Range query; `step` in seconds. */
  async queryRange(expr: string, start: number, end: number, step: number): Promise<PromMatrixElem[]> {
    const r = convertResult(await this.api<RawResult>('/api/v1/query_range', { query: expr, start: String(start / 1000), end: String(end / 1000), step: String(step) }));
    if (r.resultType !== 'matrix') throw new PrometheusError('query_range did not return a matrix');
    return r.result;
  }

  /** /api/v1/series for the given selectors (start/end in ms, optional). */
  async series(match: string[], start?: number, end?: number): Promise<Array<Record<string, string>>> {
    const params: Record<string, string | string[]> = { 'match[]': match };
    if (start !== undefined) params.start = String(start / 1000);
    if (end !== undefined) params.end = String(end / 1000);
    return this.api('/api/v1/series', params);
  }

  /** Active targets of /api/v1/targets. */
  async targets(): Promise<PromTarget[]> {
    const r = await fetch(`${this.url}/api/v1/targets?state=active`);
    const j = (await r.json()) as { data: { activeTargets: PromTarget[] } };
    return j.data.activeTargets;
  }

  /** A sample of Prometheus's own /metrics (e.g. `prometheus_tsdb_head_samples_appended_total`), summed over label sets. */
  async selfMetric(name: string): Promise<number> {
    const body = await (await fetch(`${this.url}/metrics`)).text();
    let sum = 0;
    let found = false;
    for (const line of body.split('\n')) {
      if (line.startsWith(name + ' ') || line.startsWith(name + '{')) {
        sum += Number(line.slice(line.lastIndexOf(' ') + 1));
        found = true;
      }
    }
    if (!found) throw new PrometheusError(`metric ${name} not exposed`);
    return sum;
  }

  /** SIGTERM (or `signal`, e.g. SIGKILL for crash tests), wait for exit, remove the temp dir unless kept. Idempotent. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill(signal);
      const t = setTimeout(() => this.proc.kill('SIGKILL'), 15_000);
      await this.exited;
      clearTimeout(t);
    }
    if (this.ownDir && !this.keep) await rm(this.dir, { recursive: true, force: true });
  }
}

/** Shorthand for `Prometheus.start`. */
export function startPrometheus(o: PrometheusOptions = {}): Promise<Prometheus> {
  return Prometheus.start(o);
}

function renderConfig(global: Record<string, unknown>, scrapeConfigs: PromScrapeConfig[]): string {
  return stringify({ global, scrape_configs: scrapeConfigs });
}

type RawResult = { resultType: string; result: unknown };

function convertResult(raw: RawResult): PromQueryResult {
  switch (raw.resultType) {
    case 'vector':
      return {
        resultType: 'vector',
        result: (raw.result as Array<{ metric: Record<string, string>; value: [number, string] }>).map((e) => ({
          metric: e.metric,
          t: Math.round(e.value[0] * 1000),
          value: e.value[1],
        })),
      };
    case 'matrix':
      return {
        resultType: 'matrix',
        result: (raw.result as Array<{ metric: Record<string, string>; values: Array<[number, string]> }>).map((e) => ({
          metric: e.metric,
          values: e.values.map(([t, v]) => ({ t: Math.round(t * 1000), value: v })),
        })),
      };
    default: {
      const [t, v] = raw.result as [number, string];
      return { resultType: raw.resultType as 'scalar' | 'string', result: { t: Math.round(t * 1000), value: v } };
    }
  }
}
