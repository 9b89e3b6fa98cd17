/**
 * mm-metrics' scrape manager against real Prometheus 2.42, side by side.
 *
 * One Prometheus process and our ScrapeManager (into the in-memory appender) scrape
 * the same targets on one loopback target server at 1 s. The server counts requests
 * per scraper (User-Agent), so the k-th scrape of each side gets the same body k,
 * whatever their phases. After both sides did K scrapes of every target, each
 * target becomes a matrix  series × scrape index → value | stale | absent:
 *
 *   - ours: read directly from the stored samples at our k-th `up` timestamp;
 *   - Prometheus: raw samples from `{case="…"}[window]`; a stale marker at T_k is
 *     proven by the series being present in an instant query at T_k − 1 ms and
 *     absent at T_k (range vectors never show markers, instant queries hide a
 *     series whose newest sample is a marker).
 *
 * Label sets (also via /api/v1/series), values, the report series (except the value
 * of scrape_duration_seconds) and stale markers must be identical; samples with
 * exposed timestamps are compared by (t, v). Any difference fails.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { newParser } from '../../src/textparse/index.js';
import { ScrapeManager, newTarget, scrapeConfigWith, type Target, type TargetStatus } from '../../src/scrape/index.js';
import { MemoryStorage, type MemSeries } from '../support/memory-appender.js';
import { TargetServer, down, hang, html, mattermostTarget, openMetrics, sequence, status, text, type TargetHandler } from '../support/target-server.js';
import { Prometheus, freePort, havePrometheus, type PromScrapeConfig } from '../support/prometheus.js';

/** Scrapes per target compared. */
const K = 9;

interface Case {
  job: string;
  handler?: TargetHandler;
  /** Prometheus YAML keys for this job. */
  prom?: Record<string, unknown>;
  /** Our config for the same. */
  mm?: Parameters<typeof scrapeConfigWith>[1];
  /** Scrape a closed port instead of the server. */
  refused?: boolean;
}

const tsBase = Math.floor(Date.now() / 1000) * 1000 - 60_000;

const lines = (...ls: string[]): string => ls.join('\n') + '\n';

const CASES: Case[] = [
  { job: 'mm_text', handler: mattermostTarget({ series: 400, seed: 11 }) },
  { job: 'mm_openmetrics', handler: mattermostTarget({ series: 400, seed: 12, format: 'openmetrics', created: true }) },
  { job: 'mm_gzip', handler: mattermostTarget({ series: 300, seed: 13, gzip: true }) },
  {
    job: 'churn',
    handler: (r) => (r.index >= 3 && r.index < 6 ? text(lines('a 1', `c{x="1"} ${r.index}`)) : text(lines('a 1', `b ${r.index}`, `c{x="1"} ${r.index}`))),
  },
  { job: 'goes_down', handler: sequence(text('g 1\n'), text('g 2\n'), text('g 3\n'), text('g 4\n'), down()) },
  { job: 'status_503', handler: (r) => (r.index < 3 ? text(`s{i="${r.index % 2}"} ${r.index}\n`) : status(503)) },
  { job: 'honor_true', prom: { honor_labels: true }, mm: { honorLabels: true }, handler: () => text(lines('hl{job="exposed",instance="",exported_job="x"} 1', 'other{foo="bar"} 2')) },
  { job: 'honor_false', handler: () => text(lines('hl{job="exposed",instance="",exported_job="x"} 1', 'other{foo="bar",case="c"} 2')) },
  {
    job: 'sample_limit',
    prom: { sample_limit: 6 },
    mm: { sampleLimit: 6 },
    handler: (r) => text((r.index < 3 ? '' : lines('n1 1', 'n2 1', 'n3 1')) + lines('o1 1', 'o2 1', 'o3 1', 'o4 1', 'o5 1')),
  },
  {
    job: 'body_limit',
    prom: { body_size_limit: '2KB' },
    mm: { bodySizeLimit: 2048 },
    handler: (r) => text(r.index < 3 ? lines('small 1', 'other 2') : lines('small 1', `padding{p="${'x'.repeat(3000)}"} 1`)),
  },
  { job: 'parse_error', handler: (r) => text(r.index < 3 ? lines('a 1', 'b 1', 'c 1', 'd 1') : lines('a 2', 'b 2', 'c{ 2', 'd 2')) },
  { job: 'html', handler: () => html() },
  { job: 'refused', refused: true },
  { job: 'hang', prom: { scrape_timeout: '500ms' }, mm: { scrapeTimeout: 500 }, handler: (r) => (r.index < 3 ? text('h 1\n') : hang()(r)) },
  {
    job: 'timestamps',
    handler: (r) =>
      text(
        lines(
          `ts_metric ${r.index} ${tsBase + r.index * 1000}`,
          `ts_ooo ${r.index} ${tsBase + (r.index === 5 ? 1000 : r.index * 1000)}`,
          `ts_future 1 ${Date.now() + 20 * 60_000}`,
          ...(r.index < 4 ? [`ts_gone ${r.index} ${tsBase + r.index * 1000}`] : []),
          `plain ${r.index}`,
        ),
      ),
  },
  { job: 'duplicates', handler: (r) => text(lines(`d 1`, `d ${r.index + 2}`, `e{a="1",b="2"} 1`, `e{b="2",a="1"} 2`)) },
  { job: 'special_values', handler: () => text(lines('v_nan NaN', 'v_inf +Inf', 'v_ninf -Inf', 'v_exp 1e-3', 'v_int 0042', 'v_neg -0.5', 'v_big 1.5e+300', `v_empty{a=""} 3`)) },
  { job: 'no_content_type', handler: (r) => ({ ...text(`nct ${r.index}\n`), contentType: null }) },
  { job: 'removed', handler: (r) => text(lines('r1 1', `r2{x="y"} ${r.index}`)) },
  // A 200 with an empty body: 0.0.4 is an empty exposition (up=1, stale markers);
  // OpenMetrics fails ("data does not end with # EOF").
  { job: 'empty_text', handler: (r) => text(r.index >= 3 && r.index < 6 ? '' : lines('e1 1', `e2{x="y"} ${r.index}`)) },
  { job: 'empty_openmetrics', handler: (r) => openMetrics(r.index >= 3 && r.index < 6 ? '' : lines('e1 1', `e2{x="y"} ${r.index}`, '# EOF')) },
  // Repeated label names, one body per scrape index next to a plain series (so a
  // failed scrape shows as `ok` going stale); the last body repeats from then on (the
  // targets API test compares the state after the last scrape).
  { job: 'dup_labels', handler: (r) => text(lines('ok 1', DUP_BODIES[Math.min(r.index, DUP_BODIES.length - 1)]!)) },
  { job: 'dup_honor', prom: { honor_labels: true }, mm: { honorLabels: true }, handler: (r) => text(lines('ok 1', DUP_HONOR_BODIES[Math.min(r.index, DUP_HONOR_BODIES.length - 1)]!)) },
  // Past sample_limit a repeated label name is a sample-limit error: parsing goes on
  // (scrape_samples_scraped counts every line).
  { job: 'dup_limit', prom: { sample_limit: 1 }, mm: { sampleLimit: 1 }, handler: (r) => text(r.index < 2 ? 'ok 1\n' : lines('ok 1', 'dup{a="1",a="2"} 1', 'zzz 1', 'yyy 1')) },
  // Metric names the 0.0.4 parser yields with leading blanks.
  { job: 'bad_names', handler: (r) => text(lines('ok 1', BAD_NAME_BODIES[Math.min(r.index, BAD_NAME_BODIES.length - 1)]!)) },
];

/** dup_labels (honor_labels false), body k at scrape k. */
const DUP_BODIES = [
  lines('foo{a="",a="1"} 1', 'bar{a="1",a=""} 2', 'baz{b="x",a="",a="2",a=""} 3'),
  'foo{a="1",a="2"} 1',
  'foo{b="1",a="2",b="3"} 1',
  'foo{__name__="bar"} 1',
  'foo{__name__=""} 1',
  'foo{job="x",job="y"} 1',
  'foo{instance="",instance="z"} 1',
  'foo{a="1",a="1"} 1',
  `fut{a="1",a="2"} 1 ${Date.now() + 20 * 60_000}`,
  'foo{a="",a="1"} 4',
];

/** dup_honor (honor_labels true), body k at scrape k. */
const DUP_HONOR_BODIES = [
  'foo{a="",a="1"} 1',
  'foo{job="x",job="y"} 1',
  'foo{instance="",instance="z"} 1',
  'foo{job="",job="x"} 1',
  'foo{case="a",case="b"} 1',
  'foo{a="1",a="2"} 1',
  'ok 2',
];

/** bad_names, body k at scrape k. */
const BAD_NAME_BODIES = [' foo 1', '\tfoo 1', 'foo {a="1"} 1', '  foo{a="1"} 1', 'foo\t 2', 'foo{__name__=" x"} 1', 'foo{__name__="1x"} 1', 'foo:bar 1', 'ok2 1'];

/** The case whose target is removed from both sides after the first K scrapes. */
const REMOVED = 'removed';

type Cell = number | 'stale' | 'absent';

interface Side {
  /** Scrape timestamps (first K). */
  times: number[];
  /** series key → K cells. */
  cells: Map<string, Cell[]>;
  /** series key → samples at non-scrape timestamps (exposed timestamps) as `t:v`. */
  explicit: Map<string, string[]>;
  /** Every series label set seen in the window. */
  series: Set<string>;
}

/** Timestamps the `timestamps` case exposes for its first K scrapes. */
function isExposedTime(t: number): boolean {
  return t >= tsBase && t <= tsBase + (K - 1) * 1000;
}

function keyOf(m: Record<string, string>): string {
  return Object.keys(m)
    .sort()
    .map((k) => `${k}=${JSON.stringify(m[k])}`)
    .join(',');
}

function promValue(s: string): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  return Number(s);
}

function fmtCell(c: Cell): string {
  return typeof c === 'number' ? (Number.isNaN(c) ? 'NaN' : String(c)) : c;
}

let server: TargetServer;
let prom: Prometheus | null = null;
let mgr: ScrapeManager | null = null;
const st = new MemoryStorage();
let refusedAddr = '';
let ourTargets: TargetStatus[] = [];

const skip = !havePrometheus;

beforeAll(async () => {
  if (skip) return;
  server = await TargetServer.start();
  refusedAddr = `127.0.0.1:${await freePort()}`;
  for (const c of CASES) if (c.handler !== undefined) server.define('/' + c.job, c.handler);
  const promConfig = (c: Case): PromScrapeConfig => ({
    job_name: c.job,
    metrics_path: '/' + c.job,
    scrape_interval: '1s',
    scrape_timeout: '1s',
    ...c.prom,
    static_configs: [{ targets: [c.refused ? refusedAddr : server.address], labels: { case: c.job } }],
  });
  const ourTarget = (c: Case): Target =>
    newTarget(scrapeConfigWith(c.job, { scrapeInterval: 1000, scrapeTimeout: 1000, metricsPath: '/' + c.job, ...c.mm }), {
      __address__: c.refused ? refusedAddr : server.address,
      case: c.job,
    });
  prom = await Prometheus.start({ scrapeConfigs: CASES.map(promConfig), global: { scrape_interval: '1s', scrape_timeout: '1s' } });
  mgr = new ScrapeManager(st, { newParser });
  mgr.setTargets(CASES.map(ourTarget));
  mgr.start();
  // Wait until both sides scraped every target K times (Prometheus starts its scrape
  // manager ~5 s after start).
  const deadline = Date.now() + 60_000;
  for (;;) {
    const promCounts = await prom.query('count_over_time(up[5m])');
    const pc = promCounts.resultType === 'vector' ? promCounts.result : [];
    const promDone = pc.length === CASES.length && pc.every((e) => Number(e.value) >= K + 1);
    const ourDone = CASES.every((c) => (upSeries(c.job)?.ts.length ?? 0) >= K + 1);
    if (promDone && ourDone) break;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${K} scrapes:\n${prom.logs()}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  // Remove one target from both sides; both write end-of-run stale markers at the
  // first missed tick (Prometheus applies a reload within its 5 s reloader tick).
  // Prometheus does so only for a target leaving a scrape pool that stays: dropping
  // the whole job cancels the pool's context and skips the markers. So the job stays,
  // with no targets.
  const kept = CASES.filter((c) => c.job !== REMOVED);
  await prom.reload({
    scrapeConfigs: CASES.map((c) => (c.job === REMOVED ? { ...promConfig(c), static_configs: [{ targets: [] }] } : promConfig(c))),
  });
  mgr.setTargets(kept.map(ourTarget));
  await mgr.drained();
  const removedDeadline = Date.now() + 30_000;
  for (;;) {
    const r = await prom.query(`{case="${REMOVED}"}`);
    if (r.resultType === 'vector' && r.result.length === 0) break;
    if (Date.now() > removedDeadline) throw new Error(`Prometheus wrote no end-of-run stale markers:\n${prom.logs()}`);
    await new Promise((res) => setTimeout(res, 500));
  }
  ourTargets = mgr.targets();
  await mgr.stop();
}, 110_000);

afterAll(async () => {
  await mgr?.stop();
  await prom?.stop();
  await server?.close();
});

function upSeries(job: string): MemSeries | undefined {
  return st.all().find((s) => s.lset.get('__name__') === 'up' && s.lset.get('case') === job);
}

function ourSide(job: string): Side {
  const up = upSeries(job)!;
  const times = up.ts.filter((_, i) => up.stale[i] === 0).slice(0, K);
  const index = new Map(times.map((t, i) => [t, i]));
  const cells = new Map<string, Cell[]>();
  const explicit = new Map<string, string[]>();
  const series = new Set<string>();
  for (const s of st.all()) {
    if (s.lset.get('case') !== job) continue;
    const key = keyOf(s.lset.toObject());
    const row: Cell[] = new Array<Cell>(K).fill('absent');
    let any = false;
    for (let i = 0; i < s.ts.length; i++) {
      const t = s.ts[i]!;
      const k = index.get(t);
      if (k !== undefined) {
        row[k] = s.stale[i] === 1 ? 'stale' : s.vs[i]!;
        any = true;
      } else if (isExposedTime(t)) (explicit.get(key) ?? explicit.set(key, []).get(key)!).push(`${t}:${s.vs[i]}`);
    }
    if (explicit.has(key)) cells.set(key, row);
    if (!any) continue;
    series.add(key);
    cells.set(key, row);
  }
  return { times, cells, explicit, series };
}

async function promSide(job: string): Promise<Side> {
  const p = prom!;
  const now = Date.now();
  const sel = `{case="${job}"}`;
  const ups = await p.rawSamples(`up${sel}`, 5 * 60_000, now);
  const times = ups[0]!.values.map((v) => v.t).slice(0, K);
  const index = new Map(times.map((t, i) => [t, i]));
  const raw = await p.rawSamples(sel, 5 * 60_000, now);
  const cells = new Map<string, Cell[]>();
  const explicit = new Map<string, string[]>();
  for (const e of raw) {
    const key = keyOf(e.metric);
    const row: Cell[] = new Array<Cell>(K).fill('absent');
    for (const v of e.values) {
      const k = index.get(v.t);
      if (k !== undefined) row[k] = promValue(v.value);
      else if (isExposedTime(v.t)) (explicit.get(key) ?? explicit.set(key, []).get(key)!).push(`${v.t}:${promValue(v.value)}`);
    }
    cells.set(key, row);
  }
  // Stale markers: present at T_k − 1 ms, absent at T_k, no raw sample at T_k.
  for (let k = 0; k < K; k++) {
    const at = await p.query(sel, times[k]!);
    const before = await p.query(sel, times[k]! - 1);
    const present = new Set(at.resultType === 'vector' ? at.result.map((e) => keyOf(e.metric)) : []);
    const presentBefore = new Set(before.resultType === 'vector' ? before.result.map((e) => keyOf(e.metric)) : []);
    for (const key of presentBefore) {
      if (present.has(key)) continue;
      const row = cells.get(key) ?? new Array<Cell>(K).fill('absent');
      if (row[k] === 'absent') row[k] = 'stale';
      cells.set(key, row);
    }
  }
  for (const [key, row] of cells) if (row.every((c) => c === 'absent') && !explicit.has(key)) cells.delete(key);
  const apiSeries = await p.series([sel], times[0]!, times[K - 1]!);
  const series = new Set(apiSeries.map(keyOf));
  return { times, cells, explicit, series };
}

/** Renders a side as comparable text lines (duration values masked). */
function render(side: Side): string[] {
  const out: string[] = [];
  for (const key of [...side.cells.keys()].sort()) {
    const row = side.cells.get(key)!;
    const masked = key.includes('__name__="scrape_duration_seconds"') ? row.map((c) => (typeof c === 'number' ? 'dur' : c)) : row.map(fmtCell);
    out.push(`${key} | ${masked.join(' ')}`);
  }
  for (const key of [...side.explicit.keys()].sort()) out.push(`${key} @ ${side.explicit.get(key)!.join(' ')}`);
  return out;
}

describe.skipIf(skip)('scraping side by side with Prometheus 2.42', () => {
  test.each(CASES.map((c) => [c.job]))('%s: same series, values, report series and stale markers', async (job) => {
    const ours = ourSide(job);
    const theirs = await promSide(job);
    expect(ours.times.length).toBe(K);
    expect(theirs.times.length).toBe(K);
    if (process.env.MM_DEBUG_COMPAT) console.log(`${job}\n  ${render(theirs).join('\n  ')}`);
    expect(render(ours)).toEqual(render(theirs));
    // /api/v1/series over the window lists the same label sets we stored.
    const ourSeries = [...ours.series].sort();
    const theirSeries = [...theirs.series].sort();
    expect(ourSeries).toEqual(theirSeries);
  });

  test('a removed target: both write one stale marker per series and report series, at the first missed tick', async () => {
    const p = prom!;
    const sel = `{case="${REMOVED}"}`;
    // Ours: the last sample of every series is a marker one interval (± jitter) after the last scrape.
    const ourSeries = st.all().filter((s) => s.lset.get('case') === REMOVED);
    const up = upSeries(REMOVED)!;
    const ourLast = up.ts[up.ts.length - 2]!;
    const ourStale = up.ts[up.ts.length - 1]!;
    expect(ourSeries.every((s) => s.stale.at(-1) === 1 && s.ts.at(-1) === ourStale)).toBe(true);
    // Theirs: present at the last scrape, absent now; find the marker time by bisection.
    const ups = await p.rawSamples(`up${sel}`, 5 * 60_000, Date.now());
    const theirLast = ups[0]!.values.at(-1)!.t;
    const present = async (t: number): Promise<Set<string>> => {
      const r = await p.query(sel, t);
      return new Set(r.resultType === 'vector' ? r.result.map((e) => keyOf(e.metric)) : []);
    };
    const atLast = await present(theirLast);
    let lo = theirLast;
    let hi = Date.now();
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if ((await present(mid)).size > 0) lo = mid;
      else hi = mid;
    }
    expect((await present(hi - 1)).size).toBe(atLast.size);
    expect([...atLast].sort()).toEqual(ourSeries.map((s) => keyOf(s.lset.toObject())).sort());
    expect(atLast.size).toBe(7); // r1, r2 and the five report series
    // Both: the first missed tick, one interval after the last scrape (not the second
    // tick, which comes an interval later; slack for a loaded machine's late timers).
    // The lower bound is loose: a last scrape that started late (not snapped to the
    // grid) leaves less than an interval to the next tick.
    for (const gap of [ourStale - ourLast, hi - theirLast]) {
      expect(gap).toBeGreaterThanOrEqual(700);
      expect(gap).toBeLessThan(1800);
    }
  });

  test('a range query over the window sees one up sample per scrape step', async () => {
    const up = upSeries('churn')!;
    const r = await prom!.queryRange('up{case="churn"}', Date.now() - 5000, Date.now(), 1);
    expect(r.length).toBe(1);
    expect(r[0]!.values.length).toBeGreaterThanOrEqual(5);
    expect(r[0]!.values.every((v) => v.value === '1')).toBe(true);
    expect(up.vs.slice(0, K).every((v) => v === 1)).toBe(true);
  });

  test('the targets API agrees on health and on the kind of last error', async () => {
    const kind = (e: string): string =>
      e === ''
        ? 'none'
        : /connection refused/.test(e)
          ? 'refused'
          : /deadline exceeded/.test(e)
            ? 'timeout'
            : /body size limit/.test(e)
              ? 'body-limit'
              : /sample limit/.test(e)
                ? 'sample-limit'
                : /HTTP status/.test(e)
                  ? 'status'
                  : /EOF|reset|hang up/.test(e)
                    ? 'reset'
                    : 'parse';
    const theirs = new Map((await prom!.targets()).map((t) => [t.labels.case!, `${t.health} ${kind(t.lastError)}`]));
    const ours = new Map(ourTargets.map((t) => [t.labels.case!, `${t.health} ${kind(t.lastError)}`]));
    expect(Object.fromEntries(ours)).toEqual(Object.fromEntries(theirs));
  });
});
