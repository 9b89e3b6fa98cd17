/**
 * The read-only open (`openReadOnly`, `mm-metrics tsdb dump`) reads `chunks_head/` as
 * promtool 2.42 does: on directories whose WAL no longer holds the samples of the head
 * chunk files (ours and one written by the real Prometheus), our dump prints exactly what
 * `promtool tsdb dump` prints, and the directory is byte-for-byte unchanged afterwards.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, test } from 'vitest';
import { Labels } from '../../../src/storage/index.js';
import { openDB, openReadOnly } from '../../../src/tsdb/db.js';
import { havePrometheus } from '../../support/prometheus.js';
import { Cleanups, dbSamples, dropMmappedSamplesFromWAL, hashTree, ingest, quietLogger, scrapingPrometheus } from '../../support/tsdb.js';

const PROMTOOL = '/usr/bin/promtool';
const BIN = new URL('../../../bin/mm-metrics.js', import.meta.url).pathname;
const run = promisify(execFile);
const cleanups = new Cleanups();
afterAll(() => cleanups.run());

async function ourDump(dir: string): Promise<string> {
  return (await run(process.execPath, [BIN, 'tsdb', 'dump', dir], { maxBuffer: 1 << 28 })).stdout;
}
/** promtool on a copy: Prometheus's read-only open writes into chunks_head (it cuts replayed chunks) and may repair. */
async function promtoolDump(dir: string): Promise<string> {
  const copy = await cleanups.tmp('mm-ro-hc-promtool-');
  cpSync(dir, copy, { recursive: true });
  return (await run(PROMTOOL, ['tsdb', 'dump', copy], { maxBuffer: 1 << 28 })).stdout;
}
const sortedLines = (s: string): string[] => s.split('\n').filter((l) => l !== '').sort();

const T0 = Math.floor((Date.now() - 40 * 60_000) / 1000) * 1000;
const SERIES = 12;
const N = 1800; // 1 s samples for 30 min: 15 chunks of 120 per series
const lset = (i: number): Labels => Labels.fromObject({ __name__: i % 2 === 0 ? 'ro_gauge' : 'ro_counter_total', job: 'ro', i: String(i) });
const val = (k: number, i: number): number => (i === 3 ? ([NaN, Infinity, -Infinity, -0, 2 ** 53, 0.1][k % 6] as number) : i % 2 === 0 ? Math.round(Math.sin(k / 20) * 1000) / 8 : k * (i + 1));

describe('read-only open with samples only in chunks_head', () => {
  test('a directory we wrote: openReadOnly returns every sample, changes nothing, and reports the attached chunks', async () => {
    const dir = await cleanups.tmp('mm-ro-hc-ours-');
    const db = await openDB(dir, { logger: quietLogger, retentionMs: 0 });
    const written = await ingest(db, Array.from({ length: SERIES }, (_, i) => lset(i)), N, (k) => T0 + k * 1000, val);
    await db.close();
    const { dropped, kept } = await dropMmappedSamplesFromWAL(dir);
    // Most finished chunks (120 samples each) are on disk only; the open chunk is in the WAL.
    expect(dropped).toBeGreaterThan(SERIES * 12 * 120);
    expect(kept).toBe(SERIES * N - dropped);
    const before = hashTree(dir);
    expect([...before.keys()].filter((k) => k.startsWith('chunks_head/')).length).toBeGreaterThan(0);

    const ro = await openReadOnly(dir, { logger: quietLogger });
    try {
      expect(dbSamples(ro).sort()).toEqual([...written].sort());
      const st = ro.stats().headChunks;
      expect(st?.chunksAttached).toBeGreaterThan(SERIES * 12);
      expect(st?.samplesAttached).toBe(dropped);
      expect(st?.walSamplesSkipped).toBe(0);
      expect(ro.head.opts.chunkDisk).toBeNull();
    } finally {
      await ro.close();
    }
    expect(hashTree(dir)).toEqual(before);

    if (existsSync(PROMTOOL)) {
      const ours = await ourDump(dir);
      expect(hashTree(dir)).toEqual(before);
      const theirs = await promtoolDump(dir);
      expect(sortedLines(ours).length).toBe(SERIES * N);
      expect(sortedLines(ours)).toEqual(sortedLines(theirs));
    }
  }, 120_000);

  test('a torn chunks_head file is skipped in memory only: every sample still comes from the WAL and the file is not repaired', async () => {
    const dir = await cleanups.tmp('mm-ro-hc-torn-');
    // 4 KiB files: 12 series × 4 finished chunks (~7 KB) always fill more than one. With 16 KiB
    // it took a 2 h boundary inside the 10 minutes (extra cuts) to make a second file, so the
    // test depended on the time of day it ran.
    const db = await openDB(dir, { logger: quietLogger, retentionMs: 0, headChunkFileSize: 4 * 1024 });
    const written = await ingest(db, Array.from({ length: SERIES }, (_, i) => lset(i)), 600, (k) => T0 + k * 1000, val);
    await db.close();
    // Tear the newest head chunk file in the middle of a record (the WAL still has everything).
    const files = [...hashTree(dir).keys()].filter((k) => /^chunks_head\/\d+$/.test(k)).sort();
    expect(files.length).toBeGreaterThan(1);
    const last = join(dir, files[files.length - 1] as string);
    const b = readFileSync(last);
    writeFileSync(last, b.subarray(0, b.length - 7));
    const before = hashTree(dir);
    const warnings: string[] = [];
    const ro = await openReadOnly(dir, { logger: { info: () => {}, warn: (_o, msg) => warnings.push(msg) } });
    try {
      expect(ro.stats().headChunks?.corruption).toMatch(/torn write/);
      expect(warnings.some((w) => /skipped \(read-only, not repaired\)/.test(w))).toBe(true);
      expect(dbSamples(ro).sort()).toEqual([...written].sort());
    } finally {
      await ro.close();
    }
    expect(hashTree(dir)).toEqual(before);
  }, 60_000);

  test('the first chunks_head file missing: series whose chunks miss earlier samples are rebuilt from the WAL, nothing changed', async () => {
    const dir = await cleanups.tmp('mm-ro-hc-first-');
    const db = await openDB(dir, { logger: quietLogger, retentionMs: 0, headChunkFileSize: 8 * 1024 });
    const written = await ingest(db, Array.from({ length: SERIES }, (_, i) => lset(i)), 900, (k) => T0 + k * 1000, val);
    await db.close();
    const files = [...hashTree(dir).keys()].filter((k) => /^chunks_head\/\d+$/.test(k)).sort();
    expect(files.length).toBeGreaterThan(2);
    rmSync(join(dir, files[0] as string));
    const before = hashTree(dir);
    const ro = await openReadOnly(dir, { logger: quietLogger });
    try {
      expect(ro.stats().headChunks?.seriesDetached).toBeGreaterThan(0);
      expect(dbSamples(ro).sort()).toEqual([...written].sort());
    } finally {
      await ro.close();
    }
    expect(hashTree(dir)).toEqual(before);
  }, 60_000);

  test('no chunks_head directory: the read-only open creates none', async () => {
    const dir = await cleanups.tmp('mm-ro-hc-none-');
    const db = await openDB(dir, { logger: quietLogger, retentionMs: 0 });
    const written = await ingest(db, [lset(0)], 100, (k) => T0 + k * 1000, val);
    await db.close();
    rmSync(join(dir, 'chunks_head'), { recursive: true, force: true });
    const before = hashTree(dir);
    const ro = await openReadOnly(dir, { logger: quietLogger });
    expect(dbSamples(ro)).toEqual(written);
    expect(ro.stats().headChunks).toBeNull();
    await ro.close();
    expect(hashTree(dir)).toEqual(before);
  });
});

describe.skipIf(!havePrometheus || !existsSync(PROMTOOL))('read-only open of a Prometheus 2.42 directory with samples only in chunks_head', () => {
  test('our tsdb dump equals promtool tsdb dump, and the directory is unchanged', async () => {
    const { prom } = await scrapingPrometheus(cleanups, { series: 200, seed: 7, interval: '100ms', timeout: '90ms' });
    // 120 samples at 100 ms = 12 s per chunk: at least one chunk cut per series.
    await new Promise((r) => setTimeout(r, 27_000));
    await prom.stop('SIGTERM'); // a clean stop flushes its head chunk files
    const dir = prom.dataDir;
    const { dropped } = await dropMmappedSamplesFromWAL(dir);
    expect(dropped).toBeGreaterThan(200 * 100);
    const before = hashTree(dir);
    const ours = await ourDump(dir);
    expect(hashTree(dir)).toEqual(before);
    const theirs = await promtoolDump(dir);
    const o = sortedLines(ours);
    expect(o.length).toBeGreaterThan(dropped);
    expect(o).toEqual(sortedLines(theirs));
    console.log(`Prometheus dir: ${o.length} samples dumped, ${dropped} of them only in chunks_head`);
  }, 120_000);
});
