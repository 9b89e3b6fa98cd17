/**
 * Side by side with Prometheus 2.42: whole-process CPU and memory to scrape the same
 * Mattermost-like targets.
 *
 *   node --import tsx bench/macro/side-by-side.ts
 *   MM_SIDE_MINUTES=2 MM_SIDE_TARGETS=10 MM_SIDE_SERIES=5000 …
 *   MM_CMD='node bin/mm-metrics.js run --data-dir {dataDir} --listen 127.0.0.1:0 {targets} --scrape-interval 1s'
 *
 * Starts one target server per target (10 × 5,000 series, gzip like promhttp,
 * counters growing every scrape; each body is rendered once per scrape index and
 * shared), then Prometheus (scrape_interval 1s) and the mm-metrics side (MM_CMD, by
 * default bench/macro/mm-scrape-child.ts with the in-memory appender; `{targets}`
 * expands to `--target URL …`, `{dataDir}` to a temp dir) at the same time for N
 * minutes. Reports for each side CPU seconds (utime+stime from /proc/<pid>/stat, the
 * whole process) per million samples — samples from each side's own counter:
 * Prometheus's prometheus_tsdb_head_samples_appended_total, ours the `SAMPLES n`
 * lines the child prints — and peak/final RSS (/proc/<pid>/status).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Prometheus, havePrometheus } from '../../test/support/prometheus.js';
import { startSideTargets } from './targets.js';

const MINUTES = Number(process.env.MM_SIDE_MINUTES ?? 2);
const TARGETS = Number(process.env.MM_SIDE_TARGETS ?? 10);
const SERIES = Number(process.env.MM_SIDE_SERIES ?? 5000);
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** utime+stime of a process in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the ")" of the command name; utime and stime are fields 14 and 15.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** utime+stime per thread name (/proc/<pid>/task/<tid>/comm), to see main thread vs GC and libuv workers. */
function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = Number(tid) === pid ? 'main' : readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim().replace(/\d+$/, '#');
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(name, (out.get(name) ?? 0) + (Number(f[11]) + Number(f[12])) / CLK_TCK);
    } catch {
      // the thread exited between readdir and read
    }
  }
  return out;
}

function rss(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

function figure(name: string, value: number, unit: string): void {
  console.log(`FIGURE ${name}: ${Math.round(value * 1000) / 1000} ${unit}`);
}

async function main(): Promise<void> {
  if (!havePrometheus) {
    console.log('# prometheus not installed; skipping side-by-side');
    return;
  }
  const servers = await startSideTargets(TARGETS, SERIES);
  const urls = servers.map((s) => s.url('/metrics'));
  const dataDir = await mkdtemp(join(tmpdir(), 'mm-side-'));
  console.log(`# ${TARGETS} targets x ${SERIES} series at 1s for ${MINUTES} min`);

  const prom = await Prometheus.start({
    scrapeConfigs: [{ job_name: 'mattermost', scrape_interval: '1s', scrape_timeout: '1s', static_configs: [{ targets: servers.map((s) => s.address) }] }],
  });
  // Default: the full service (scrape → parse → TSDB head + WAL), the fair comparison with
  // Prometheus's scrape+store. MM_CMD='… bench/macro/mm-scrape-child.ts …' measures the scrape side alone.
  const cmdTemplate = process.env.MM_CMD ?? `${process.execPath} bin/mm-metrics.js run --data-dir {dataDir} --listen 127.0.0.1:0 --scrape-interval 1s {targets}`;
  const cmd = cmdTemplate
    .replace('{dataDir}', dataDir)
    .replace('{targets}', urls.map((u) => `--target ${u}`).join(' '))
    .split(/\s+/)
    .filter((x) => x !== '');
  const mm: ChildProcess = spawn(cmd[0]!, cmd.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    // The same targets as Prometheus: not the default Mattermost/node-exporter targets (they
    // would only add failing scrapes), nor its own /metrics (Prometheus is not set to scrape
    // itself here; MM_SIDE_SELF=1 keeps ours).
    env: { ...process.env, MM_METRICS_TARGETS_MATTERMOST_ENABLED: 'false', MM_METRICS_TARGETS_NODE_EXPORTER_ENABLED: 'false', MM_METRICS_TARGETS_SELF_ENABLED: process.env.MM_SIDE_SELF === '1' ? 'true' : 'false', MM_METRICS_LOG_LEVEL: 'warn' },
  });
  let mmSamples = 0;
  // The full service prints "running: <url>"; its counters are then read from its /metrics.
  let mmOrigin: string | null = null;
  let errBuf = '';
  mm.stderr!.on('data', (d: Buffer) => {
    errBuf += d.toString();
    const m = /running: (http:\/\/[^/\s]+)/.exec(errBuf);
    if (m && mmOrigin === null) mmOrigin = m[1]!;
    if (errBuf.length > 1 << 16) errBuf = errBuf.slice(-4096);
  });
  const mmMetric = async (name: string): Promise<number> => {
    if (mmOrigin === null) return name === 'prometheus_tsdb_head_samples_appended_total' ? mmSamples : 0;
    const text = await (await fetch(`${mmOrigin}/metrics`)).text();
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  };
  let buf = '';
  mm.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const m = /^SAMPLES (\d+)$/.exec(line);
      if (m) mmSamples = Number(m[1]);
    }
  });
  const mmExit = new Promise<void>((resolve) => mm.once('exit', () => resolve()));

  // Let both warm up (Prometheus's scrape manager starts ~5 s in), then measure.
  await new Promise((r) => setTimeout(r, 10_000));
  const p0 = { cpu: cpuSeconds(prom.pid), samples: await prom.selfMetric('prometheus_tsdb_head_samples_appended_total') };
  const m0 = { cpu: cpuSeconds(mm.pid!), samples: await mmMetric('prometheus_tsdb_head_samples_appended_total') };
  const t0 = threadCpu(mm.pid!);
  let pHwm = 0;
  let mHwm = 0;
  const end = Date.now() + MINUTES * 60_000;
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, 5000));
    pHwm = Math.max(pHwm, rss(prom.pid).rss);
    mHwm = Math.max(mHwm, rss(mm.pid!).rss);
  }
  const p1 = { cpu: cpuSeconds(prom.pid), samples: await prom.selfMetric('prometheus_tsdb_head_samples_appended_total') };
  const m1 = { cpu: cpuSeconds(mm.pid!), samples: await mmMetric('prometheus_tsdb_head_samples_appended_total') };
  const t1 = threadCpu(mm.pid!);
  console.log(`# mm cpu-s by thread: ${[...t1].map(([k, v]) => `${k}=${(v - (t0.get(k) ?? 0)).toFixed(2)}`).join(' ')}`);
  const pRss = rss(prom.pid).rss;
  const mRss = rss(mm.pid!).rss;
  const pSeries = await prom.selfMetric('prometheus_tsdb_head_series');
  const mSeries = await mmMetric('prometheus_tsdb_head_series');
  // Where the service's memory is (the Go side has no equivalent breakdown here).
  if (mmOrigin !== null) {
    const text = await (await fetch(`${mmOrigin}/metrics`)).text();
    const pick = (re: RegExp): string =>
      [...text.matchAll(re)].map((m) => `${m[1] ?? ''}=${(Number(m[2]) / 1048576).toFixed(1)}MB`).join(' ');
    console.log(`# mm memory: ${pick(/^nodejs_(heap_size_used|heap_size_total|external_memory)_bytes (\S+)$/gm)}`);
    console.log(`# mm heap spaces (used): ${pick(/^nodejs_heap_space_size_used_bytes\{space="(\w+)"\} (\S+)$/gm)}`);
  }

  mm.kill('SIGTERM');
  await mmExit;
  await prom.stop();
  for (const s of servers) await s.close();
  await rm(dataDir, { recursive: true, force: true });

  // A target server that failed (say, its exposition could not be built) leaves only the
  // synthetic series: say so instead of printing figures for an empty run.
  if (pSeries < TARGETS * SERIES * 0.9 || mSeries < TARGETS * SERIES * 0.9) {
    console.error(`side-by-side: head series prometheus=${pSeries} mm=${mSeries}, expected about ${TARGETS * SERIES}: the targets were not scraped`);
    process.exitCode = 1;
    return;
  }
  const pSamples = p1.samples - p0.samples;
  const mSamples = m1.samples - m0.samples;
  console.log(`# prometheus: ${(p1.cpu - p0.cpu).toFixed(2)} cpu-s, ${pSamples} samples; mm-metrics: ${(m1.cpu - m0.cpu).toFixed(2)} cpu-s, ${mSamples} samples`);
  figure('side_prometheus_cpu_seconds_per_million_samples', ((p1.cpu - p0.cpu) / pSamples) * 1e6, 's');
  figure('side_mm_cpu_seconds_per_million_samples', ((m1.cpu - m0.cpu) / mSamples) * 1e6, 's');
  figure('side_prometheus_rss_mb', pRss / 1048576, 'MB');
  figure('side_mm_rss_mb', mRss / 1048576, 'MB');
  figure('side_prometheus_peak_rss_mb', pHwm / 1048576, 'MB');
  figure('side_mm_peak_rss_mb', mHwm / 1048576, 'MB');
  if (pSeries > 0) figure('side_prometheus_rss_kb_per_head_series', pRss / 1024 / pSeries, 'KB');
  if (mSeries > 0) figure('side_mm_rss_kb_per_head_series', mRss / 1024 / mSeries, 'KB');
}

await main();
