/**
 * Golden: WAL segments written by the real Prometheus 2.42 (testdata/README.md).
 * Our reader decodes them; our record encoders re-encode every record to the same
 * bytes; our writer lays the same records out into a byte-identical segment.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { Encbuf } from '../../../src/tsdb/encoding/index.js';
import { WAL, nopWalLogger } from '../../../src/tsdb/wal/index.js';
import { RecordType, recordType, SampleBatch, SeriesBatch, decodeSamples, decodeSeries, encodeSamples, encodeSeries } from '../../../src/tsdb/record/index.js';
import { readAll, removeDir, tempDir } from './helpers.js';

/** Fragment types in a segment, walking headers page by page (padding skipped). */
function fragmentTypes(b: Uint8Array): number[] {
  const seen = new Set<number>();
  for (let p = 0; p < b.length; ) {
    const pageEnd = (Math.floor(p / 32768) + 1) * 32768;
    if (b[p] === 0 || pageEnd - p < 7) {
      p = pageEnd;
      continue;
    }
    seen.add(b[p]! & 7);
    p += 7 + ((b[p + 1]! << 8) | b[p + 2]!);
  }
  return [...seen].sort();
}

const TESTDATA = fileURLToPath(new URL('./testdata/', import.meta.url));
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await removeDir(d);
});

describe.each(['snappy', 'plain'])('the Prometheus 2.42 %s fixture', (mode) => {
  const dir = join(TESTDATA, `prom-2.42-${mode}`);

  test('decodes completely: all series, every sample, a stale marker for the vanished series, NaN as a value', () => {
    const { recs, err } = readAll([{ dir }]);
    expect(err).toBeNull();
    const names = new Map<number, string>();
    const values = new Map<string, Array<number | 'stale'>>();
    const sb = new SeriesBatch();
    const smp = new SampleBatch();
    for (const r of recs) {
      if (recordType(r) === RecordType.Series) {
        decodeSeries(r, sb);
        for (let i = 0; i < sb.length; i++) names.set(sb.refs[i]!, sb.labels[i]!.metricName());
      } else {
        expect(recordType(r)).toBe(RecordType.Samples);
        decodeSamples(r, smp);
        for (let i = 0; i < smp.length; i++) {
          const n = names.get(smp.refs[i]!)!;
          expect(n).toBeDefined();
          if (!values.has(n)) values.set(n, []);
          values.get(n)!.push(smp.stale[i] === 1 ? 'stale' : smp.vs[i]!);
        }
      }
    }
    expect([...new Set(names.values())].sort()).toEqual([
      'mm_fix_counter_total',
      'mm_fix_gauge',
      'mm_fix_many',
      'mm_fix_nan',
      'mm_fix_vanish',
      'scrape_duration_seconds',
      'scrape_samples_post_metric_relabeling',
      'scrape_samples_scraped',
      'scrape_series_added',
      'up',
    ]);
    expect(values.get('mm_fix_vanish')!.slice(0, 3)).toEqual([7, 7, 'stale']);
    expect(values.get('mm_fix_gauge')!.every((v) => v === 1.5)).toBe(true);
    expect(values.get('mm_fix_counter_total')!.every((v) => typeof v === 'number' && v > 0 && v % 10 === 0)).toBe(true);
    expect(values.get('mm_fix_many')!.length).toBeGreaterThanOrEqual(5000);
    expect(values.get('mm_fix_nan')!.every((v) => typeof v === 'number' && Number.isNaN(v))).toBe(true);
  });

  test('every record re-encodes with our encoders to the bytes Prometheus wrote', () => {
    const { recs } = readAll([{ dir }]);
    const sb = new SeriesBatch();
    const smp = new SampleBatch();
    const out = new Encbuf();
    for (const r of recs) {
      out.reset();
      if (recordType(r) === RecordType.Series) {
        decodeSeries(r, sb);
        encodeSeries(sb, out);
      } else {
        decodeSamples(r, smp);
        encodeSamples(smp, out);
      }
      expect(Buffer.from(out.get()).equals(Buffer.from(r))).toBe(true);
    }
  });
});

test('our writer lays the records of the plain fixture out into a byte-identical segment', async () => {
  const src = join(TESTDATA, 'prom-2.42-plain');
  const { recs } = readAll([{ dir: src }]);
  const dir = await tempDir('walgolden');
  dirs.push(dir);
  const w = await WAL.open(dir, { compress: false, logger: nopWalLogger });
  for (const r of recs) await w.log(r);
  await w.close();
  const ours = await readFile(join(dir, '00000000'));
  const theirs = await readFile(join(src, '00000000'));
  // Several pages, with records split into first/middle/last fragments.
  expect(theirs.length).toBeGreaterThanOrEqual(3 * 32768);
  expect(fragmentTypes(theirs)).toEqual(expect.arrayContaining([1, 2, 4]));
  expect(ours.length).toBe(theirs.length);
  expect(ours.equals(theirs)).toBe(true);
});
