/**
 * Head benchmarks (run alone: `node --expose-gc --import tsx bench/tsdb/head/head.bench.ts`).
 *
 *   FIGURE head_appends_per_s          10,000 series × scrapes committed through the WAL (fdatasync on)
 *   FIGURE head_cpu_s_per_million      CPU seconds per million appended samples (same run)
 *   FIGURE head_bytes_per_series_live  heap + ArrayBuffer bytes per extra series holding 2 h of 15 s samples (480)
 *   FIGURE head_bytes_per_series_rss   RSS per extra series, same
 *   FIGURE head_query_samples_per_s    every sample of that head read back through the querier (sorted select, reused iterators)
 *   FIGURE wal_replay_s_per_million    replay (checkpoint-less WAL) seconds per million samples
 *
 * Prometheus reference (issue #3): ~4.6 KB RSS per head series, ~2.0 CPU-s per million
 * samples end to end. Fixed seed; data generated before the timed loops.
 * MM_BENCH_QUICK=1 shrinks the runs for development.
 *
 * Finished chunks go to chunks_head/ files in a temp dir, as in a DB (Prometheus m-maps
 * them, so they are not in its RSS either); the query figure then reads them back with
 * preads (page cache). MM_BENCH_HEAD_IN_MEMORY=1 keeps them in the in-memory arena
 * instead (the behaviour before chunks_head, and of read-only DBs).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Labels, Matcher, MatchType, ValueType, type SampleIterator } from '../../../src/storage/index.js';
import { Head } from '../../../src/tsdb/head/head.js';
import { ChunkDiskMapper } from '../../../src/tsdb/head/chunk-disk-mapper.js';
import { replayWAL } from '../../../src/tsdb/head/replay.js';
import { nopWalLogger, WAL } from '../../../src/tsdb/wal/index.js';

const quick = process.env.MM_BENCH_QUICK === '1';
const inMemory = process.env.MM_BENCH_HEAD_IN_MEMORY === '1';

/** A chunks_head mapper in a fresh temp dir (null with MM_BENCH_HEAD_IN_MEMORY=1); `done()` removes it. */
async function chunkDisk(): Promise<{ disk: ChunkDiskMapper | null; done: () => Promise<void> }> {
  if (inMemory) return { disk: null, done: async () => {} };
  const dir = await mkdtemp(join(tmpdir(), 'mm-bench-chunks-head-'));
  const disk = new ChunkDiskMapper(join(dir, 'chunks_head'));
  disk.loadAll();
  return {
    disk,
    done: async () => {
      disk.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
const SERIES = 10_000;

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mattermost-like label sets: ~20 metric names × instances × label values. */
function makeSeries(n: number): Labels[] {
  const out: Labels[] = [];
  for (let i = 0; i < n; i++) {
    out.push(
      Labels.fromObject({
        __name__: `mattermost_metric_${i % 23}_total`,
        instance: `mm-app-${i % 5}:8067`,
        job: 'mattermost',
        handler: `/api/v4/handler_${Math.floor(i / 23) % 97}`,
        method: ['GET', 'POST', 'PUT', 'DELETE'][i % 4]!,
        le: String(Math.floor(i / 2231)),
      }),
    );
  }
  return out;
}

/**
 * Values for scrape k of series i, shaped like a Mattermost server's: 60 % counters
 * (most idle between scrapes, some steadily increasing), 40 % gauges (random walk that
 * changes on a fifth of the scrapes). Gives ~1.5 chunk bytes per sample, close to the
 * ~1.3 Prometheus reports for real workloads.
 */
function makeValues(n: number, scrapes: number, rnd: () => number): Float64Array {
  const vs = new Float64Array(n * scrapes);
  for (let i = 0; i < n; i++) {
    const counter = i % 5 < 3;
    const busy = rnd() < 0.3;
    let c = Math.floor(rnd() * 1000);
    let g = Math.round(rnd() * 500);
    for (let k = 0; k < scrapes; k++) {
      if (counter) {
        if (busy || rnd() < 0.1) c += 1 + Math.floor(rnd() * 30);
        vs[k * n + i] = c;
      } else {
        if (rnd() < 0.2) g = Math.max(0, g + Math.round((rnd() - 0.5) * 20));
        vs[k * n + i] = g;
      }
    }
  }
  return vs;
}

function scrapeTimes(scrapes: number, rnd: () => number): Float64Array {
  const ts = new Float64Array(scrapes);
  const t0 = 1_700_000_000_000;
  for (let k = 0; k < scrapes; k++) ts[k] = t0 + k * 15_000 + Math.floor(rnd() * 5);
  return ts;
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) {
    g();
    g();
  }
}

async function appendRun(head: Head, lsets: Labels[], ts: Float64Array, vs: Float64Array, scrapes: number): Promise<void> {
  const n = lsets.length;
  const refs = new Float64Array(n);
  for (let k = 0; k < scrapes; k++) {
    const app = head.appender();
    const t = ts[k] as number;
    for (let i = 0; i < n; i++) refs[i] = app.append(refs[i] as number, lsets[i] as Labels, t, vs[k * n + i] as number);
    await app.commit();
  }
}

async function benchAppend(): Promise<void> {
  const scrapes = quick ? 20 : 120;
  const rnd = mulberry32(42);
  const lsets = makeSeries(SERIES);
  const ts = scrapeTimes(scrapes, rnd);
  const vs = makeValues(SERIES, scrapes, rnd);
  const dir = await mkdtemp(join(tmpdir(), 'mm-bench-head-'));
  try {
    const wal = await WAL.open(join(dir, 'wal'), { logger: nopWalLogger });
    const disk = new ChunkDiskMapper(join(dir, 'chunks_head'));
    disk.loadAll();
    const head = new Head({ wal, chunkDisk: inMemory ? null : disk });
    // Warm-up scrape creates the series (series records) outside the timing.
    await appendRun(head, lsets, ts, vs, 1);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await appendRun(head, lsets, ts.subarray(1), vs.subarray(SERIES), scrapes - 1);
    const secs = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const samples = SERIES * (scrapes - 1);
    await wal.close();
    disk.close();
    console.log(`FIGURE head_appends_per_s: ${Math.round(samples / secs)} samples/s`);
    console.log(`FIGURE head_cpu_s_per_million: ${(((cpu.user + cpu.system) / 1e6) * (1e6 / samples)).toFixed(3)} cpu-s`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Marginal memory per series: a head first gets `base` series (fixed costs: V8's young
 * generation, code, the first arena page), is measured, then gets `n` more series and
 * is measured again. Each series holds 480 samples (2 h at 15 s).
 */
async function benchMemory(): Promise<void> {
  const scrapes = 480; // 2 h of 15 s samples
  const base = quick ? 1000 : 5000;
  const n = quick ? 2000 : SERIES;
  const rnd = mulberry32(7);
  const all = makeSeries(base + n);
  const ts = scrapeTimes(scrapes, rnd);
  const vsBase = makeValues(base, scrapes, rnd);
  const vs = makeValues(n, scrapes, rnd);
  // One chunks_head mapper for both heads: its 4 MiB write buffer is a fixed cost, measured with the warm-up head.
  const cd = await chunkDisk();
  const warm = new Head({ chunkDisk: cd.disk });
  await appendRun(warm, all.slice(0, base), ts, vsBase, scrapes);
  gc();
  const m0 = process.memoryUsage();
  // A second head over the same time range (one head would reject the older timestamps).
  const head = new Head({ chunkDisk: cd.disk });
  await appendRun(head, all.slice(base), ts, vs, scrapes);
  gc();
  const m1 = process.memoryUsage();
  const st = head.stats();
  if (st.numSamples !== n * scrapes) throw new Error(`expected ${n * scrapes} samples, head has ${st.numSamples}`);
  console.log(`head: ${st.numSeries} series, ${st.numChunks} chunks, ${(st.chunkBytes / st.numSamples).toFixed(2)} chunk bytes/sample, finished chunks ${cd.disk === null ? `in memory (${head.arena.allocatedBytes()} B of arena pages)` : `in chunks_head (${cd.disk.size()} B on disk for both heads, ${cd.disk.chunksWritten} chunks)`}`);
  const live = m1.heapUsed + m1.arrayBuffers - (m0.heapUsed + m0.arrayBuffers);
  console.log(`FIGURE head_bytes_per_series_live: ${Math.round(live / n)} bytes`);
  console.log(`FIGURE head_bytes_per_series_rss: ${Math.round((m1.rss - m0.rss) / n)} bytes`);
  if (head.series.size !== n || warm.series.size !== base) throw new Error('series lost');
  benchQuery(head);
  await cd.done();
}

/** Reads every sample of the head back through the querier (iterators reused, as PromQL does). */
function benchQuery(head: Head): void {
  let best = Infinity;
  let samples = 0;
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    const set = head.querier(-Infinity, Infinity).select(true, null, new Matcher(MatchType.Regexp, '__name__', '.+'));
    let it: SampleIterator | null = null;
    samples = 0;
    while (set.next()) {
      it = set.at().iterator(it);
      while (it.next() === ValueType.Float) samples++;
    }
    best = Math.min(best, performance.now() - t0);
  }
  console.log(`FIGURE head_query_samples_per_s: ${Math.round(samples / (best / 1000))} samples/s`);
}

async function benchReplay(): Promise<void> {
  const scrapes = quick ? 20 : 100; // 10k × 100 = 1M samples
  const rnd = mulberry32(99);
  const lsets = makeSeries(SERIES);
  const ts = scrapeTimes(scrapes, rnd);
  const vs = makeValues(SERIES, scrapes, rnd);
  const dir = await mkdtemp(join(tmpdir(), 'mm-bench-replay-'));
  try {
    const walDir = join(dir, 'wal');
    const wal = await WAL.open(walDir, { logger: nopWalLogger });
    await appendRun(new Head({ wal }), lsets, ts, vs, scrapes);
    await wal.close();
    gc();
    const t0 = performance.now();
    const head = new Head();
    const st = replayWAL(head, { checkpointDir: null, checkpointIndex: null, walDir, fromSegment: 0, toSegment: Infinity });
    const secs = (performance.now() - t0) / 1000;
    if (st.samplesAppended !== SERIES * scrapes) throw new Error(`replayed ${st.samplesAppended} of ${SERIES * scrapes}`);
    console.log(`FIGURE wal_replay_s_per_million: ${(secs / ((SERIES * scrapes) / 1e6)).toFixed(3)} s`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// Memory first, before other runs leave garbage behind.
await benchMemory();
await benchAppend();
await benchReplay();
