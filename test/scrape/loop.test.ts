/**
 * Scrape loops and the manager against a real loopback target server, with real
 * timers: report series, failure handling, timing/alignment, end-of-run staleness,
 * target status.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { Labels } from '../../src/storage/index.js';
import { newParser } from '../../src/textparse/index.js';
import { ScrapeLoop, ScrapeManager, newTarget, scrapeConfigWith, type ScrapeConfig } from '../../src/scrape/index.js';
import { alignScrapeTime, alignedGridPoint } from '../../src/scrape/loop.js';
import { MemoryStorage, type MemSeries } from '../support/memory-appender.js';
import { TargetServer, down, hang, html, mattermostTarget, sequence, status, text } from '../support/target-server.js';
import { freePort } from '../support/prometheus.js';

let server: TargetServer;

beforeAll(async () => {
  server = await TargetServer.start();
});
afterAll(async () => {
  await server.close();
});

function cfg(job: string, path: string, o: Partial<ScrapeConfig> = {}): ScrapeConfig {
  return scrapeConfigWith(job, { scrapeInterval: 1000, scrapeTimeout: 500, metricsPath: path, ...o });
}

function series(st: MemoryStorage, name: string, job?: string): MemSeries[] {
  return st.all().filter((s) => s.lset.get('__name__') === name && (job === undefined || s.lset.get('job') === job));
}

function values(s: MemSeries | undefined): Array<number | 'stale'> {
  if (s === undefined) return [];
  return s.vs.map((v, i) => (s.stale[i] === 1 ? 'stale' : v));
}

function report(st: MemoryStorage, job: string): Record<string, Array<number | 'stale'>> {
  const out: Record<string, Array<number | 'stale'>> = {};
  for (const n of ['up', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling', 'scrape_series_added']) out[n] = values(series(st, n, job)[0]);
  return out;
}

describe('one scrape (scrapeAndReport)', () => {
  test('a good scrape stores the samples and the five report series with the same timestamp', async () => {
    server.define('/good', () => text('a 1\nb{x="y"} 2\n'));
    const st = new MemoryStorage();
    const loop = new ScrapeLoop(newTarget(cfg('good', '/good'), { __address__: server.address }), st, { newParser });
    await loop.scrapeAndReport(1_000_000);
    await loop.scrapeAndReport(1_001_000);
    await loop.stop();
    expect(report(st, 'good')).toEqual({ up: [1, 1], scrape_samples_scraped: [2, 2], scrape_samples_post_metric_relabeling: [2, 2], scrape_series_added: [2, 0] });
    const dur = series(st, 'scrape_duration_seconds')[0]!;
    expect(dur.ts).toEqual([1_000_000, 1_001_000]);
    expect(dur.vs.every((v) => v > 0 && v < 0.5)).toBe(true);
    const up = series(st, 'up')[0]!;
    expect(up.lset.toObject()).toEqual({ __name__: 'up', instance: server.address, job: 'good' });
    const st0 = loop.status();
    expect(st0.health).toBe('up');
    expect(st0.lastError).toBe('');
    expect(st0.lastSamples).toBe(2);
    expect(st0.scrapeUrl).toBe(server.url('/good'));
    expect(st0.labels).toEqual({ instance: server.address, job: 'good' });
  });

  test.each([
    { name: 'a non-200 status', h: () => status(503), err: 'server returned HTTP status 503 Service Unavailable' },
    { name: 'a destroyed connection', h: () => down(), err: 'Get "' },
    { name: 'an HTML page', h: () => html(), err: 'line 1' },
    { name: 'a parse error in the middle', h: () => text('a 1\nb 1\nbad line here\n'), err: 'line 3' },
    { name: 'a hang past the timeout', h: hang(), err: 'context deadline exceeded' },
  ])('after a good scrape, $name gives up=0, marks the old series stale and keeps nothing partial', async ({ h, err }) => {
    const path = '/fail' + Math.random().toString(36).slice(2);
    server.define(path, sequence(text('a 1\nb 1\nc 1\n'), h));
    const st = new MemoryStorage();
    const loop = new ScrapeLoop(newTarget(cfg('f', path, { scrapeTimeout: 300 }), { __address__: server.address }), st, { newParser });
    await loop.scrapeAndReport(1_000_000);
    await loop.scrapeAndReport(1_001_000);
    await loop.stop();
    const s = loop.status();
    expect(s.health).toBe('down');
    expect(s.lastError).toContain(err);
    expect(values(series(st, 'up')[0])).toEqual([1, 0]);
    expect(values(series(st, 'c')[0])).toEqual([1, 'stale']);
    // A parse error after `a 1`, `b 1`: 2.42 counts them as scraped and still "seen" (no stale marker).
    const partial = err === 'line 3';
    expect(values(series(st, 'a')[0])).toEqual(partial ? [1] : [1, 'stale']);
    expect(values(series(st, 'scrape_samples_scraped')[0])).toEqual([3, partial ? 2 : 0]);
  });

  test('a body over the size limit fails the scrape and reports why', async () => {
    server.define('/big', () => text('a 1\n'.repeat(100)));
    const st = new MemoryStorage();
    const loop = new ScrapeLoop(newTarget(cfg('big', '/big', { bodySizeLimit: 400 }), { __address__: server.address }), st, { newParser });
    await loop.scrapeAndReport(1_000_000);
    await loop.stop();
    expect(loop.status().lastError).toBe('body size limit exceeded');
    expect(report(st, 'big').up).toEqual([0]);
  });

  test('connection refused gives up=0 with a Go-like error', async () => {
    const port = await freePort();
    const st = new MemoryStorage();
    const loop = new ScrapeLoop(newTarget(cfg('refused', '/metrics'), { __address__: `127.0.0.1:${port}` }), st, { newParser });
    await loop.scrapeAndReport(1_000_000);
    await loop.stop();
    expect(loop.status().lastError).toContain('connect: connection refused');
    expect(report(st, 'refused')).toEqual({ up: [0], scrape_samples_scraped: [0], scrape_samples_post_metric_relabeling: [0], scrape_series_added: [0] });
  });
});

describe('scrape timestamps', () => {
  test.each([
    { name: 'on the grid point stays on it', now: 10_000, aligned: 10_000, interval: 1000, grid: 10_000, t: 10_000 },
    { name: '2 ms late snaps back onto the grid', now: 11_002, aligned: 10_000, interval: 1000, grid: 11_000, t: 11_000 },
    { name: '3 ms late keeps the real time', now: 11_003, aligned: 10_000, interval: 1000, grid: 11_000, t: 11_003 },
    { name: 'skipped ticks move the grid by whole intervals', now: 13_001, aligned: 10_000, interval: 1000, grid: 13_000, t: 13_000 },
    { name: 'an early wake-up just before a grid point snaps to the previous point only within 2 ms', now: 10_999, aligned: 10_000, interval: 1000, grid: 10_000, t: 10_999 },
    { name: 'intervals of 200 ms or less are never aligned', now: 10_201, aligned: 10_000, interval: 200, grid: 10_000, t: 10_201 },
  ])('$name', ({ now, aligned, interval, grid, t }) => {
    const g = alignedGridPoint(now, aligned, interval);
    expect(g).toBe(grid);
    expect(alignScrapeTime(now, g, interval)).toBe(t);
  });
});

describe('the running loop', () => {
  // Real timers on a shared 2-core machine: a tick can be late by tens of ms under
  // load, so these retry; the exact rules are pinned by the table above.
  test('scrapes on a stable grid: timestamps step by exactly the interval (2 ms tolerance snapping)', { retry: 2 }, async () => {
    server.define('/grid', mattermostTarget({ series: 200 }));
    const st = new MemoryStorage();
    const target = newTarget(cfg('grid', '/grid', { scrapeInterval: 250, scrapeTimeout: 200 }), { __address__: server.address });
    const loop = new ScrapeLoop(target, st, { newParser, jitterSeed: 7 });
    loop.start();
    await new Promise((r) => setTimeout(r, 2200));
    await loop.stop();
    const ts = series(st, 'up', 'grid')[0]!.ts;
    expect(ts.length).toBeGreaterThanOrEqual(6);
    // Every scrape is at or just after a grid point first + k·250 (a tick is never
    // early); within 2 ms after it, the timestamp is snapped onto it. On a busy
    // 2-core machine a tick is sometimes late by more, so only most need be exact.
    const offGrid = ts.map((t) => (t - ts[0]!) % 250);
    expect(offGrid.every((d) => d >= 0 && d < 60)).toBe(true);
    expect(offGrid.filter((d) => d === 0).length).toBeGreaterThanOrEqual(Math.ceil(ts.length / 2));
    // The phase relative to multiples of the interval is the target's hash-based offset.
    const phase = ((target.hash() ^ 7) >>> 0) % 250;
    const dist = (t: number): number => {
      const d = Math.abs((t % 250) - phase);
      return Math.min(d, 250 - d);
    };
    expect(dist(ts[0]!)).toBeLessThanOrEqual(15);
    // Counters grew with each request.
    const c = series(st, 'mattermost_post_total', 'grid')[0]!;
    expect(c.vs.length).toBe(ts.length);
  });

  test('a removed target gets stale markers for its series and report series at the first missed tick, ~2.1 intervals later', { retry: 2 }, async () => {
    server.define('/removed', () => text('a 1\n'));
    const st = new MemoryStorage();
    const mgr = new ScrapeManager(st, { jitterSeed: 1 });
    const t = newTarget(cfg('removed', '/removed', { scrapeInterval: 300, scrapeTimeout: 200 }), { __address__: server.address });
    mgr.setTargets([t]);
    mgr.start();
    await new Promise((r) => setTimeout(r, 1000));
    const stoppedAt = Date.now();
    mgr.setTargets([]);
    expect(mgr.targets()).toEqual([]);
    await new Promise((r) => setTimeout(r, 250));
    // Not yet: it waits for the next tick, one more tick and 10 % (between 1.1 and
    // 2.1 intervals after the stop, depending on where in the interval it came).
    expect(values(series(st, 'a')[0]).includes('stale')).toBe(false);
    await mgr.drained();
    const took = Date.now() - stoppedAt;
    expect(took).toBeGreaterThanOrEqual(330);
    expect(took).toBeLessThan(1200);
    const a = series(st, 'a')[0]!;
    const up = series(st, 'up')[0]!;
    expect(values(a).at(-1)).toBe('stale');
    expect(values(up).at(-1)).toBe('stale');
    for (const n of ['scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling', 'scrape_series_added']) {
      expect(values(series(st, n)[0]).at(-1)).toBe('stale');
    }
    // Stamped at the first missed tick: one interval (±tolerance) after the last real scrape.
    const lastReal = up.ts.at(-2)!;
    expect(up.ts.at(-1)! - lastReal).toBeGreaterThanOrEqual(290);
    expect(up.ts.at(-1)! - lastReal).toBeLessThan(600);
    await mgr.stop();
  });

  test('shutdown writes no stale markers', async () => {
    server.define('/shutdown', () => text('a 1\n'));
    const st = new MemoryStorage();
    const mgr = new ScrapeManager(st);
    mgr.setTargets([newTarget(cfg('sd', '/shutdown', { scrapeInterval: 200, scrapeTimeout: 150 }), { __address__: server.address })]);
    mgr.start();
    await new Promise((r) => setTimeout(r, 700));
    await mgr.stop();
    await new Promise((r) => setTimeout(r, 600));
    expect(st.staleMarkersAppended).toBe(0);
    expect(series(st, 'a')[0]!.vs.length).toBeGreaterThan(0);
  });

  test('a target that is removed and added back within two ticks keeps its data free of stale markers', async () => {
    server.define('/flap', () => text('a 1\n'));
    const st = new MemoryStorage();
    const mgr = new ScrapeManager(st, { jitterSeed: 3 });
    const t = newTarget(cfg('flap', '/flap', { scrapeInterval: 300, scrapeTimeout: 200 }), { __address__: server.address });
    mgr.setTargets([t]);
    mgr.start();
    await new Promise((r) => setTimeout(r, 700));
    mgr.setTargets([]);
    mgr.setTargets([newTarget(cfg('flap', '/flap', { scrapeInterval: 300, scrapeTimeout: 200 }), { __address__: server.address })]);
    await mgr.drained();
    await new Promise((r) => setTimeout(r, 400));
    await mgr.stop();
    // The old loop's markers came out of order behind the new loop's samples and were ignored.
    expect(values(series(st, 'a')[0]).filter((v) => v === 'stale').length).toBe(0);
  });
});

describe('the scrape manager', () => {
  test('targets are de-duplicated by labels and URL, kept across updates, and report status', async () => {
    server.define('/m1', () => text('a 1\n'));
    server.define('/m2', () => status(500));
    const st = new MemoryStorage();
    const mgr = new ScrapeManager(st);
    const c1 = cfg('m', '/m1', { scrapeInterval: 200, scrapeTimeout: 150 });
    const t1 = newTarget(c1, { __address__: server.address });
    const t1dup = newTarget(c1, { __address__: server.address });
    const t2 = newTarget(cfg('m', '/m2', { scrapeInterval: 200, scrapeTimeout: 150 }), { __address__: server.address });
    mgr.setTargets([t1, t1dup, t2]);
    expect(mgr.targets().map((s) => [s.scrapeUrl, s.health])).toEqual([
      [server.url('/m1'), 'unknown'],
      [server.url('/m2'), 'unknown'],
    ]);
    mgr.start();
    await new Promise((r) => setTimeout(r, 600));
    const loopBefore = mgr.loop(t1);
    mgr.setTargets([t1, t2]);
    expect(mgr.loop(t1)).toBe(loopBefore);
    const sts = mgr.targets();
    expect(sts.map((s) => s.health)).toEqual(['up', 'down']);
    expect(sts[1]!.lastError).toContain('500');
    expect(sts[0]!.lastScrape).not.toBeNull();
    expect(mgr.stats().scrapes).toBeGreaterThanOrEqual(4);
    await mgr.stop();
    expect(series(st, 'a').length).toBe(1);
    expect(st.get(Labels.fromObject({ __name__: 'a', job: 'm', instance: server.address }))).toBeDefined();
  });
});

describe('config changes of a kept target', () => {
  test('a changed limit restarts the loop with the same cache: no series re-added, no stale markers', async () => {
    server.define('/reload', () => text('a 1\nb 2\n'));
    const st = new MemoryStorage();
    const mgr = new ScrapeManager(st);
    const mk = (o: Partial<ScrapeConfig>): ReturnType<typeof newTarget> =>
      newTarget(cfg('reload', '/reload', { scrapeInterval: 200, scrapeTimeout: 150, ...o }), { __address__: server.address });
    mgr.setTargets([mk({})]);
    mgr.start();
    await new Promise((r) => setTimeout(r, 500));
    const before = mgr.loop(mk({}))!;
    mgr.setTargets([mk({ sampleLimit: 100 })]);
    const after = mgr.loop(mk({ sampleLimit: 100 }))!;
    expect(after).not.toBe(before);
    expect(after.core.cache).toBe(before.core.cache);
    await new Promise((r) => setTimeout(r, 500));
    await mgr.stop();
    const added = values(series(st, 'scrape_series_added', 'reload')[0]);
    expect(added[0]).toBe(2);
    expect(added.slice(1).every((v) => v === 0)).toBe(true);
    expect(st.staleMarkersAppended).toBe(0);
  });

  test('a changed honor_labels starts over with a new cache', async () => {
    server.define('/reload2', () => text('a{job="x"} 1\n'));
    const st = new MemoryStorage();
    const mgr = new ScrapeManager(st);
    const mk = (honorLabels: boolean): ReturnType<typeof newTarget> =>
      newTarget(cfg('reload2', '/reload2', { scrapeInterval: 200, scrapeTimeout: 150, honorLabels }), { __address__: server.address });
    mgr.setTargets([mk(false)]);
    mgr.start();
    await new Promise((r) => setTimeout(r, 500));
    mgr.setTargets([mk(true)]);
    await new Promise((r) => setTimeout(r, 800));
    await mgr.drained();
    await mgr.stop();
    const exported = st.get(Labels.fromObject({ __name__: 'a', job: 'reload2', exported_job: 'x', instance: server.address }))!;
    const honored = st.get(Labels.fromObject({ __name__: 'a', job: 'x', instance: server.address }))!;
    expect(values(exported).at(-1)).toBe('stale');
    expect(values(honored).length).toBeGreaterThan(0);
  });
});

describe('resources', () => {
  test('stopped and removed loops, their caches and bodies are garbage-collectable', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    server.define('/leak', mattermostTarget({ series: 2000 }));
    const st = new MemoryStorage();
    const mgr = new ScrapeManager(st);
    const c = cfg('leak', '/leak', { scrapeInterval: 200, scrapeTimeout: 150 });
    const refs: Array<WeakRef<object>> = [];
    const t1 = newTarget(c, { __address__: server.address, n: '1' });
    const t2 = newTarget(c, { __address__: server.address, n: '2' });
    mgr.setTargets([t1, t2]);
    mgr.start();
    await new Promise((r) => setTimeout(r, 700));
    refs.push(new WeakRef(mgr.loop(t1)!), new WeakRef(mgr.loop(t1)!.core.cache), new WeakRef(mgr.loop(t2)!));
    mgr.setTargets([t2]); // t1 removed: staleness, then released
    await mgr.drained();
    await mgr.stop(); // t2 stopped: released
    // No deref() before the GCs: deref keeps its target alive until the end of the job.
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 50));
      gc();
    }
    expect(refs.map((r) => r.deref() === undefined)).toEqual([true, true, true]);
  });
});

describe('storage failures', () => {
  test('an appendable that throws does not kill the loop; it reports down and recovers', async () => {
    server.define('/flaky-storage', () => text('a 1\n'));
    const st = new MemoryStorage();
    let fail = true;
    const flaky = { appender: () => (fail ? (() => { throw new Error('tsdb closed'); })() : st.appender()) };
    const loop = new ScrapeLoop(newTarget(cfg('fs', '/flaky-storage', { scrapeInterval: 200, scrapeTimeout: 150 }), { __address__: server.address }), flaky, { newParser });
    loop.start();
    await new Promise((r) => setTimeout(r, 500));
    expect(loop.status().health).toBe('down');
    expect(loop.status().lastError).toBe('storage: tsdb closed');
    fail = false;
    await new Promise((r) => setTimeout(r, 500));
    await loop.stop();
    expect(loop.status().health).toBe('up');
    expect(series(st, 'a')[0]!.vs.length).toBeGreaterThan(0);
  });
});
