/**
 * Checkpoints: wal.checkpoint with the record module's filter (Prometheus's
 * rules), folding of the previous checkpoint, tmp + rename, deletion of older
 * checkpoints, and a checkpointed WAL opened by the real Prometheus 2.42.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Labels } from '../../../src/storage/index.js';
import { Encbuf } from '../../../src/tsdb/encoding/index.js';
import { WAL, PAGE_SIZE, checkpoint, lastCheckpoint, nopWalLogger, segmentName, WalError } from '../../../src/tsdb/wal/index.js';
import {
  RecordType,
  recordType,
  SampleBatch,
  SeriesBatch,
  TombstoneBatch,
  ExemplarBatch,
  MetadataBatch,
  encodeSamples,
  encodeSeries,
  encodeTombstones,
  encodeExemplars,
  encodeMetadata,
  decodeSamples,
  decodeSeries,
  decodeTombstones,
  decodeExemplars,
  decodeMetadata,
  newCheckpointFilter,
  MetricType,
} from '../../../src/tsdb/record/index.js';
import { readAll, removeDir, tempDir } from './helpers.js';
import { havePrometheus, query, startProm } from './prom-harness.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await removeDir(d);
});

const BASE = Math.floor(Date.now() / 1000) * 1000 - 60 * 60_000;
/** Series per scrape: enough for several one-page segments. */
const N = 40;
const odd = (upTo: number) => Array.from({ length: upTo }, (_, i) => i + 1).filter((r) => r % 2 === 1);
const enc = new Encbuf();
function rec(fill: (e: Encbuf) => void): Uint8Array {
  enc.reset();
  fill(enc);
  return enc.get().slice();
}

/** Writes `n` scrapes of N series starting at scrape `from`; ref 3 goes stale at scrape 150. */
async function writeScrapes(w: WAL, from: number, n: number): Promise<void> {
  const b = new SampleBatch();
  for (let k = from; k < from + n; k++) {
    b.reset();
    for (let ref = 1; ref <= N; ref++) {
      if (ref === 3 && k === 150) b.pushStale(ref, BASE + k * 1000);
      else if (ref === 3 && k > 150) continue;
      else b.push(ref, BASE + k * 1000, k + ref / 100);
    }
    await w.log(rec((e) => encodeSamples(b, e)));
  }
}

interface Contents {
  series: number[];
  samples: Array<[number, number, number, boolean]>;
  tombstones: Array<[number, number, number]>;
  exemplarTs: number[];
  metadata: Array<[number, string]>;
}

function contents(dir: string): Contents {
  const out: Contents = { series: [], samples: [], tombstones: [], exemplarTs: [], metadata: [] };
  const { recs, err } = readAll([{ dir }]);
  expect(err).toBeNull();
  const sb = new SeriesBatch();
  const smp = new SampleBatch();
  const tb = new TombstoneBatch();
  const eb = new ExemplarBatch();
  const mb = new MetadataBatch();
  for (const r of recs) {
    switch (recordType(r)) {
      case RecordType.Series:
        decodeSeries(r, sb);
        for (let i = 0; i < sb.length; i++) out.series.push(sb.refs[i]!);
        break;
      case RecordType.Samples:
        decodeSamples(r, smp);
        for (let i = 0; i < smp.length; i++) out.samples.push([smp.refs[i]!, smp.ts[i]!, smp.vs[i]!, smp.stale[i] === 1]);
        break;
      case RecordType.Tombstones:
        decodeTombstones(r, tb);
        for (let i = 0; i < tb.length; i++) out.tombstones.push([tb.refs[i]!, tb.mints[i]!, tb.maxts[i]!]);
        break;
      case RecordType.Exemplars:
        decodeExemplars(r, eb);
        for (let i = 0; i < eb.length; i++) out.exemplarTs.push(eb.ts[i]!);
        break;
      case RecordType.Metadata:
        decodeMetadata(r, mb);
        for (let i = 0; i < mb.length; i++) out.metadata.push([mb.refs[i]!, mb.helps[i]!]);
        break;
      default:
        throw new Error(`unexpected record type ${r[0]}`);
    }
  }
  return out;
}

async function buildWal(): Promise<{ dir: string; w: WAL }> {
  const dir = await tempDir('walcp');
  dirs.push(dir);
  const w = await WAL.open(dir, { segmentSize: PAGE_SIZE, compress: false, logger: nopWalLogger });
  const sb = new SeriesBatch();
  for (let ref = 1; ref <= N; ref++) sb.push(ref, Labels.fromObject({ __name__: 'mm_cp_test', i: String(ref) }));
  await w.log(rec((e) => encodeSeries(sb, e)));
  const mb = new MetadataBatch();
  mb.push(1, MetricType.Counter, '', 'old');
  mb.push(2, MetricType.Gauge, '', 'dead');
  await w.log(rec((e) => encodeMetadata(mb, e)));
  await writeScrapes(w, 0, 200);
  const tb = new TombstoneBatch();
  tb.push(2, BASE, BASE + 100);
  tb.push(4, BASE, BASE + 150_000);
  const eb = new ExemplarBatch();
  eb.push(1, BASE + 5000, 1, Labels.fromObject({ trace_id: 'a' }));
  eb.push(1, BASE + 180_000, 2, Labels.fromObject({ trace_id: 'b' }));
  mb.reset();
  mb.push(1, MetricType.Counter, '', 'new');
  await w.log(rec((e) => encodeTombstones(tb, e)), rec((e) => encodeExemplars(eb, e)), rec((e) => encodeMetadata(mb, e)));
  return { dir, w };
}

describe('checkpoint with the record filter', () => {
  test('keeps alive series, data at or after mint, reaching tombstones and the latest metadata; then truncation drops the segments', async () => {
    const { dir, w } = await buildWal();
    const last = (await w.nextSegment()) - 1;
    expect(last).toBeGreaterThanOrEqual(2);
    const mint = BASE + 100_000;
    const filter = newCheckpointFilter({ keep: (ref) => ref % 2 === 1, mint });
    const stats = await checkpoint(dir, 0, last, filter, mint, { logger: nopWalLogger });
    expect(stats.dir).toBe(join(dir, `checkpoint.${segmentName(last)}`));
    expect(await lastCheckpoint(dir)).toEqual({ dir: stats.dir, index: last });
    expect(await readdir(stats.dir)).toEqual(['00000000']);

    const c = contents(stats.dir);
    expect(c.series).toEqual(odd(N));
    // Samples are filtered by time only (as Prometheus): dead series' samples are dropped at replay.
    expect(c.samples.every(([, t]) => t >= mint)).toBe(true);
    // ref 3: 100..149 s plus its stale marker at 150 s; the others 100..199 s.
    expect(c.samples.length).toBe(100 * (N - 1) + 51);
    expect(c.samples.filter(([ref, , , stale]) => ref === 3 && stale)).toEqual([[3, BASE + 150_000, NaN, true]]);
    expect(c.tombstones).toEqual([[4, BASE, BASE + 150_000]]);
    expect(c.exemplarTs).toEqual([BASE + 180_000]);
    expect(c.metadata).toEqual([[1, 'new']]);
    expect(filter.stats).toMatchObject({ totalSeries: N, droppedSeries: N / 2, droppedTombstones: 1, droppedExemplars: 1 });
    expect(filter.stats.droppedSamples).toBe(100 * (N - 1) + 100);

    await w.truncate(last + 1);
    expect((await readdir(dir)).sort()).toEqual([segmentName(last + 1), `checkpoint.${segmentName(last)}`]);

    // Second round folds the first checkpoint in, and deletes it afterwards.
    await writeScrapes(w, 200, 50);
    const last2 = (await w.nextSegment()) - 1;
    const mint2 = BASE + 190_000;
    const stats2 = await checkpoint(dir, last + 1, last2, newCheckpointFilter({ keep: (ref) => ref !== 9, mint: mint2 }), mint2, { logger: nopWalLogger });
    expect(stats2.fromSegment).toBe(last + 1);
    expect(stats2.deletedCheckpoints).toEqual([last]);
    await w.truncate(last2 + 1);
    const c2 = contents(stats2.dir);
    expect(c2.series).toEqual(odd(N).filter((r) => r !== 9));
    expect(c2.samples.length).toBe(60 * (N - 1));
    expect(c2.metadata).toEqual([[1, 'new']]);
    expect((await readdir(dir)).sort()).toEqual([segmentName(last2 + 1), `checkpoint.${segmentName(last2)}`]);

    // Asking to start after a gap is refused.
    await expect(checkpoint(dir, last2 + 5, last2 + 6, newCheckpointFilter({ keep: () => true, mint: 0 }), 0, { logger: nopWalLogger })).rejects.toThrow(/unexpected gap/);
    await w.close();
  });

  test('an interrupted checkpoint leaves only a .tmp dir, which the next open removes', async () => {
    const dir = await tempDir('walcptmp');
    dirs.push(dir);
    await mkdir(join(dir, 'checkpoint.00000007.tmp'));
    await writeFile(join(dir, 'checkpoint.00000007.tmp', '00000000'), 'partial');
    expect(await lastCheckpoint(dir)).toBeNull();
    const w = await WAL.open(dir, { logger: nopWalLogger });
    await w.close();
    expect(await readdir(dir)).toEqual(['00000000']);
  });

  test('a corrupt segment fails the checkpoint with a WalError and leaves no tmp dir', async () => {
    const { dir, w } = await buildWal();
    const last = (await w.nextSegment()) - 1;
    await w.close();
    const { open } = await import('node:fs/promises');
    const fh = await open(join(dir, segmentName(1)), 'r+');
    await fh.write(new Uint8Array([0xde, 0xad, 0xbe, 0xef]), 0, 4, 100);
    await fh.close();
    await expect(checkpoint(dir, 0, last, newCheckpointFilter({ keep: () => true, mint: 0 }), 0, { logger: nopWalLogger })).rejects.toBeInstanceOf(WalError);
    expect((await readdir(dir)).filter((n) => n.startsWith('checkpoint'))).toEqual([]);
  });
});

describe.skipIf(!havePrometheus)('a checkpointed WAL of ours in Prometheus 2.42', () => {
  test('Prometheus replays checkpoint + later segments: alive series only, samples from mint on', async () => {
    const work = await tempDir('walcpprom');
    dirs.push(work);
    const walDir = join(work, 'data', 'wal');
    await mkdir(walDir, { recursive: true });
    const w = await WAL.open(walDir, { segmentSize: PAGE_SIZE, logger: nopWalLogger });
    const sb = new SeriesBatch();
    for (let ref = 1; ref <= N; ref++) sb.push(ref, Labels.fromObject({ __name__: 'mm_cp_test', i: String(ref) }));
    await w.log(rec((e) => encodeSeries(sb, e)));
    await writeScrapes(w, 0, 200);
    const last = (await w.nextSegment()) - 1;
    const mint = BASE + 100_000;
    await checkpoint(walDir, 0, last, newCheckpointFilter({ keep: (ref) => ref % 2 === 1, mint }), mint, { logger: nopWalLogger });
    await w.truncate(last + 1);
    await writeScrapes(w, 200, 20);
    await w.close();

    const prom = await startProm(work, join(work, 'data'), 'scrape_configs: []\n', ['--storage.tsdb.retention.time=100y']);
    try {
      const res = await query(prom.url, 'mm_cp_test[2h]', BASE + 230_000);
      const got = res.map((m) => [m.metric.i, m.values.length, Math.round(m.values[0]![0] * 1000) - BASE]).sort((a, b) => Number(a[0]) - Number(b[0]));
      // ref 3 went stale at 150 s: 100..149 s only; the others 100..219 s.
      expect(got).toEqual(odd(N).map((r) => [String(r), r === 3 ? 50 : 120, 100_000]));
    } finally {
      expect(await prom.stop()).toBe(0);
    }
  }, 60_000);
});
