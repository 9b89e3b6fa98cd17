/**
 * Scrape-side throughput on a realistic Mattermost exposition (>= 10,000 series).
 *
 *   node --import tsx bench/scrape/scrape.bench.ts        (MM_BENCH_SERIES=… to change size)
 *
 * Throughput is per CPU second of this process (process.cpuUsage), i.e. per core.
 * FIGURE lines:
 *  - scrape_first_parse_mb_per_s: a first scrape (empty cache: every series' labels
 *    parsed, validated, merged with target labels, cached) — body MB/s;
 *  - scrape_cached_samples_per_s: repeated scrapes of the same series set through
 *    parse → cache (byte key) → Appender, into a counting Appendable (scrape side
 *    alone), single thread = one core;
 *  - scrape_cached_samples_per_s_memory_appender: the same into the in-memory appender;
 *  - scrape_cached_bytes_allocated_per_sample: heap allocated per sample on a
 *    repeated scrape (young-generation growth with no GC in between);
 *  - the same first/cached figures for OpenMetrics.
 * Bodies are pre-generated (fixed seed) outside the timed loops.
 */
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { PerformanceObserver } from 'node:perf_hooks';
import { Labels } from '../../src/storage/index.js';
import { newParser } from '../../src/textparse/index.js';
import { AppendResult, ExpositionAppender, type AppendOptions } from '../../src/scrape/index.js';
import type { Appendable } from '../../src/storage/index.js';
import { CountingAppendable, MemoryStorage } from '../../test/support/memory-appender.js';
import { buildMattermostExposition, OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE, type ExpositionFormat } from '../../test/support/mm-exposition.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const SERIES = Number(process.env.MM_BENCH_SERIES ?? 10_000);
const TARGET = Labels.fromObject({ job: 'mattermost', instance: 'mm-app-1:8067' });
const OPTS: AppendOptions = { honorLabels: false, honorTimestamps: true, sampleLimit: 0, labelLimit: 0, labelNameLengthLimit: 0, labelValueLengthLimit: 0 };
const enc = new TextEncoder();

function bodies(format: ExpositionFormat, n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let k = 0; k < n; k++) out.push(enc.encode(buildMattermostExposition({ series: SERIES, seed: 42, format, scrapeIndex: k })));
  return out;
}

function figure(name: string, value: number, unit: string): void {
  const v = value >= 100 ? Math.round(value) : Math.round(value * 100) / 100;
  console.log(`FIGURE ${name}: ${v} ${unit}`);
}

/**
 * CPU time of this process in ms (user + system). Throughput is measured per CPU
 * second, i.e. per core: wall time on a shared 2-core machine mostly measures the
 * neighbours.
 */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** First scrape with an empty cache, repeated on fresh appenders; returns MB per CPU second. */
function firstScrape(body: Uint8Array, ct: string, rounds: number): number {
  const res = new AppendResult();
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const sink = new CountingAppendable();
    const core = new ExpositionAppender(TARGET, OPTS, newParser);
    const app = sink.appender();
    const t0 = cpuMs();
    core.append(app, body, ct, 1_700_000_000_000, res);
    const dt = cpuMs() - t0;
    if (res.err !== null) throw res.err;
    void app.commit();
    if (dt > 0 && dt < best) best = dt;
  }
  return body.length / 1e6 / (best / 1000);
}

/** Repeated scrapes over a warm cache for ~`ms`; returns samples/s. */
async function cached(store: Appendable, bs: Uint8Array[], ct: string, ms: number): Promise<number> {
  const core = new ExpositionAppender(TARGET, OPTS, newParser);
  const res = new AppendResult();
  let t = 1_700_000_000_000;
  // Warm: fill the cache and let V8 optimise.
  for (let i = 0; i < 5; i++) {
    const app = store.appender();
    core.append(app, bs[i % bs.length]!, ct, (t += 1000), res);
    await app.commit();
  }
  let samples = 0;
  const c0 = cpuMs();
  const end = c0 + ms;
  for (let i = 0; cpuMs() < end; i++) {
    const app = store.appender();
    core.append(app, bs[i % bs.length]!, ct, (t += 1000), res);
    if (res.err !== null) throw res.err;
    samples += res.added;
    await app.commit();
  }
  // Includes commit (trivial for the counting appender, real work for the memory one).
  return samples / ((cpuMs() - c0) / 1000);
}

/** Heap bytes allocated by one cached scrape, per sample (min over rounds without GC). */
async function allocPerSample(bs: Uint8Array[], ct: string): Promise<number> {
  const sink = new CountingAppendable();
  const core = new ExpositionAppender(TARGET, OPTS, newParser);
  const res = new AppendResult();
  let t = 1_700_000_000_000;
  for (let i = 0; i < 20; i++) {
    const app = sink.appender();
    core.append(app, bs[i % bs.length]!, ct, (t += 1000), res);
    await app.commit();
  }
  let gcs = 0;
  const obs = new PerformanceObserver((list) => (gcs += list.getEntries().length));
  obs.observe({ entryTypes: ['gc'] });
  let best = Infinity;
  const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));
  for (let r = 0; r < 20; r++) {
    gc();
    await settle(); // let the forced GC's entry reach the observer before counting
    const g0 = gcs;
    const app = sink.appender();
    const before = process.memoryUsage().heapUsed;
    core.append(app, bs[r % bs.length]!, ct, (t += 1000), res);
    const after = process.memoryUsage().heapUsed;
    await app.commit();
    await settle();
    if (gcs !== g0) continue; // a GC ran inside the window: the delta is meaningless
    best = Math.min(best, (after - before) / res.added);
  }
  obs.disconnect();
  return best === Infinity ? NaN : Math.max(0, best);
}

async function main(): Promise<void> {
  const text = bodies('text', 8);
  const om = bodies('openmetrics', 8);
  console.log(`# ${SERIES} series; text body ${(text[0]!.length / 1e6).toFixed(2)} MB, OpenMetrics body ${(om[0]!.length / 1e6).toFixed(2)} MB`);

  figure('scrape_first_parse_mb_per_s', firstScrape(text[0]!, TEXT_CONTENT_TYPE, 8), 'MB/s');
  figure('scrape_cached_samples_per_s', await cached(new CountingAppendable(), text, TEXT_CONTENT_TYPE, 3000), 'samples/s');
  figure('scrape_cached_samples_per_s_memory_appender', await cached(new MemoryStorage(), text, TEXT_CONTENT_TYPE, 2000), 'samples/s');
  figure('scrape_cached_bytes_allocated_per_sample', await allocPerSample(text, TEXT_CONTENT_TYPE), 'bytes');
  figure('scrape_first_parse_mb_per_s_openmetrics', firstScrape(om[0]!, OPENMETRICS_CONTENT_TYPE, 8), 'MB/s');
  figure('scrape_cached_samples_per_s_openmetrics', await cached(new CountingAppendable(), om, OPENMETRICS_CONTENT_TYPE, 2000), 'samples/s');
}

await main();
