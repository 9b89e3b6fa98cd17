/**
 * Exposition parser throughput and allocation on a realistic Mattermost body
 * (test/support/mm-exposition.ts, ≥ 10,000 series, fixed seed), for both formats:
 *
 * Throughput is MB of body per CPU-second (see `throughput`).
 *
 *   FIGURE textparse_<fmt>_series_value_mbps    next() + series() + value() per sample
 *   FIGURE textparse_<fmt>_offsets_value_mbps   next() + series offsets + value() (scrape loop's path)
 *   FIGURE textparse_<fmt>_labels_mbps          … plus labels() into a LabelsBuilder
 *   FIGURE textparse_<fmt>_labels_noop_mbps     next() + labels() into a sink that keeps nothing
 *   FIGURE textparse_<fmt>_{series_value,offsets_value,labels,labels_noop}_alloc_bytes_per_sample
 *
 * Allocation is measured as the heap growth over one parse of a 1,000-series body
 * right after a forced GC (gc is exposed at run time), repeated; runs during which
 * V8 collected garbage are discarded and the minimum is reported (the bytes the
 * parse itself allocates; the parser object and its buffers are included).
 *
 *   node --import tsx bench/textparse/parse.bench.ts [--series N] [--seconds S]
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { LabelsBuilder } from '../../src/storage/labels.js';
import { Entry, newParser, type Parser } from '../../src/textparse/index.js';
import { OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE, buildMattermostExposition } from '../../test/support/mm-exposition.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const argv = process.argv.slice(2);
const arg = (name: string, def: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : def;
};
const SERIES = arg('series', 10_000);
const SECONDS = arg('seconds', 2);
const WINDOWS = 8;

let sink = 0;
const lb = new LabelsBuilder();

/** next() + series() + value(): the Parser-contract path. */
function seriesValue(p: Parser): number {
  let n = 0;
  let acc = 0; // a local: a module-level `let` double would box a number per write
  for (let e = p.next(); e !== Entry.EOF; e = p.next()) {
    if (e !== Entry.Series) continue;
    acc += p.series().length + p.value();
    n++;
  }
  sink += acc;
  return n;
}

type WithOffsets = Parser & { seriesStartOffset(): number; seriesEndOffset(): number };

/** next() + series offsets + value(): what the scrape loop does for a cached series (no view object). */
function offsetsValue(p: Parser): number {
  const q = p as WithOffsets;
  let n = 0;
  let acc = 0;
  for (let e = q.next(); e !== Entry.EOF; e = q.next()) {
    if (e !== Entry.Series) continue;
    acc += q.seriesEndOffset() - q.seriesStartOffset() + q.value();
    n++;
  }
  sink += acc;
  return n;
}

/** Full iteration: labels() into a LabelsBuilder for every sample (cache-miss path). */
function withLabels(p: Parser): number {
  let n = 0;
  let acc = 0;
  for (let e = p.next(); e !== Entry.EOF; e = p.next()) {
    if (e !== Entry.Series) continue;
    p.labels(lb);
    acc += p.series().length + p.value();
    n++;
  }
  sink += acc;
  return n;
}

/**
 * MB/s of `fn` over `body` per second of CPU time (process.cpuUsage), median of
 * WINDOWS windows. CPU time rather than wall time because this machine's two cores
 * are shared by many workers: wall time would mostly measure the wait for a core.
 * Also returns the best wall-clock window for reference.
 */
/** A sink that keeps nothing: isolates what labels() itself costs from the builder's work. */
const noopSink = { reset(): void {}, set(_n: string, _v: string): void {} };

/** labels() into a do-nothing sink: the parser's decoding alone. */
function withLabelsNoop(p: Parser): number {
  let n = 0;
  for (let e = p.next(); e !== Entry.EOF; e = p.next()) {
    if (e !== Entry.Series) continue;
    p.labels(noopSink);
    n++;
  }
  return n;
}

function throughput(body: Uint8Array, ct: string, fn: (p: Parser) => number): { cpu: number; wall: number } {
  for (let i = 0; i < 5; i++) fn(newParser(body, ct)); // warm up
  const cpu: number[] = [];
  let wall = 0;
  for (let w = 0; w < WINDOWS; w++) {
    let bytes = 0;
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    let us = 0;
    while (us < (SECONDS / WINDOWS) * 1e6) {
      fn(newParser(body, ct));
      bytes += body.length;
      const c = process.cpuUsage(c0);
      us = c.user + c.system;
    }
    cpu.push(bytes / us);
    wall = Math.max(wall, bytes / 1e3 / (Number(process.hrtime.bigint() - t0) / 1e6));
  }
  cpu.sort((a, b) => a - b);
  return { cpu: cpu[Math.floor(cpu.length / 2)]!, wall };
}

let gcs = 0;
new PerformanceObserver((list) => {
  gcs += list.getEntries().length;
}).observe({ entryTypes: ['gc'] });

async function allocPerSample(body: Uint8Array, ct: string, fn: (p: Parser) => number): Promise<number> {
  for (let i = 0; i < 20; i++) fn(newParser(body, ct)); // settle the JIT first
  const per: number[] = [];
  for (let i = 0; i < 25 && per.length < 15; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 10)); // let the observer see that GC
    const g0 = gcs;
    const h0 = process.memoryUsage().heapUsed;
    const n = fn(newParser(body, ct));
    const h1 = process.memoryUsage().heapUsed;
    await new Promise((r) => setTimeout(r, 10));
    if (gcs !== g0) continue;
    per.push((h1 - h0) / n);
  }
  // The minimum: what a parse itself allocates. Larger readings carry allocations
  // by V8 (feedback, code) or by other work sharing the heap, not by the parser.
  per.sort((a, b) => a - b);
  return per[0] ?? NaN;
}

const formats = [
  ['text', TEXT_CONTENT_TYPE],
  ['openmetrics', OPENMETRICS_CONTENT_TYPE],
] as const;

for (const [fmt, ct] of formats) {
  const body = new Uint8Array(Buffer.from(buildMattermostExposition({ series: SERIES, format: fmt, seed: 1 }), 'utf8'));
  // Allocation is measured on a smaller body so one parse fits in V8's young generation.
  const small = new Uint8Array(Buffer.from(buildMattermostExposition({ series: 1000, format: fmt, seed: 1 }), 'utf8'));
  const samples = seriesValue(newParser(body, ct));
  const f = fmt === 'text' ? 'text' : 'om';
  console.log(`# ${fmt}: ${samples} samples, ${(body.length / 1e6).toFixed(2)} MB`);
  for (const [what, fn] of [
    ['series_value', seriesValue],
    ['offsets_value', offsetsValue],
    ['labels', withLabels],
    ['labels_noop', withLabelsNoop],
  ] as const) {
    const t = throughput(body, ct, fn);
    console.log(`FIGURE textparse_${f}_${what}_mbps: ${t.cpu.toFixed(1)} MB/s`);
    console.log(`# textparse_${f}_${what}: best wall-clock window ${t.wall.toFixed(1)} MB/s`);
  }
  console.log(`FIGURE textparse_${f}_series_value_alloc_bytes_per_sample: ${(await allocPerSample(small, ct, seriesValue)).toFixed(1)} bytes`);
  console.log(`FIGURE textparse_${f}_offsets_value_alloc_bytes_per_sample: ${(await allocPerSample(small, ct, offsetsValue)).toFixed(1)} bytes`);
  console.log(`FIGURE textparse_${f}_labels_alloc_bytes_per_sample: ${(await allocPerSample(small, ct, withLabels)).toFixed(1)} bytes`);
  console.log(`FIGURE textparse_${f}_labels_noop_alloc_bytes_per_sample: ${(await allocPerSample(small, ct, withLabelsNoop)).toFixed(1)} bytes`);
}
if (sink === 42) console.log('');
