/**
 * Open chunks live in pooled buffers that go back to the pool at every cut and are
 * reused by other series: queries taken before must keep exactly their samples.
 */
import { describe, expect, test } from 'vitest';
import { Labels, ValueType, type SampleIterator } from '../../../src/storage/index.js';
import { Head } from '../../../src/tsdb/head/head.js';

const series = Array.from({ length: 40 }, (_, i) => Labels.fromObject({ __name__: 'm', i: String(i) }));

async function scrape(head: Head, k: number): Promise<void> {
  const app = head.appender();
  // Values differ per series and scrape so every series' buffer grows (and is reused) differently.
  for (let i = 0; i < series.length; i++) app.append(0, series[i]!, k * 1000, (k * 7919 + i * 104729) % 1000.5);
  await app.commit();
}

function drain(it: SampleIterator): [number, number][] {
  const out: [number, number][] = [];
  while (it.next() === ValueType.Float) out.push([it.atT(), it.atV()]);
  expect(it.err()).toBeNull();
  return out;
}

describe('open chunks on pooled buffers', () => {
  test('iterators created before later cuts and buffer reuse still read exactly their samples', async () => {
    const head = new Head();
    for (let k = 0; k < 100; k++) await scrape(head, k);
    // Iterators over every series (finished chunk + open chunk) before anything else happens.
    const set = head.querier(0, 1e12).select(true, null);
    const its: SampleIterator[] = [];
    while (set.next()) its.push(set.at().iterator());
    // 300 more scrapes: every open chunk is cut (120 samples) at least twice, buffers recycled.
    for (let k = 100; k < 400; k++) await scrape(head, k);
    expect(head.arena.openChunks.allocatedBytes()).toBeGreaterThan(0);
    for (const it of its) {
      const got = drain(it);
      expect(got.length).toBe(100);
      expect(got.map(([t]) => t)).toEqual(Array.from({ length: 100 }, (_, k) => k * 1000));
    }
    // And a fresh query sees all 400 samples of each series with the right values.
    const set2 = head.querier(0, 1e12).select(true, null);
    let n = 0;
    while (set2.next()) {
      const i = Number(set2.at().labels().get('i'));
      const got = drain(set2.at().iterator());
      expect(got).toEqual(Array.from({ length: 400 }, (_, k) => [k * 1000, (k * 7919 + i * 104729) % 1000.5]));
      n++;
    }
    expect(n).toBe(series.length);
  });

  test('truncation returns open chunks to the pool and the series keep appending correctly', async () => {
    const head = new Head({ chunkRange: 60_000 });
    for (let k = 0; k < 50; k++) await scrape(head, k);
    head.truncateMemory(50_000); // every open chunk (newest sample 49 s) is dropped and released
    for (let k = 50; k < 200; k++) await scrape(head, k);
    const set = head.querier(0, 1e12).select(true, null);
    while (set.next()) {
      const i = Number(set.at().labels().get('i'));
      const got = drain(set.at().iterator());
      expect(got).toEqual(Array.from({ length: 150 }, (_, j) => [(j + 50) * 1000, ((j + 50) * 7919 + i * 104729) % 1000.5]));
    }
  });
});
