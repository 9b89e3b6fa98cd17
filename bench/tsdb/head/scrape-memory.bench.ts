/**
 * Memory per head series with the scrape side in front, without HTTP or WAL: 10
 * targets × 5,000 Mattermost-like series (the side-by-side shape) scraped 130 times at
 * 1 s through ExpositionAppender (scrape cache, labels) into a Head (open chunks,
 * cut chunks in the arena, postings), then measured after two full GCs.
 *
 *   node --expose-gc --import tsx bench/tsdb/head/scrape-memory.bench.ts
 *
 *   FIGURE scrape_head_heap_bytes_per_series   V8 heap used per series
 *   FIGURE scrape_head_buffer_bytes_per_series ArrayBuffer bytes per series (arena pages, open-chunk slabs)
 *   FIGURE scrape_head_rss_bytes_per_series    RSS growth per series (includes allocator overhead)
 *   FIGURE scrape_head_cpu_ns_per_sample       CPU (all threads, GC included) per sample of the scrape loop
 *
 * Finished chunks go to chunks_head/ in a temp dir, as in the service (one chunk per
 * series is cut at ~120 scrapes); MM_BENCH_HEAD_IN_MEMORY=1 keeps them in the arena.
 * MM_BENCH_SNAPSHOT=file.heapsnapshot writes a V8 heap snapshot after measuring (to see
 * which objects a series costs).
 *
 * The side-by-side's RSS per series also carries the service's fixed cost (~130 MB of
 * loaded modules and the tsx loader thread, divided by 50,000 series). Fixed seed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { Head } from '../../../src/tsdb/head/head.js';
import { ChunkDiskMapper } from '../../../src/tsdb/head/chunk-disk-mapper.js';
import { newParser } from '../../../src/textparse/index.js';
import { Labels } from '../../../src/storage/index.js';
import { AppendResult, ExpositionAppender, type AppendOptions } from '../../../src/scrape/index.js';
import { buildMattermostExposition, TEXT_CONTENT_TYPE } from '../../../test/support/mm-exposition.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');
const TARGETS = 10;
const SERIES = 5000;
const SCRAPES = Number(process.env.MM_BENCH_SCRAPES ?? 130);
const OPTS: AppendOptions = { honorLabels: false, honorTimestamps: true, sampleLimit: 0, labelLimit: 0, labelNameLengthLimit: 0, labelValueLengthLimit: 0 };

const chunkDir = process.env.MM_BENCH_HEAD_IN_MEMORY === '1' ? null : mkdtempSync(join(tmpdir(), 'mm-bench-scrape-chunks-'));
const disk = chunkDir === null ? null : new ChunkDiskMapper(join(chunkDir, 'chunks_head'));
disk?.loadAll();
const bodies = Array.from({ length: 4 }, (_, k) => Buffer.from(buildMattermostExposition({ series: SERIES, seed: 5, scrapeIndex: k })));
gc();
const m0 = process.memoryUsage();
const head = new Head({ chunkDisk: disk });
const exps = Array.from({ length: TARGETS }, (_, t) => new ExpositionAppender(Labels.fromObject({ job: 'mattermost', instance: `127.0.0.1:${40000 + t}` }), OPTS, newParser));
const res = new AppendResult();
const cpu0 = process.cpuUsage();
for (let i = 0; i < SCRAPES; i++) {
  for (let t = 0; t < TARGETS; t++) {
    const app = head.appender();
    exps[t]!.append(app, bodies[i % bodies.length]!, TEXT_CONTENT_TYPE, 1_700_000_000_000 + i * 1000, res);
    if (res.err !== null) throw res.err;
    await app.commit();
  }
}
const cpu = process.cpuUsage(cpu0);
gc();
gc();
const m1 = process.memoryUsage();
const n = head.series.size;
console.log(`FIGURE scrape_head_heap_bytes_per_series: ${Math.round((m1.heapUsed - m0.heapUsed) / n)} bytes`);
console.log(`FIGURE scrape_head_buffer_bytes_per_series: ${Math.round((m1.arrayBuffers - m0.arrayBuffers) / n)} bytes`);
console.log(`FIGURE scrape_head_rss_bytes_per_series: ${Math.round((m1.rss - m0.rss) / n)} bytes`);
console.log(`FIGURE scrape_head_cpu_ns_per_sample: ${Math.round(((cpu.user + cpu.system) * 1000) / (n * SCRAPES))} ns`);
if (process.env.MM_BENCH_SNAPSHOT) console.log(`heap snapshot: ${writeHeapSnapshot(process.env.MM_BENCH_SNAPSHOT)}`);
console.log(`finished chunks: ${disk === null ? 'in memory' : `${disk.chunksWritten} in chunks_head (${disk.size()} B)`}`);
disk?.close();
if (chunkDir !== null) rmSync(chunkDir, { recursive: true, force: true });
