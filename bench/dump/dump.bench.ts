/**
 * Dump creation, end to end: TsdbDumpBuilder.build over 15 days of shipped 2 h blocks
 * in a local file store, next to GNU `tar czf` of the same block files.
 *
 *   default          2,500 series × 15 days @ 60 s  (≈ 54 M samples; < 3 min incl. first generation)
 *   MM_BENCH_FULL=1 10,000 series × 15 days @ 60 s  (180 blocks, ≈ 216 M samples)
 *   MM_BENCH_DUMP_REPEAT=n  runs of the 15-day build and of tar czf (best taken), default 1 (2 when full)
 *
 * Blocks are generated once (bench/dump/gen.ts) into a cache dir under os.tmpdir() keyed
 * by the parameters. Each build runs in its own child process (build-child.ts) so its
 * VmHWM is the build's peak RSS.
 *
 *   FIGURE dump_15d: MB/s of input block bytes (block bytes in range / wall seconds)
 *   FIGURE tar_czf_15d: MB/s of `tar czf` over the same block files
 *   FIGURE dump_vs_tar_czf_time: our wall time / tar czf's wall time (target ≤ 1.3)
 *   FIGURE dump_vs_tar_czf_cpu: our CPU seconds / tar czf's CPU seconds (tar + gzip processes)
 *   FIGURE dump_peak_rss_{1,5,15}d: peak RSS (VmHWM) of the build process per range
 *   FIGURE dump_archive_bytes_per_sample: archive bytes / samples in the 15-day dump
 *   FIGURE dump_archive_vs_tar_czf_size: our archive size / tar czf's
 *   FIGURE dump_series_union_heap: heap the union of label sets over all 180 blocks keeps (needs --expose-gc)
 *   FIGURE dump_index_pass: seconds to read every block's index into that union (the main thread's share)
 *   FIGURE archive_{node_tar,ours_1_thread,ours_parallel}: MB/s of the archive step alone
 *          (5 days of block files → tar.gz in the store): node-tar + one zlib stream (the
 *          previous implementation), our ustar writer with one deflate job, and with one per CPU
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATA_ROOT, ensureBlocks, type GenParams } from './gen.js';
import { SeriesUnion } from '../../src/dump/assemble.js';
import { openBlockSync } from '../../src/tsdb/block/index.js';

const FULL = process.env.MM_BENCH_FULL === '1';
const params: GenParams = {
  seed: 20240515,
  series: FULL ? 10_000 : 2_500,
  days: 15,
  intervalMs: 60_000,
  startMs: 1_699_999_200_000, // 2 h aligned (2023-11-14T22:00Z)
};
const REPEAT = Number(process.env.MM_BENCH_DUMP_REPEAT ?? (FULL ? 2 : 1));
const DAY = 86_400_000;
const here = new URL('.', import.meta.url).pathname;

const log = (s: string) => process.stdout.write(s + '\n');
const mb = (b: number) => (b / 1e6).toFixed(1);

const gen = await ensureBlocks(params, log);
log(`input: ${gen.series} series, ${(gen.samples / 1e6).toFixed(1)} M samples, ${gen.blocks.length} blocks, ${mb(gen.bytes)} MB` + (gen.genSeconds > 0 ? ` (generated in ${gen.genSeconds.toFixed(0)} s)` : ' (cached)') + ` at ${gen.cacheDir}`);
const dataEnd = params.startMs + params.days * DAY;
const work = mkdtempSync(join(tmpdir(), 'mm-dump-bench-work-'));

interface ChildResult {
  seconds: number;
  cpuSeconds: number;
  vmHWM: number;
  sampledPeakRss: number;
  size: number;
  phases: Record<string, number>;
}

function build(days: number): ChildResult {
  const arg = JSON.stringify({ storeRoot: gen.storeRoot, workDir: work, mint: dataEnd - days * DAY, maxt: dataEnd - 1, id: 'benchdumpbenchdumpbenchdum' });
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, 'build-child.ts'), arg], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 16 << 20 });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('RESULT '));
  if (r.status !== 0 || !line) throw new Error(`build child failed (status ${r.status}): ${r.stdout}`);
  return JSON.parse(line.slice(7)) as ChildResult;
}

function inRange(days: number) {
  const mint = dataEnd - days * DAY;
  return gen.blocks.filter((b) => b.maxTime > mint);
}

/** `tar czf` of the blocks of the last `days`, wall and CPU (tar and its gzip child). */
function tarCzf(days: number): { seconds: number; cpuSeconds: number; size: number } {
  const out = join(work, 'blocks.tar.gz');
  const ulids = inRange(days).map((b) => b.ulid);
  const t0 = performance.now();
  // `times` prints the shell's children's user/sys time on its second line.
  const text = execFileSync('bash', ['-c', 'out="$0"; dir="$1"; shift; tar czf "$out" -C "$dir" "$@" && times', out, join(gen.storeRoot, DATA_ROOT), ...ulids], { encoding: 'utf8' });
  const seconds = (performance.now() - t0) / 1000;
  const lines = text.trim().split('\n');
  const secs = (s: string) => {
    const m = /(\d+)m([\d.]+)s/.exec(s);
    return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
  };
  const [u, s] = (lines[lines.length - 1] as string).split(/\s+/);
  const size = statSync(out).size;
  rmSync(out);
  return { seconds, cpuSeconds: secs(u as string) + secs(s as string), size };
}

function samplesIn(days: number): number {
  // Every series has one sample per interval while it exists; the generator's count is exact for the full range.
  return days === params.days ? gen.samples : (gen.samples * days) / params.days;
}

/** The archive step alone, one implementation per child process. */
function archive(impl: string, stage: string): { seconds: number; cpuSeconds: number; size: number } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, 'archive-child.ts'), impl, stage, join(work, 'archive-store')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('RESULT '));
  if (r.status !== 0 || !line) throw new Error(`archive child failed (status ${r.status}): ${r.stdout}`);
  return JSON.parse(line.slice(7)) as { seconds: number; cpuSeconds: number; size: number };
}

try {
  log(`machine: ${availableParallelism()} CPUs, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} (wall times are shared with other work; CPU seconds are not)`);
  {
    // The one thing the assembly keeps for the whole range: the label sets of the union.
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const h0 = process.memoryUsage().heapUsed;
    const t0 = performance.now();
    const union = new SeriesUnion();
    for (const b of gen.blocks) {
      const blk = openBlockSync(join(gen.storeRoot, DATA_ROOT, b.ulid));
      const ir = blk.index();
      union.beginOrdered();
      for (const id of ir.allPostings()) union.idOrdered(ir.series(id).labels);
      await blk.close();
    }
    const secs = (performance.now() - t0) / 1000;
    union.beginOrdered();
    union.beginOrdered(); // drop the position lists: only the union itself stays
    gc?.();
    const heap = process.memoryUsage().heapUsed - h0;
    log(`series union: ${union.labels.length} series over ${gen.blocks.length} blocks, ${secs.toFixed(2)} s`);
    if (gc) log(`FIGURE dump_series_union_heap: ${mb(heap)} MB`);
    log(`FIGURE dump_index_pass: ${secs.toFixed(2)} s`);
  }
  const rss: Record<number, number> = {};
  for (const days of [1, 5, 10]) {
    const r = build(days);
    const bytes = inRange(days).reduce((a, b) => a + b.bytes, 0);
    rss[days] = r.vmHWM;
    log(`dump ${days}d: ${mb(bytes)} MB in ${r.seconds.toFixed(2)} s (${r.cpuSeconds.toFixed(2)} CPU s) = ${(bytes / 1e6 / r.seconds).toFixed(1)} MB/s; archive ${mb(r.size)} MB; VmHWM ${mb(r.vmHWM)} MB (sampled ${mb(r.sampledPeakRss)} MB); phases ${JSON.stringify(r.phases)}`);
  }
  let best: ChildResult | null = null;
  let tar: ReturnType<typeof tarCzf> | null = null;
  for (let i = 0; i < REPEAT; i++) {
    // Alternate so both see the same machine load and page cache.
    const t = tarCzf(params.days);
    log(`tar czf 15d: ${t.seconds.toFixed(2)} s (${t.cpuSeconds.toFixed(2)} CPU s), ${mb(t.size)} MB`);
    if (tar === null || t.seconds < tar.seconds) tar = t;
    const r = build(params.days);
    log(`dump 15d: ${r.seconds.toFixed(2)} s (${r.cpuSeconds.toFixed(2)} CPU s), archive ${mb(r.size)} MB, VmHWM ${mb(r.vmHWM)} MB (sampled ${mb(r.sampledPeakRss)} MB); phases ${JSON.stringify(r.phases)}`);
    if (best === null || r.seconds < best.seconds) best = r;
  }
  if (best === null || tar === null) throw new Error('no runs');
  rss[params.days] = best.vmHWM;
  const bytes = gen.bytes;
  log(`FIGURE dump_15d: ${(bytes / 1e6 / best.seconds).toFixed(1)} MB/s`);
  log(`FIGURE tar_czf_15d: ${(bytes / 1e6 / tar.seconds).toFixed(1)} MB/s`);
  log(`FIGURE dump_vs_tar_czf_time: ${(best.seconds / tar.seconds).toFixed(2)} x`);
  log(`FIGURE dump_vs_tar_czf_cpu: ${(best.cpuSeconds / tar.cpuSeconds).toFixed(2)} x`);
  for (const d of [1, 5, 10, params.days]) log(`FIGURE dump_peak_rss_${d}d: ${mb(rss[d] as number)} MB`);
  log(`FIGURE dump_archive_bytes_per_sample: ${(best.size / samplesIn(params.days)).toFixed(3)} bytes`);
  log(`FIGURE dump_archive_vs_tar_czf_size: ${(best.size / tar.size).toFixed(3)} x`);

  // The archive step alone over the same files (copied, so no run sees another's page cache advantage).
  const stage = join(work, 'stage');
  const blocks5d = inRange(5);
  for (const b of blocks5d) cpSync(join(gen.storeRoot, DATA_ROOT, b.ulid), join(stage, 'data', b.ulid), { recursive: true });
  mkdirSync(join(stage, 'data', 'wal'));
  const stageBytes = blocks5d.reduce((a, b) => a + b.bytes, 0);
  const impls = [['node-tar', 'node_tar'], ['ours-1', 'ours_1_thread'], ['ours-N', 'ours_parallel']] as const;
  const bestOf = new Map<string, { seconds: number; cpuSeconds: number; size: number }>();
  for (let round = 0; round < 3; round++) {
    // Interleaved rounds, best of each: the machine's load moves between runs.
    for (const [impl] of impls) {
      const r = archive(impl, stage);
      log(`archive ${impl}: ${mb(stageBytes)} MB in ${r.seconds.toFixed(2)} s (${r.cpuSeconds.toFixed(2)} CPU s) → ${mb(r.size)} MB`);
      const b = bestOf.get(impl);
      bestOf.set(impl, b === undefined ? r : { seconds: Math.min(b.seconds, r.seconds), cpuSeconds: Math.min(b.cpuSeconds, r.cpuSeconds), size: r.size });
    }
  }
  for (const [impl, fig] of impls) {
    const b = bestOf.get(impl)!;
    log(`FIGURE archive_${fig}: ${(stageBytes / 1e6 / b.seconds).toFixed(1)} MB/s`);
    log(`FIGURE archive_${fig}_cpu: ${(stageBytes / 1e6 / b.cpuSeconds).toFixed(1)} MB per CPU s`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
