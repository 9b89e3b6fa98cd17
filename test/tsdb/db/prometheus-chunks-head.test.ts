/**
 * chunks_head/ side by side with the real Prometheus 2.42:
 *  - Prometheus reads our head chunk files: a directory whose WAL holds only the samples
 *    after our m-mapped chunks (the earlier ones exist nowhere but in our chunks_head)
 *    is answered with every sample, and no chunk file is reported corrupt;
 *  - we read Prometheus's: it scrapes a 100 ms target long enough to cut head chunks,
 *    is stopped (SIGTERM, and SIGKILL), and our DB opened on its directory returns
 *    exactly what its API returned before it stopped.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { Labels } from '../../../src/storage/index.js';
import { openDB } from '../../../src/tsdb/db.js';
import { havePrometheus, startPrometheus } from '../../support/prometheus.js';
import { Cleanups, dbSamples, dropMmappedSamplesFromWAL, ingest, mmappedMaxt, promSampleLines, quietLogger as quiet, scrapingPrometheus } from '../../support/tsdb.js';

const cleanups = new Cleanups();
afterAll(() => cleanups.run());
const tmp = (): Promise<string> => cleanups.tmp('mm-prom-hc-');

const T0 = Math.floor((Date.now() - 40 * 60_000) / 1000) * 1000; // recent: Prometheus keeps it in its head
const SERIES = 12;
const N = 1800; // 1 s samples for 30 min: 15 chunks of 120 per series

function lset(i: number): Labels {
  return Labels.fromObject({ __name__: i % 2 === 0 ? 'hc_gauge' : 'hc_counter_total', job: 'hc', i: String(i) });
}
function val(k: number, i: number): number {
  if (i === 3) return [NaN, Infinity, -Infinity, -0, 2 ** 53, 0.1][k % 6]!;
  return i % 2 === 0 ? Math.round(Math.sin(k / 20) * 1000) / 8 : k * (i + 1);
}

describe.skipIf(!havePrometheus)('chunks_head with Prometheus 2.42', () => {
  test('Prometheus answers from our chunks_head: samples that exist only in our head chunk files are returned exactly', async () => {
    // 1. All samples, written normally: finished chunks go to chunks_head.
    const a = await tmp();
    const db = await openDB(a, { logger: quiet, retentionMs: 0 });
    const written = await ingest(db, Array.from({ length: SERIES }, (_, i) => lset(i)), N, (k) => T0 + k * 1000, val);
    await db.close();
    // 2. Newest m-mapped sample per series ref, read back from the files.
    expect(mmappedMaxt(a).size).toBe(SERIES);
    // 3. The WAL rewritten without the samples the m-mapped chunks hold: they exist
    //    nowhere but in our chunks_head.
    const { dropped } = await dropMmappedSamplesFromWAL(a);
    expect(dropped).toBeGreaterThan(SERIES * 12 * 120);
    const filesBefore = readdirSync(join(a, 'chunks_head')).sort();

    // Our own DB reads it back the same way.
    const again = await openDB(a, { logger: quiet, retentionMs: 0 });
    expect(dbSamples(again, -Infinity, Infinity, false).sort()).toEqual([...written].sort());
    await again.close();

    const prom = await startPrometheus({ dataDir: a, args: ['--storage.tsdb.retention.time=100y'] });
    cleanups.defer(() => prom.stop());
    const end = T0 + N * 1000;
    const got = promSampleLines(await prom.rawSamples('{job="hc"}', end - T0 + 60_000, end));
    expect(await prom.selfMetric('prometheus_tsdb_mmap_chunk_corruptions_total')).toBe(0);
    expect(got.length).toBe(written.length);
    expect(got.sort()).toEqual([...written].sort());
    await prom.stop();
    // Prometheus kept our files (it deletes corrupt ones) and cut its own after them.
    const filesAfter = readdirSync(join(a, 'chunks_head')).sort();
    for (const f of filesBefore) expect(filesAfter).toContain(f);
  }, 120_000);

  test.each(['SIGTERM', 'SIGKILL'] as const)('after Prometheus is stopped with %s, our DB opens its chunks_head + WAL and returns exactly what its API returned', async (signal) => {
    const { prom } = await scrapingPrometheus(cleanups, { series: 200, seed: 11, interval: '100ms', timeout: '90ms' });
    // 120 samples at 100 ms = 12 s per chunk: ~2 chunks cut per series.
    await new Promise((r) => setTimeout(r, 27_000));
    const at = Date.now();
    const res = await prom.rawSamples('{job="mm"}', 3_600_000, at);
    const mmapped = await prom.selfMetric('prometheus_tsdb_head_chunks_created_total');
    // Let a few more scrapes land so the samples up to `at` are well inside its WAL.
    await new Promise((r) => setTimeout(r, 1500));
    await prom.stop(signal);
    const want = promSampleLines(res);
    expect(want.length).toBeGreaterThan(200 * 200);
    expect(mmapped).toBeGreaterThan(200 * 2);
    const db = await openDB(prom.dataDir, { logger: quiet, retentionMs: 0 });
    try {
      const st = db.stats();
      expect(st.replay?.corruption ?? null).toBeNull();
      if (signal === 'SIGTERM') {
        // a clean shutdown flushed its head chunk files: we attached them
        expect(st.headChunks!.corruption).toBeNull();
        expect(st.headChunks!.chunksAttached).toBeGreaterThan(200);
        expect(st.headChunks!.walSamplesSkipped).toBeGreaterThan(0);
      }
      const got = dbSamples(db, at - 3_600_000 + 1, at, false);
      expect(got.sort()).toEqual(want.sort());
      console.log(`${signal}: ${want.length} samples, chunks_head: ${JSON.stringify(st.headChunks)}`);
    } finally {
      await db.close();
    }
  }, 120_000);
});
