/**
 * chunks_head/ side by side with the real Prometheus 2.42:
 *  - Prometheus reads our head chunk files: a directory whose WAL holds only the samples
 *    after our m-mapped chunks (the earlier ones exist nowhere but in our chunks_head)
 *    is answered with every sample, and no chunk file is reported corrupt;
 *  - we read Prometheus's: it scrapes a 100 ms target long enough to cut head chunks,
 *    is stopped (SIGTERM, and SIGKILL), and our DB opened on its directory returns
 *    exactly what its API returned before it stopped.
 */
import { cpSync, readdirSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { Labels, Matcher, MatchType, ValueType } from '../../../src/storage/index.js';
import { openDB, type DB } from '../../../src/tsdb/db.js';
import { ChunkDiskMapper } from '../../../src/tsdb/head/chunk-disk-mapper.js';
import { havePrometheus, startPrometheus } from '../../support/prometheus.js';
import { mattermostTarget, TargetServer } from '../../support/target-server.js';

const quiet = { info: () => {}, warn: () => {} };
const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => {});
});
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'mm-prom-hc-'));
  cleanup.push(() => rm(d, { recursive: true, force: true }));
  return d;
}
function fmt(v: number): string {
  return Object.is(v, -0) ? '-0' : String(v);
}
function promValue(s: string): number {
  return s === '+Inf' ? Infinity : s === '-Inf' ? -Infinity : Number(s);
}
function dbSamples(db: DB, mint: number, maxt: number): string[] {
  const q = db.querier(mint, maxt);
  const set = q.select(true, null, new Matcher(MatchType.Regexp, '__name__', '.+'));
  const out: string[] = [];
  while (set.next()) {
    const s = set.at();
    const it = s.iterator();
    while (it.next() === ValueType.Float) if (!it.atStale()) out.push(`${s.labels().toString()} ${it.atT()} ${fmt(it.atV())}`);
    expect(it.err()).toBeNull();
  }
  q.close();
  return out;
}

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
    const written: string[] = [];
    let refs = new Array<number>(SERIES).fill(0);
    for (let k = 0; k < N; k++) {
      const app = db.appender();
      for (let i = 0; i < SERIES; i++) {
        refs[i] = app.append(refs[i]!, lset(i), T0 + k * 1000, val(k, i));
        written.push(`${lset(i).toString()} ${T0 + k * 1000} ${fmt(val(k, i))}`);
      }
      await app.commit();
    }
    await db.close();
    // 2. Newest m-mapped sample per series ref, read back from the files.
    const m = new ChunkDiskMapper(join(a, 'chunks_head'));
    const loaded = m.loadAll();
    m.close();
    expect(loaded.corruption).toBeNull();
    const mmMaxt = new Map<number, number>();
    for (let c = 0; c < loaded.chunks.length; c++) {
      const d = loaded.chunks.data;
      mmMaxt.set(d[c * 7]!, Math.max(mmMaxt.get(d[c * 7]!) ?? -Infinity, d[c * 7 + 3]!));
    }
    expect(mmMaxt.size).toBe(SERIES);
    // 3. A WAL with the same series refs (same creation order) but only the samples after
    //    each series' m-mapped chunks, swapped in for ours.
    const b = await tmp();
    const dbb = await openDB(b, { logger: quiet, retentionMs: 0 });
    refs = new Array<number>(SERIES).fill(0);
    for (let k = 0; k < N; k++) {
      const app = dbb.appender();
      let any = false;
      for (let i = 0; i < SERIES; i++) {
        const t = T0 + k * 1000;
        if (k > 0 && t <= mmMaxt.get(i + 1)!) continue;
        // first commit creates every series in order, so refs match (1..SERIES)
        refs[i] = app.append(refs[i]!, lset(i), t, val(k, i));
        any = true;
      }
      if (any) await app.commit();
      else await app.rollback();
    }
    expect(dbb.head.series.getByRef(1)!.lset.toString()).toBe(lset(0).toString());
    await dbb.close();
    rmSync(join(a, 'wal'), { recursive: true });
    cpSync(join(b, 'wal'), join(a, 'wal'), { recursive: true });
    const filesBefore = readdirSync(join(a, 'chunks_head')).sort();

    // Our own DB reads it back the same way.
    const again = await openDB(a, { logger: quiet, retentionMs: 0 });
    expect(dbSamples(again, -Infinity, Infinity).sort()).toEqual([...written].sort());
    await again.close();

    const prom = await startPrometheus({ dataDir: a, args: ['--storage.tsdb.retention.time=100y'] });
    cleanup.push(() => prom.stop());
    const end = T0 + N * 1000;
    const res = await prom.rawSamples('{job="hc"}', end - T0 + 60_000, end);
    const got: string[] = [];
    for (const s of res) {
      const l = Labels.fromObject(s.metric).toString();
      for (const x of s.values) got.push(`${l} ${x.t} ${fmt(promValue(x.value))}`);
    }
    expect(await prom.selfMetric('prometheus_tsdb_mmap_chunk_corruptions_total')).toBe(0);
    expect(got.length).toBe(written.length);
    expect(got.sort()).toEqual([...written].sort());
    await prom.stop();
    // Prometheus kept our files (it deletes corrupt ones) and cut its own after them.
    const filesAfter = readdirSync(join(a, 'chunks_head')).sort();
    for (const f of filesBefore) expect(filesAfter).toContain(f);
  }, 120_000);

  test.each(['SIGTERM', 'SIGKILL'] as const)('after Prometheus is stopped with %s, our DB opens its chunks_head + WAL and returns exactly what its API returned', async (signal) => {
    const target = await TargetServer.start();
    cleanup.push(() => target.close());
    target.define('/metrics', mattermostTarget({ series: 200, seed: 11 }));
    const prom = await startPrometheus({
      keepData: true,
      global: { scrape_interval: '100ms', scrape_timeout: '90ms' },
      scrapeConfigs: [{ job_name: 'mm', static_configs: [{ targets: [target.address] }] }],
    });
    cleanup.push(async () => {
      await prom.stop();
      await rm(prom.dir, { recursive: true, force: true });
    });
    // 120 samples at 100 ms = 12 s per chunk: ~2 chunks cut per series.
    await new Promise((r) => setTimeout(r, 27_000));
    const at = Date.now();
    const res = await prom.rawSamples('{job="mm"}', 3_600_000, at);
    const mmapped = await prom.selfMetric('prometheus_tsdb_head_chunks_created_total');
    // Let a few more scrapes land so the samples up to `at` are well inside its WAL.
    await new Promise((r) => setTimeout(r, 1500));
    await prom.stop(signal);
    const want: string[] = [];
    for (const s of res) {
      const l = Labels.fromObject(s.metric).toString();
      for (const x of s.values) want.push(`${l} ${x.t} ${fmt(promValue(x.value))}`);
    }
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
      const got = dbSamples(db, at - 3_600_000 + 1, at);
      expect(got.sort()).toEqual(want.sort());
      console.log(`${signal}: ${want.length} samples, chunks_head: ${JSON.stringify(st.headChunks)}`);
    } finally {
      await db.close();
    }
  }, 120_000);
});
