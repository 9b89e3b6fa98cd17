/**
 * A query that runs for a long time across head cuts: the chunks_head files its head
 * querier selected from stay on disk and readable until it is closed, however many
 * truncations happen and however much time passes meanwhile (Prometheus waits for
 * such pending readers before truncating; we defer the deletion instead), and they are
 * deleted as soon as the last querier that needs them closes.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, test, vi } from 'vitest';
import { Labels, Matcher, MatchType, ValueType, type SeriesSet } from '../../../src/storage/index.js';
import { openDB, type DB } from '../../../src/tsdb/db.js';
import type { ChunkDiskMapper } from '../../../src/tsdb/head/chunk-disk-mapper.js';
import { headChunkFileName } from '../../../src/tsdb/head/chunk-disk-mapper.js';
import { Cleanups, ingest, quietLogger } from '../../support/tsdb.js';

const cleanups = new Cleanups();
afterAll(() => cleanups.run());
afterEach(() => {
  vi.useRealTimers();
});

const START = 1_700_000_000_000;
const SERIES = 8;
const N = 1800; // 30 min at 1 s per phase; block range 10 min: every compact() cuts blocks
const series = Array.from({ length: SERIES }, (_, i) => Labels.fromObject({ __name__: 'lq_test', i: String(i) }));
const val = (k: number, i: number): number => k * 10 + i;

async function openSmall(): Promise<DB> {
  const dir = await cleanups.tmp('mm-long-query-');
  const db = await openDB(dir, { logger: quietLogger, retentionMs: 0, blockRange: 600_000, headChunkFileSize: 16 * 1024, headChunkWriteBufferSize: 4096, compaction: false });
  cleanups.defer(() => db.close());
  return db;
}
const disk = (db: DB): ChunkDiskMapper => db.head.opts.chunkDisk as ChunkDiskMapper;
const onDisk = (db: DB): string[] => readdirSync(join(db.dir, 'chunks_head')).sort();
const select = (db: DB): { q: ReturnType<DB['querier']>; set: SeriesSet } => {
  const q = db.querier(START, START + N * 1000 - 1);
  return { q, set: q.select(true, null, new Matcher(MatchType.Equal, '__name__', 'lq_test')) };
};
/** Reads every series of `set`; each must hold exactly samples 0..N-1 of phase 1. */
function expectPhaseOne(set: SeriesSet): void {
  let n = 0;
  while (set.next()) {
    const i = Number(set.at().labels().get('i'));
    const it = set.at().iterator(null);
    let k = 0;
    while (it.next() === ValueType.Float) {
      expect(it.atT()).toBe(START + k * 1000);
      expect(it.atV()).toBe(val(k, i));
      k++;
    }
    expect(it.err()).toBeNull();
    expect(k).toBe(N);
    n++;
  }
  expect(set.err()).toBeNull();
  expect(n).toBe(SERIES);
}

describe('queries across head cuts that delete chunks_head files', () => {
  test('a querier held open across two head cuts 10 minutes apart still reads every sample it selected; its files go when it closes', async () => {
    const db = await openSmall();
    await ingest(db, series, N, (k) => START + k * 1000, val);
    const first = onDisk(db);
    const { q, set } = select(db);
    vi.useFakeTimers({ toFake: ['Date'] });
    await db.compact();
    const retired = disk(db).retiredFileNumbers();
    expect(retired.length).toBeGreaterThan(0);
    expect(retired.map(headChunkFileName)).toEqual(first.slice(0, retired.length));
    // still on disk (size retention counts them) while the querier is open
    for (const n of retired) expect(existsSync(join(db.dir, 'chunks_head', headChunkFileName(n)))).toBe(true);
    // Much later, a second cut: files a later query holds go at once, the first query's stay.
    vi.setSystemTime(Date.now() + 10 * 60_000);
    await ingest(db, series, N, (k) => START + (N + k) * 1000, val);
    await db.compact();
    const retired2 = disk(db).retiredFileNumbers();
    for (const n of retired) expect(retired2).toContain(n);
    expect(retired2.length).toBeGreaterThan(retired.length);
    expect(disk(db).pendingReaders()).toBe(1);
    expectPhaseOne(set);
    q.close();
    expect(disk(db).pendingReaders()).toBe(0);
    expect(disk(db).retiredFileNumbers()).toEqual([]);
    const left = onDisk(db);
    for (const n of retired2) expect(left).not.toContain(headChunkFileName(n));
    // the head cut put the phase-one samples into blocks: a new query reads them there
    const again = select(db);
    expectPhaseOne(again.set);
    again.q.close();
  }, 60_000);

  test('with no querier open, a head cut deletes the old files at once', async () => {
    const db = await openSmall();
    await ingest(db, series, N, (k) => START + k * 1000, val);
    const first = onDisk(db);
    const { q, set } = select(db);
    expectPhaseOne(set);
    q.close();
    q.close(); // idempotent
    await db.compact();
    expect(disk(db).pendingReaders()).toBe(0);
    expect(disk(db).retiredFileNumbers()).toEqual([]);
    expect(onDisk(db)[0]! > first[0]!).toBe(true);
  }, 60_000);

  test('each file waits only for the queriers opened before the cut that retired it', async () => {
    const db = await openSmall();
    await ingest(db, series, N, (k) => START + k * 1000, val);
    const old = select(db);
    await db.compact();
    const cut1 = disk(db).retiredFileNumbers();
    expect(cut1.length).toBeGreaterThan(0);
    const newer = select(db); // opened after the first cut: holds only what the second cut retires
    await ingest(db, series, N, (k) => START + (N + k) * 1000, val);
    await db.compact();
    const cut2 = disk(db).retiredFileNumbers().filter((n) => !cut1.includes(n));
    expect(cut2.length).toBeGreaterThan(0);
    expectPhaseOne(old.set);
    old.q.close();
    expect(disk(db).retiredFileNumbers()).toEqual(cut2);
    expectPhaseOne(newer.set);
    newer.q.close();
    expect(disk(db).retiredFileNumbers()).toEqual([]);
  }, 60_000);
});
