/**
 * Conformance against the real Prometheus 2.42 binary, both directions:
 *  1. Prometheus scrapes a loopback target (one series vanishes → stale marker),
 *     is stopped with SIGTERM, and we read its wal/: every record decodes, every
 *     CRC checks, the stale marker comes out as stale. A second Prometheus then
 *     opens the same dir and must return exactly the samples we decoded.
 *  2. We write a WAL (series, samples, a stale marker, a record spanning pages,
 *     several segments) into an empty data dir, compressed and not; Prometheus
 *     must replay exactly our samples.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Labels } from '../../../src/storage/index.js';
import { Encbuf } from '../../../src/tsdb/encoding/index.js';
import { WAL, PAGE_SIZE, nopWalLogger, openReader } from '../../../src/tsdb/wal/index.js';
import {
  RecordType,
  recordType,
  recordTypeName,
  SampleBatch,
  SeriesBatch,
  decodeSamples,
  decodeSeries,
  encodeSamples,
  encodeSeries,
} from '../../../src/tsdb/record/index.js';
import { havePrometheus, query, startProm, startTarget, type RunningProm } from './prom-harness.js';
import { removeDir, tempDir } from './helpers.js';

interface DecodedSeries {
  labels: Labels;
  ts: number[];
  vs: number[];
  stale: boolean[];
}

/** Replays a WAL dir with our reader + record decoders; fails on anything unexpected. */
function decodeWal(walDir: string): { series: Map<number, DecodedSeries>; types: Record<string, number>; maxT: number } {
  const r = openReader([{ dir: walDir }]);
  const series = new Map<number, DecodedSeries>();
  const types: Record<string, number> = {};
  const sb = new SeriesBatch();
  const smp = new SampleBatch();
  let maxT = -Infinity;
  while (r.next()) {
    const rec = r.record();
    const t = recordType(rec);
    types[recordTypeName(t)] = (types[recordTypeName(t)] ?? 0) + 1;
    if (t === RecordType.Series) {
      decodeSeries(rec, sb);
      for (let i = 0; i < sb.length; i++) series.set(sb.refs[i]!, { labels: sb.labels[i]!, ts: [], vs: [], stale: [] });
    } else if (t === RecordType.Samples) {
      decodeSamples(rec, smp);
      for (let i = 0; i < smp.length; i++) {
        const s = series.get(smp.refs[i]!);
        if (s === undefined) throw new Error(`sample for unknown ref ${smp.refs[i]} in segment ${r.segment()}`);
        s.ts.push(smp.ts[i]!);
        s.vs.push(smp.vs[i]!);
        s.stale.push(smp.stale[i] === 1);
        maxT = Math.max(maxT, smp.ts[i]!);
      }
    } else {
      throw new Error(`unexpected record type ${t} (${recordTypeName(t)})`);
    }
  }
  const err = r.err();
  r.close();
  if (err !== null) throw err;
  return { series, types, maxT };
}

/** Prometheus renders values with Go's FormatFloat ('NaN', '+Inf', '-Inf', shortest digits). */
const sameValue = (a: number, promText: string) => {
  if (Number.isNaN(a)) return promText === 'NaN';
  if (a === Infinity) return promText === '+Inf';
  if (a === -Infinity) return promText === '-Inf';
  return Number(promText) === a;
};

/** Asserts Prometheus's raw samples (range selector, stale markers dropped) equal ours. */
async function expectPromHas(url: string, selector: string, at: number, ours: DecodedSeries[]): Promise<void> {
  const got = await query(url, `${selector}[2h]`, at);
  const byKey = new Map(got.map((m) => [Labels.fromObject(m.metric).key(), m.values]));
  let checked = 0;
  for (const s of ours) {
    const want: Array<[number, number]> = [];
    s.ts.forEach((t, i) => {
      if (!s.stale[i]) want.push([t, s.vs[i]!]);
    });
    if (want.length === 0) continue;
    const vals = byKey.get(s.labels.key());
    expect(vals, `prometheus has no samples for ${s.labels.toString()}`).toBeDefined();
    expect(vals!.map(([t]) => Math.round(t * 1000))).toEqual(want.map(([t]) => t));
    vals!.forEach(([, v], i) => expect(sameValue(want[i]![1], v), `${s.labels.toString()} sample ${i}: ours ${want[i]![1]} prometheus ${v}`).toBe(true));
    checked++;
    byKey.delete(s.labels.key());
  }
  expect(checked).toBeGreaterThan(0);
  // Nothing Prometheus has that we did not decode.
  expect([...byKey.keys()]).toEqual([]);
}

const started: RunningProm[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const p of started) p.kill();
  for (const d of dirs) await removeDir(d);
});

describe.skipIf(!havePrometheus)('a WAL written by Prometheus 2.42 reads with our reader', () => {
  const runs: Record<string, { dataDir: string; work: string }> = {};

  beforeAll(async () => {
    // Two Prometheus processes side by side: default (snappy) and --no-storage.tsdb.wal-compression.
    await Promise.all(
      (['compressed', 'uncompressed'] as const).map(async (mode) => {
        const work = await tempDir(`prom-wal-${mode}`);
        dirs.push(work);
        const dataDir = join(work, 'data');
        const target = await startTarget(
          (n) =>
            '# TYPE mm_wal_gauge gauge\n' +
            'mm_wal_gauge{i="a"} 1.5\n' +
            'mm_wal_gauge{i="b"} -2.25e-07\n' +
            '# TYPE mm_wal_counter_total counter\n' +
            `mm_wal_counter_total ${n * 10}\n` +
            'mm_wal_nan NaN\n' +
            (n <= 3 ? 'mm_wal_vanish 7\n' : ''),
        );
        const cfg = `global: {scrape_interval: 1s, scrape_timeout: 900ms}\nscrape_configs:\n  - job_name: t\n    static_configs: [{targets: ['${target.addr}']}]\n`;
        const prom = await startProm(work, dataDir, cfg, mode === 'uncompressed' ? ['--no-storage.tsdb.wal-compression'] : []);
        started.push(prom);
        // ~10 s of scrapes; the vanished series has been gone for several scrapes by then.
        const deadline = Date.now() + 20_000;
        while (target.scrapes() < 9 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
        expect(await prom.stop()).toBe(0);
        await target.close();
        runs[mode] = { dataDir, work };
      }),
    );
  }, 60_000);

  test.each(['compressed', 'uncompressed'])('every record of the %s WAL decodes with CRCs checked, and the vanished series ends in a stale marker', async (mode) => {
    const { dataDir } = runs[mode]!;
    const { series, types } = decodeWal(join(dataDir, 'wal'));
    expect(types.series).toBeGreaterThan(0);
    expect(types.samples).toBeGreaterThanOrEqual(8);
    const byName = new Map([...series.values()].map((s) => [s.labels.metricName() + (s.labels.get('i') ? `/${s.labels.get('i')}` : ''), s]));
    for (const name of ['mm_wal_gauge/a', 'mm_wal_gauge/b', 'mm_wal_counter_total', 'mm_wal_nan', 'mm_wal_vanish', 'up', 'scrape_duration_seconds']) {
      expect(byName.has(name), name).toBe(true);
    }
    const g = byName.get('mm_wal_gauge/b')!;
    expect(g.vs.filter((_, i) => !g.stale[i]).every((v) => v === -2.25e-7)).toBe(true);
    const c = byName.get('mm_wal_counter_total')!;
    expect(c.vs.filter((_, i) => !c.stale[i]).every((v) => v % 10 === 0)).toBe(true);
    const nan = byName.get('mm_wal_nan')!;
    expect(nan.vs.length).toBeGreaterThan(0);
    expect(nan.stale.every((s) => !s)).toBe(true);
    expect(nan.vs.every((v) => Number.isNaN(v))).toBe(true);
    const v = byName.get('mm_wal_vanish')!;
    const firstStale = v.stale.indexOf(true);
    expect(firstStale).toBeGreaterThan(0);
    expect(v.vs.slice(0, firstStale)).toEqual(Array(firstStale).fill(7));
    // The first record of segment 0 is a series record: 0x09 = full|snappy when compressed.
    const seg0 = await readFile(join(dataDir, 'wal', '00000000'));
    expect(seg0[0]).toBe(mode === 'compressed' ? 0x09 : 0x01);
  });

  test.each(['compressed', 'uncompressed'])('a restarted Prometheus serves exactly the samples we decoded from the %s WAL', async (mode) => {
    const { dataDir, work } = runs[mode]!;
    const { series, maxT } = decodeWal(join(dataDir, 'wal'));
    const prom = await startProm(work, dataDir, 'scrape_configs: []\n', ['--storage.tsdb.retention.time=100y']);
    started.push(prom);
    try {
      await expectPromHas(prom.url, '{__name__=~".+"}', maxT + 1000, [...series.values()]);
    } finally {
      await prom.stop();
    }
  }, 60_000);
});

describe.skipIf(!havePrometheus)('a WAL written by us replays in Prometheus 2.42', () => {
  test.each([false, true])('series, samples, a stale marker and a page-spanning record come back exactly (compress=%s)', async (compress) => {
    const work = await tempDir(`our-wal-${compress}`);
    dirs.push(work);
    const dataDir = join(work, 'data');
    await mkdir(join(dataDir, 'wal'), { recursive: true });
    const wal = await WAL.open(join(dataDir, 'wal'), { compress, segmentSize: 4 * PAGE_SIZE, logger: nopWalLogger });

    const now = Math.floor(Date.now() / 1000) * 1000;
    const t0 = now - 30 * 60_000;
    const lsets = [
      Labels.fromObject({ __name__: 'mm_wal_ours', kind: 'gauge' }),
      Labels.fromObject({ __name__: 'mm_wal_ours', kind: 'counter' }),
      Labels.fromObject({ __name__: 'mm_wal_ours', kind: 'stale' }),
      Labels.fromObject({ __name__: 'mm_wal_big', job: 'x' }),
    ];
    const ours: DecodedSeries[] = lsets.map((l) => ({ labels: l, ts: [], vs: [], stale: [] }));
    const sb = new SeriesBatch();
    lsets.forEach((l, i) => sb.push(i + 1, l));
    const enc = new Encbuf();
    encodeSeries(sb, enc);
    await wal.log(enc.get().slice());

    const gaugeVals = [0.1, -2.5e-7, 1e300, NaN, Infinity, -0, 42];
    const batch = new SampleBatch();
    const staleAt = t0 + 40 * 15_000;
    for (let k = 0; k < 80; k++) {
      const t = t0 + k * 15_000;
      batch.reset();
      const put = (ref: number, v: number, stale = false) => {
        if (stale) batch.pushStale(ref, t);
        else batch.push(ref, t, v);
        const s = ours[ref - 1]!;
        s.ts.push(t);
        s.vs.push(stale ? NaN : v);
        s.stale.push(stale);
      };
      put(1, gaugeVals[k % gaugeVals.length]!);
      put(2, k * 3.5);
      if (t < staleAt) put(3, k);
      else if (t === staleAt) put(3, 0, true);
      enc.reset();
      encodeSamples(batch, enc);
      await wal.log(enc.get().slice());
    }
    // One record of 5,000 samples (~50 KB raw): spans pages, and segments roll over.
    batch.reset();
    for (let k = 0; k < 5000; k++) {
      const t = t0 + k * 300;
      batch.push(4, t, Math.sin(k) * 1000);
      ours[3]!.ts.push(t);
      ours[3]!.vs.push(Math.sin(k) * 1000);
      ours[3]!.stale.push(false);
    }
    enc.reset();
    encodeSamples(batch, enc);
    await wal.log(enc.get());
    await wal.close();

    const prom = await startProm(work, dataDir, 'scrape_configs: []\n', ['--storage.tsdb.retention.time=100y']);
    started.push(prom);
    try {
      const end = Math.max(...ours.map((o) => o.ts[o.ts.length - 1]!)) + 1000;
      await expectPromHas(prom.url, '{__name__=~"mm_wal_.+"}', end, ours);
      // The stale marker hides the series right after it, not before.
      const before = await query<unknown[]>(prom.url, 'mm_wal_ours{kind="stale"}', staleAt - 1000);
      const after = await query<unknown[]>(prom.url, 'mm_wal_ours{kind="stale"}', staleAt + 1000);
      expect(before.length).toBe(1);
      expect(after.length).toBe(0);
    } finally {
      expect(await prom.stop()).toBe(0);
    }
  }, 60_000);
});

describe.skipIf(!havePrometheus)('a WAL repaired by us opens in Prometheus 2.42', () => {
  test('after a torn tail is cut, Prometheus replays exactly the records before the cut', async () => {
    const work = await tempDir('our-wal-repaired');
    dirs.push(work);
    const walDir = join(work, 'data', 'wal');
    await mkdir(walDir, { recursive: true });
    let wal = await WAL.open(walDir, { segmentSize: 2 * PAGE_SIZE, logger: nopWalLogger });
    const now = Math.floor(Date.now() / 1000) * 1000;
    const sb = new SeriesBatch();
    for (let ref = 1; ref <= 300; ref++) sb.push(ref, Labels.fromObject({ __name__: 'mm_wal_rep', i: String(ref) }));
    const enc = new Encbuf();
    encodeSeries(sb, enc);
    await wal.log(enc.get());
    const batch = new SampleBatch();
    for (let k = 0; k < 40; k++) {
      batch.reset();
      for (let ref = 1; ref <= 300; ref++) batch.push(ref, now - (40 - k) * 10_000, k * 1000 + ref);
      enc.reset();
      encodeSamples(batch, enc);
      await wal.log(enc.get());
    }
    await wal.close();
    // Tear the newest segment in the middle of its last record, as a crash would.
    const r0 = openReader([{ dir: walDir }]);
    let last = { seg: -1, start: 0, end: 0 };
    let n = 0;
    while (r0.next()) {
      last = { seg: r0.segment(), start: r0.recordOffset(), end: r0.offset() };
      n++;
    }
    r0.close();
    const { truncate } = await import('node:fs/promises');
    await truncate(join(walDir, String(last.seg).padStart(8, '0')), Math.floor((last.start + last.end) / 2));

    // Start as the head does: open, replay, repair.
    wal = await WAL.open(walDir, { segmentSize: 2 * PAGE_SIZE, logger: nopWalLogger });
    const r = openReader([{ dir: walDir, last: wal.activeSegment - 1 }]);
    let kept = 0;
    while (r.next()) kept++;
    const err = r.err();
    r.close();
    expect(err).not.toBeNull();
    await wal.repair(err as never);
    await wal.close();
    expect(kept).toBe(n - 1);

    const prom = await startProm(work, join(work, 'data'), 'scrape_configs: []\n', ['--storage.tsdb.retention.time=100y']);
    started.push(prom);
    try {
      const res = await query<Array<{ metric: Record<string, string>; value: [number, string] }>>(prom.url, 'count_over_time(mm_wal_rep[1h])', now);
      expect(res.length).toBe(300);
      // 40 samples records were written, the last one was torn off.
      expect(new Set(res.map((e) => e.value[1]))).toEqual(new Set(['39']));
    } finally {
      expect(await prom.stop()).toBe(0);
    }
  }, 60_000);
});
