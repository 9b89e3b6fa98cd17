/**
 * Oracles for the exposition parsers: real Prometheus 2.42 and promtool, run on our
 * edge-case bodies so the tests compare against what Prometheus really does rather
 * than against a reading of the spec.
 *
 *  - `runScrapeOracle(cases)`: one `prometheus` process on 127.0.0.1 (temp dir,
 *    scrape_interval 1s, honor_labels) scraping one tiny HTTP server that serves
 *    every case under its own path and Content-Type. Reads the target's health and
 *    lastError from /api/v1/targets and the stored samples (with timestamps) with a
 *    range-vector query, and exemplars from /api/v1/query_exemplars.
 *  - `runPromtoolOpenMetrics(body)`: `promtool tsdb create-blocks-from openmetrics`
 *    (2.42's OpenMetrics parser; every sample needs a timestamp) then
 *    `promtool tsdb dump`.
 *
 * Everything started here is stopped before the function returns.
 */
import { spawn, execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export const PROMETHEUS_BIN = '/usr/bin/prometheus';
export const PROMTOOL_BIN = '/usr/bin/promtool';
export const havePrometheus = existsSync(PROMETHEUS_BIN);
export const havePromtool = existsSync(PROMTOOL_BIN);

export interface OracleCase {
  /** [a-z0-9_]+ ; used in the URL path and as the `mm_case` target label */
  id: string;
  body: Uint8Array | string;
  contentType: string | null;
}

export interface OracleSample {
  /** labels as stored, minus the target labels job/instance/mm_case */
  labels: Record<string, string>;
  /** Prometheus's JSON rendering of the value ("1.5", "NaN", "+Inf") */
  value: string;
  /** ms */
  t: number;
}

export interface OracleExemplar {
  seriesLabels: Record<string, string>;
  labels: Record<string, string>;
  value: string;
  t: number;
}

export interface OracleResult {
  health: string;
  lastError: string;
  /** newest sample per series (range query over the last hour) */
  samples: OracleSample[];
  exemplars: OracleExemplar[];
  /** per-target metadata cache (/api/v1/targets/metadata): metric → {type, help, unit} */
  metadata: Record<string, { type: string; help: string; unit: string }>;
}

const REPORT_NAMES = new Set([
  'up',
  'scrape_duration_seconds',
  'scrape_samples_scraped',
  'scrape_samples_post_metric_relabeling',
  'scrape_series_added',
]);

/** lastError texts that are about the HTTP exchange rather than the body. */
const TRANSPORT_ERROR = /context deadline exceeded|connection (refused|reset)|server returned HTTP status|i\/o timeout/;

/** Targets per Prometheus process; more cases run in several rounds. */
const MAX_TARGETS = 250;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function getJSON(url: string): Promise<unknown> {
  const res = await fetch(url);
  const j = (await res.json()) as { status: string; data: unknown; error?: string };
  if (j.status !== 'success') throw new Error(`${url}: ${j.error ?? 'error'}`);
  return j.data;
}

function stripTargetLabels(m: Record<string, string>, id: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) {
    if (k === 'job' && v === 'oracle') continue;
    if (k === 'instance' && v.startsWith('127.0.0.1:')) continue;
    if (k === 'mm_case' && v === id) continue;
    out[k] = v;
  }
  return out;
}

/**
 * Scrapes every case with a real Prometheus and returns what it made of each.
 * Up to MAX_TARGETS cases share one Prometheus process (~5–15 s per round).
 */
export async function runScrapeOracle(cases: OracleCase[]): Promise<Map<string, OracleResult>> {
  const out = new Map<string, OracleResult>();
  for (let i = 0; i < cases.length; i += MAX_TARGETS) {
    for (const [k, v] of await runRound(cases.slice(i, i + MAX_TARGETS))) out.set(k, v);
  }
  return out;
}

async function runRound(cases: OracleCase[]): Promise<Map<string, OracleResult>> {
  const dir = await mkdtemp(join(tmpdir(), 'mm-textparse-oracle-'));
  const byPath = new Map<string, OracleCase>();
  for (const c of cases) byPath.set(`/c/${c.id}`, c);
  const server: Server = createServer((req, res) => {
    const c = byPath.get((req.url ?? '').split('?')[0] ?? '');
    if (!c) {
      res.statusCode = 404;
      res.end();
      return;
    }
    const headers: Record<string, string> = {};
    if (c.contentType !== null) headers['Content-Type'] = c.contentType;
    res.writeHead(200, headers);
    res.end(typeof c.body === 'string' ? Buffer.from(c.body, 'utf8') : Buffer.from(c.body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const httpPort = typeof addr === 'object' && addr ? addr.port : 0;
  const promPort = await freePort();

  const groups = cases
    .map(
      (c) =>
        `      - targets: ['127.0.0.1:${httpPort}']\n        labels: {__metrics_path__: '/c/${c.id}', mm_case: '${c.id}'}\n`,
    )
    .join('');
  const cfg =
    `global: {scrape_interval: 1s, scrape_timeout: 1s}\n` +
    `scrape_configs:\n  - job_name: oracle\n    honor_labels: true\n    static_configs:\n${groups}`;
  await writeFile(join(dir, 'prometheus.yml'), cfg);
  const logPath = join(dir, 'prometheus.log');
  const { openSync, closeSync } = await import('node:fs');
  const logFd = openSync(logPath, 'w');
  const proc = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      '--enable-feature=exemplar-storage',
      '--log.level=warn',
    ],
    { stdio: ['ignore', logFd, logFd] },
  );
  closeSync(logFd);
  const base = `http://127.0.0.1:${promPort}`;
  try {
    const t0 = Date.now();
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`prometheus exited (${proc.exitCode}); see ${logPath}`);
      try {
        const r = await fetch(`${base}/-/ready`);
        if (r.ok) break;
      } catch {
        /* not up yet */
      }
      if (Date.now() - t0 > 20_000) throw new Error('prometheus did not become ready');
      await sleep(100);
    }
    // Wait until every target has been scraped after startup with a result that
    // is about the body, not about transport (a loaded machine can time a scrape out).
    type Target = { labels: Record<string, string>; health: string; lastError: string; lastScrape: string };
    let targets: Target[] = [];
    const readyAt = Date.now();
    for (;;) {
      const d = (await getJSON(`${base}/api/v1/targets?state=active`)) as { activeTargets: Target[] };
      targets = d.activeTargets;
      const scraped = targets.filter(
        (t) => t.health !== 'unknown' && Date.parse(t.lastScrape) > readyAt + 1000 && !TRANSPORT_ERROR.test(t.lastError),
      );
      if (targets.length === cases.length && scraped.length === cases.length) break;
      if (Date.now() - readyAt > 60_000) {
        const bad = targets.find((t) => TRANSPORT_ERROR.test(t.lastError));
        throw new Error(`targets not all scraped: ${scraped.length}/${cases.length}${bad ? `; e.g. ${bad.lastError}` : ''}`);
      }
      await sleep(250);
    }
    const out = new Map<string, OracleResult>();
    const evalAt = (Date.now() + 10 * 60_000) / 1000;
    for (const c of cases) {
      const t = targets.find((x) => x.labels['mm_case'] === c.id);
      const res: OracleResult = { health: t?.health ?? 'missing', lastError: t?.lastError ?? '', samples: [], exemplars: [], metadata: {} };
      const q = encodeURIComponent(`{mm_case="${c.id}"}[2h]`);
      const data = (await getJSON(`${base}/api/v1/query?query=${q}&time=${evalAt}`)) as {
        result: { metric: Record<string, string>; values: [number, string][] }[];
      };
      for (const s of data.result) {
        if (REPORT_NAMES.has(s.metric['__name__'] ?? '')) continue;
        const last = s.values[s.values.length - 1];
        if (!last) continue;
        res.samples.push({ labels: stripTargetLabels(s.metric, c.id), value: last[1], t: Math.round(last[0] * 1000) });
      }
      const eq = encodeURIComponent(`{mm_case="${c.id}"}`);
      const ex = (await getJSON(
        `${base}/api/v1/query_exemplars?query=${eq}&start=0&end=${evalAt + 3600 * 24 * 365 * 100}`,
      )) as { seriesLabels: Record<string, string>; exemplars: { labels: Record<string, string>; value: string; timestamp: number }[] }[];
      for (const s of ex ?? []) {
        for (const e of s.exemplars) {
          res.exemplars.push({
            seriesLabels: stripTargetLabels(s.seriesLabels, c.id),
            labels: e.labels,
            value: e.value,
            t: Math.round(e.timestamp * 1000),
          });
        }
      }
      const mq = encodeURIComponent(`{mm_case="${c.id}"}`);
      const md = (await getJSON(`${base}/api/v1/targets/metadata?match_target=${mq}`)) as {
        metric: string;
        type: string;
        help: string;
        unit: string;
      }[];
      for (const m of md ?? []) res.metadata[m.metric] = { type: m.type, help: m.help, unit: m.unit };
      out.set(c.id, res);
    }
    return out;
  } finally {
    proc.kill('SIGTERM');
    await new Promise<void>((r) => {
      if (proc.exitCode !== null) r();
      else {
        const timer = setTimeout(() => {
          proc.kill('SIGKILL');
        }, 5000);
        proc.once('exit', () => {
          clearTimeout(timer);
          r();
        });
      }
    });
    await new Promise<void>((r) => server.close(() => r()));
    if (!process.env['MM_KEEP_ORACLE']) await rm(dir, { recursive: true, force: true });
  }
}

export interface PromtoolSample {
  labels: Record<string, string>;
  /** as printed by `promtool tsdb dump` (Go %g) */
  value: string;
  t: number;
}

export interface PromtoolResult {
  ok: boolean;
  error: string;
  samples: PromtoolSample[];
}

/** Parses one `promtool tsdb dump` line: `{a="b", c="d"} value ts`. */
export function parseDumpLine(line: string): PromtoolSample {
  let i = 1;
  const labels: Record<string, string> = {};
  while (line[i] !== '}') {
    const eq = line.indexOf('=', i);
    const name = line.slice(i, eq);
    i = eq + 2; // past ="
    let v = '';
    while (line[i] !== '"') {
      const ch = line[i] as string;
      if (ch === '\\') {
        const n = line[i + 1];
        if (n === 'n') v += '\n';
        else if (n === 't') v += '\t';
        else if (n === 'r') v += '\r';
        else if (n === 'x') {
          v += String.fromCharCode(parseInt(line.slice(i + 2, i + 4), 16));
          i += 2;
        } else if (n === 'u') {
          v += String.fromCharCode(parseInt(line.slice(i + 2, i + 6), 16));
          i += 4;
        } else if (n === 'U') {
          v += String.fromCodePoint(parseInt(line.slice(i + 2, i + 10), 16));
          i += 8;
        } else v += n;
        i += 2;
      } else {
        v += ch;
        i++;
      }
    }
    labels[name] = v;
    i++; // closing quote
    if (line[i] === ',') i += 2; // ", "
  }
  const rest = line.slice(i + 2).split(' ');
  return { labels, value: rest[0] as string, t: Number(rest[1]) };
}

/** Runs 2.42's OpenMetrics parser through promtool's backfill and dumps the result. */
export async function runPromtoolOpenMetrics(body: Uint8Array | string): Promise<PromtoolResult> {
  const dir = await mkdtemp(join(tmpdir(), 'mm-textparse-promtool-'));
  try {
    const file = join(dir, 'in.om');
    await writeFile(file, typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
    const out = join(dir, 'out');
    await mkdir(out);
    try {
      await execFileP(PROMTOOL_BIN, ['tsdb', 'create-blocks-from', 'openmetrics', file, out], { timeout: 20_000 });
    } catch (e) {
      const err = e as { stderr?: string; stdout?: string };
      return { ok: false, error: `${err.stderr ?? ''}${err.stdout ?? ''}`.trim(), samples: [] };
    }
    await mkdir(join(out, 'wal'), { recursive: true });
    const { stdout } = await execFileP(PROMTOOL_BIN, ['tsdb', 'dump', out], { timeout: 20_000, maxBuffer: 64 << 20 });
    const samples = stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map(parseDumpLine);
    return { ok: true, error: '', samples };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
