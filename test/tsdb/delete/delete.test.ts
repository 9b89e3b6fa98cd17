/**
 * Series deletion (DB.delete / cleanTombstones, src/tsdb/delete.ts): blocks get
 * tombstones (file + meta.json), the head gets a WAL Tombstones record, queries skip
 * deleted samples, head cuts / compaction / cleanTombstones drop them, replay and
 * checkpoints keep them, and bad input changes nothing.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { Labels, Matcher, MatchType, ValueType } from '../../../src/storage/index.js';
import { openBlock, readMetaFile, writeBlock } from '../../../src/tsdb/block/index.js';
import { XORChunk } from '../../../src/tsdb/chunkenc/index.js';
import { compactSources } from '../../../src/tsdb/compact/compactor.js';
import { headSource } from '../../../src/tsdb/compact/sources.js';
import { openDB, openReadOnly, type DB } from '../../../src/tsdb/db.js';
import { DeleteError } from '../../../src/tsdb/delete.js';
import { decodeTombstones as decodeTombstonesRecord, recordType, RecordType, TombstoneBatch } from '../../../src/tsdb/record/index.js';
import { readTombstones } from '../../../src/tsdb/tombstones/index.js';
import { openReader } from '../../../src/tsdb/wal/index.js';
import { Cleanups, dbSamples, ingest, quietLogger as quiet } from '../../support/tsdb.js';

const H = 3_600_000;
const T0 = 1_700_000_000_000 - (1_700_000_000_000 % (2 * H)); // aligned to 2 h
const cleanups = new Cleanups();
afterAll(() => cleanups.run());
const tmp = (): Promise<string> => cleanups.tmp('mm-del-');

const eq = (name: string, value: string) => new Matcher(MatchType.Equal, name, value);

/** Every sample of the DB in [mint, maxt], as `labels t value` lines. */
const all = (db: DB, mint = -Infinity, maxt = Infinity): string[] => dbSamples(db, mint, maxt);

/** `scrapes` scrapes of series m{i="0".."n-1"} every 15 s from `start`, value k*10+i. */
async function fill(db: DB, start: number, scrapes: number, n = 4): Promise<void> {
  const lsets = Array.from({ length: n }, (_, i) => Labels.fromObject({ __name__: 'm', i: String(i) }));
  await ingest(db, lsets, scrapes, (k) => start + k * 15_000, (k, i) => k * 10 + i);
}

/** What `all` returns minus series i's samples in [mint, maxt]. */
function without(samples: string[], i: string, mint: number, maxt: number): string[] {
  return samples.filter((s) => {
    const t = tOf(s);
    return !(s.startsWith(`{__name__="m", i="${i}"} `) && t >= mint && t <= maxt);
  });
}

/** Timestamp of an `all` line ("labels t v"; labels contain spaces). */
function tOf(s: string): number {
  const p = s.split(' ');
  return Number(p[p.length - 2]);
}

/** Tombstones records in the WAL dir (segments and checkpoints). */
async function walTombstones(walDir: string, checkpointOnly = false): Promise<Array<[number, number, number]>> {
  const out: Array<[number, number, number]> = [];
  const ranges = [];
  for (const n of (await readdir(walDir)).sort()) if (n.startsWith('checkpoint.')) ranges.push({ dir: join(walDir, n) });
  if (!checkpointOnly) ranges.push({ dir: walDir });
  const r = openReader(ranges);
  const b = new TombstoneBatch();
  while (r.next()) {
    const rec = r.record();
    if (recordType(rec) !== RecordType.Tombstones) continue;
    decodeTombstonesRecord(rec, b);
    for (let i = 0; i < b.length; i++) out.push([b.refs[i]!, b.mints[i]!, b.maxts[i]!]);
  }
  r.close();
  return out;
}

describe('deleting in blocks', () => {
  test('a block gets a tombstones file in Prometheus format and meta.json numTombstones; queries skip the samples', async () => {
    const dir = await tmp();
    const db = await openDB(dir, { logger: quiet, retentionMs: 0 });
    await fill(db, T0, 4 * 240); // 4 h: the first 2 h become a block
    await db.compact();
    expect(db.blocks().length).toBe(1);
    const before = all(db);
    const b = db.blocks()[0]!;
    // Delete series i="1" from 10 min before the data to 30 min in: clamped to the series' first sample.
    const res = await db.delete(T0 - 600_000, T0 + 30 * 60_000, [eq('__name__', 'm'), eq('i', '1')]);
    expect(res.blockIntervals).toBe(1);
    expect(res.headIntervals).toBe(0);
    const bytes = await readFile(join(dir, b.ulid, 'tombstones'));
    // Series i="1" is the 2nd series in the index: id 2 (offset/16 after the symbol table). The
    // entry is uvarint(ref) varint(T0) varint(T0+30min); CRC over the entries (what Prometheus writes).
    const { tombstones } = readTombstones(join(dir, b.ulid));
    expect(tombstones.refs().length).toBe(1);
    expect(tombstones.get(tombstones.refs()[0]!)).toEqual([{ mint: T0, maxt: T0 + 30 * 60_000 }]);
    expect([...bytes.subarray(0, 5)]).toEqual([0x01, 0x30, 0xba, 0x30, 0x01]);
    const { meta } = readMetaFile(join(dir, b.ulid));
    expect(meta.stats.numTombstones).toBe(1);
    const metaText = await readFile(join(dir, b.ulid, 'meta.json'), 'utf8');
    expect(metaText).toContain('\t\t"numTombstones": 1\n');
    expect(all(db)).toEqual(without(before, '1', T0, T0 + 30 * 60_000));
    // A second, adjacent delete merges into one interval (Go Intervals.Add).
    await db.delete(T0 + 30 * 60_000 + 1, T0 + 40 * 60_000, [eq('i', '1')]);
    expect(readTombstones(join(dir, b.ulid)).tombstones.total()).toBe(1);
    expect(readMetaFile(join(dir, b.ulid)).meta.stats.numTombstones).toBe(1);
    const after = all(db);
    expect(after).toEqual(without(before, '1', T0, T0 + 40 * 60_000));
    await db.close();
    const re = await openDB(dir, { logger: quiet, retentionMs: 0 });
    expect(all(re)).toEqual(after);
    await re.close();
  });

  test('no temp file is left next to the rewritten tombstones', async () => {
    const dir = await tmp();
    const db = await openDB(dir, { logger: quiet, retentionMs: 0 });
    await fill(db, T0, 4 * 240);
    await db.compact();
    await db.delete(T0, T0 + H, [eq('i', '0')]);
    const ulid = db.blocks()[0]!.ulid;
    expect((await readdir(join(dir, ulid))).sort()).toEqual(['chunks', 'index', 'meta.json', 'tombstones']);
    await db.close();
  });

  test('compaction of blocks with tombstones drops the deleted samples and writes empty tombstones', async () => {
    const dir = await tmp();
    const db = await openDB(dir, { logger: quiet, retentionMs: 0 });
    await fill(db, T0, 14 * 240); // 14 h → 6 blocks of 2 h, then 6 h compactions
    await db.delete(T0 + H, T0 + 3 * H, [eq('i', '2')]);
    const before = all(db);
    await db.compact();
    await db.compact();
    const metas = db.blocks();
    expect(metas.some((m) => m.compaction.level >= 2)).toBe(true);
    expect(all(db)).toEqual(before);
    for (const m of metas) {
      if (m.compaction.level >= 2) {
        expect(m.stats.numTombstones ?? 0).toBe(0);
        expect(readTombstones(join(dir, m.ulid)).tombstones.total()).toBe(0);
      }
    }
    await db.close();
  });

  test('cleanTombstones rewrites the block without the deleted data, durably replacing it', async () => {
    const dir = await tmp();
    const db = await openDB(dir, { logger: quiet, retentionMs: 0, compaction: false });
    await fill(db, T0, 4 * 240);
    await db.compact();
    const old = db.blocks()[0]!;
    await db.delete(T0, T0 + H, [eq('i', '3')]);
    const before = all(db);
    const res = await db.cleanTombstones();
    expect(res.replaced).toEqual([old.ulid]);
    expect(res.created.length).toBe(1);
    const nu = db.blocks()[0]!;
    expect(nu.ulid).toBe(res.created[0]);
    expect(nu.minTime).toBe(old.minTime);
    expect(nu.maxTime).toBe(old.maxTime);
    expect(nu.compaction.level).toBe(1);
    expect(nu.compaction.sources).toEqual([nu.ulid]);
    expect(nu.compaction.parents?.map((p) => p.ulid)).toEqual([old.ulid]);
    expect(nu.stats.numSamples).toBe((old.stats.numSamples ?? 0) - 241); // [T0, T0+1h] inclusive
    expect(nu.stats.numTombstones ?? 0).toBe(0);
    expect(readTombstones(join(dir, nu.ulid)).tombstones.total()).toBe(0);
    const names = await readdir(dir);
    expect(names).not.toContain(old.ulid);
    expect(names.filter((n) => n.includes('.tmp'))).toEqual([]);
    expect(all(db)).toEqual(before);
    // Nothing left to clean: a second call changes nothing.
    expect(await db.cleanTombstones()).toEqual({ replaced: [], created: [] });
    await db.close();
    const re = await openDB(dir, { logger: quiet, retentionMs: 0 });
    expect(all(re)).toEqual(before);
    await re.close();
  });

  test('an entirely deleted newest block is kept by cleanTombstones, so its samples do not come back from the WAL or chunks_head at reopen', async () => {
    const dir = await tmp();
    let db = await openDB(dir, { logger: quiet, retentionMs: 0, compaction: false });
    await fill(db, T0, 4 * 240);
    await db.compact();
    const old = db.blocks()[0]!;
    await db.delete(old.minTime, old.maxTime - 1, [eq('__name__', 'm')]);
    // The newest block holds the head's lower bound for the next open: it stays, tombstoned.
    expect(await db.cleanTombstones()).toEqual({ replaced: [], created: [] });
    expect(db.blocks().map((b) => b.ulid)).toEqual([old.ulid]);
    const want = all(db);
    expect(want.every((x) => tOf(x) >= old.maxTime)).toBe(true);
    await db.close();
    db = await openDB(dir, { logger: quiet, retentionMs: 0 });
    expect(all(db)).toEqual(want);
    await db.close();
  });

  test('cleanTombstones deletes a block whose every sample was deleted', async () => {
    const dir = await tmp();
    const db = await openDB(dir, { logger: quiet, retentionMs: 0, compaction: false });
    await fill(db, T0, 6 * 240); // two blocks: the first may go, a later one keeps the head's bound
    await db.compact();
    expect(db.blocks().length).toBe(2);
    const old = db.blocks()[0]!;
    await db.delete(old.minTime, old.maxTime - 1, [eq('__name__', 'm')]);
    const res = await db.cleanTombstones();
    expect(res).toEqual({ replaced: [old.ulid], created: [] });
    expect(db.blocks().map((b) => b.ulid)).not.toContain(old.ulid);
    expect(await readdir(dir)).not.toContain(old.ulid);
    expect(all(db).every((s) => tOf(s) >= old.maxTime)).toBe(true);
    await db.close();
  });
});

describe("compaction applies each block's tombstones to that block only", () => {
  test("vertical compaction: samples of an overlapping block in another block's deleted range survive", async () => {
    const dir = await tmp();
    let db = await openDB(dir, { logger: quiet, retentionMs: 0, compaction: false });
    await fill(db, T0, 4 * 240);
    await db.compact();
    await db.delete(T0 + 10 * 60_000, T0 + 20 * 60_000, [eq('i', '0')]);
    await db.close();
    // A second block over the same range with series i="0" at t+1 ms (written after the delete: no tombstones).
    const l = Labels.fromObject({ __name__: 'm', i: '0' });
    const c = new XORChunk();
    const app = c.appender();
    for (let k = 0; k < 100; k++) app.append(T0 + k * 15_000 + 1, -k);
    await writeBlock(dir, { mint: T0, maxt: T0 + 2 * H, series: [{ labels: l, chunks: [{ ref: 0, minTime: T0 + 1, maxTime: T0 + 99 * 15_000 + 1, chunk: c }] }] });
    db = await openDB(dir, { logger: quiet, retentionMs: 0 });
    const before = all(db);
    expect(before.filter((x) => x.startsWith('{__name__="m", i="0"}') && tOf(x) >= T0 + 600_000 && tOf(x) <= T0 + 1_200_000).length).toBe(40); // B's only
    await db.compact();
    expect(db.blocks().length).toBe(1);
    expect(db.blocks()[0]!.compaction.level).toBe(2);
    expect(all(db)).toEqual(before);
    await db.close();
  });

  test('a block whose every series is deleted is rewritten away by the planner', async () => {
    const dir = await tmp();
    const db = await openDB(dir, { logger: quiet, retentionMs: 0 });
    await fill(db, T0, 8 * 240); // 3 blocks
    await db.compact();
    expect(db.blocks().length).toBe(3);
    // The planner looks at the newest block but one (Prometheus: a small block only when entirely deleted).
    const target = db.blocks()[1]!;
    await db.delete(target.minTime, target.maxTime - 1, [eq('__name__', 'm')]);
    expect(target.stats.numTombstones).toBe(4);
    const before = all(db);
    await db.compact();
    expect(db.blocks().map((b) => b.ulid)).not.toContain(target.ulid);
    expect(all(db)).toEqual(before);
    await db.close();
  });
});

describe('dumps and snapshots leave deleted samples out', () => {
  test('flushHead and the head compaction source skip head tombstones', async () => {
    const dir = await tmp();
    const db = await openDB(dir, { logger: quiet, retentionMs: 0 });
    await fill(db, T0, 100);
    await db.delete(T0, T0 + 50 * 15_000, [eq('i', '2')]);
    const want = all(db);
    const snap = await tmp();
    const meta = await db.flushHead(snap, T0, T0 + H);
    expect(meta!.stats.numSamples).toBe(400 - 51);
    const res = await compactSources([headSource(db.head, T0, T0 + H)], await tmp(), { mint: T0, maxt: T0 + H });
    expect(res!.meta.stats.numSamples).toBe(400 - 51);
    const b = await openBlock(join(snap, meta!.ulid));
    const q = b.querier(-Infinity, Infinity);
    const set = q.select(true, null, eq('__name__', 'm'));
    const got: string[] = [];
    while (set.next()) {
      const it = set.at().iterator();
      while (it.next() === ValueType.Float) got.push(`${set.at().labels().toString()} ${it.atT()} ${it.atV()}`);
    }
    q.close();
    await b.close();
    expect(got).toEqual(want);
    await db.close();
  });
});

describe('deleting in the head', () => {
  test('a Tombstones record is logged before the head applies it; replay after reopen keeps the deletion', async () => {
    const dir = await tmp();
    const db = await openDB(dir, { logger: quiet, retentionMs: 0 });
    await fill(db, T0, 100);
    const before = all(db);
    const res = await db.delete(T0 + 10 * 15_000, T0 + 20 * 15_000, [eq('i', '0')]);
    expect(res).toEqual({ blockIntervals: 0, headIntervals: 1 });
    const want = without(before, '0', T0 + 150_000, T0 + 300_000);
    expect(all(db)).toEqual(want);
    expect(all(db).length).toBe(before.length - 11);
    await db.close();
    expect(await walTombstones(join(dir, 'wal'))).toEqual([[1, T0 + 150_000, T0 + 300_000]]);
    const re = await openDB(dir, { logger: quiet, retentionMs: 0 });
    expect(re.stats().replay?.tombstones).toBe(1);
    expect(all(re)).toEqual(want);
    await re.close();
    const ro = await openReadOnly(dir, { logger: quiet });
    expect(all(ro)).toEqual(want);
    await ro.close();
  });

  test('the head interval is clamped to the series data (as Prometheus), and an out-of-data range logs nothing', async () => {
    const dir = await tmp();
    const db = await openDB(dir, { logger: quiet, retentionMs: 0 });
    await fill(db, T0, 10);
    expect(await db.delete(-1e15, 1e15, [eq('i', '2')])).toEqual({ blockIntervals: 0, headIntervals: 1 });
    expect(await db.delete(T0 + H, T0 + 2 * H, [eq('i', '1')])).toEqual({ blockIntervals: 0, headIntervals: 0 });
    expect(await db.delete(0, 1e15, [eq('i', 'nope')])).toEqual({ blockIntervals: 0, headIntervals: 0 });
    await db.close();
    expect(await walTombstones(join(dir, 'wal'))).toEqual([[3, T0, T0 + 9 * 15_000]]);
  });

  test('samples appended after a delete stay visible', async () => {
    const dir = await tmp();
    const db = await openDB(dir, { logger: quiet, retentionMs: 0 });
    await fill(db, T0, 10);
    await db.delete(0, 1e15, [eq('i', '0')]);
    const app = db.appender();
    app.append(0, Labels.fromObject({ __name__: 'm', i: '0' }), T0 + 10 * 15_000, 123);
    await app.commit();
    expect(all(db).filter((s) => s.startsWith('{__name__="m", i="0"}'))).toEqual([`{__name__="m", i="0"} ${T0 + 150_000} 123`]);
    await db.close();
  });

  test('a head cut writes the block without the deleted samples; the head tombstones below the cut go', async () => {
    const dir = await tmp();
    const db = await openDB(dir, { logger: quiet, retentionMs: 0, compaction: false });
    await fill(db, T0, 4 * 240);
    await db.delete(T0 + H, T0 + 3 * H, [eq('i', '1')]);
    const before = all(db);
    expect(db.head.tombstones.total()).toBe(1);
    await db.compact();
    const b = db.blocks()[0]!;
    expect(b.stats.numSamples).toBe(4 * 480 - 240); // series 1 lost its second hour of the block
    expect(b.stats.numTombstones ?? 0).toBe(0);
    expect(all(db)).toEqual(before);
    expect(db.head.tombstones.total()).toBe(1); // the interval reaches past the cut: kept
    await db.close();
    const re = await openDB(dir, { logger: quiet, retentionMs: 0 });
    expect(all(re)).toEqual(before);
    await re.close();
  });

  test("the WAL checkpoint keeps the tombstones that reach the truncation time and drops those that end before it (Prometheus's rule)", async () => {
    const dir = await tmp();
    const db = await openDB(dir, { logger: quiet, retentionMs: 0, compaction: false, walSegmentSize: 32 * 1024, walCompression: false });
    await fill(db, T0, 2 * 240, 6);
    await db.delete(T0, T0 + 30 * 60_000, [eq('i', '0')]); // ends before the first cut: dropped
    await fill(db, T0 + 2 * 240 * 15_000, 6 * 240, 6);
    // Reaches past the cuts to come (clamped to the data, up to 8 h): kept.
    await db.delete(T0 + 5 * H, T0 + 9 * H, [eq('i', '1')]);
    // Much more WAL after it, so its segment is among the older two thirds that get checkpointed.
    await fill(db, T0 + 8 * 240 * 15_000, 240, 100);
    const before = all(db);
    await db.compact();
    const names = await readdir(join(dir, 'wal'));
    expect(names.some((n) => n.startsWith('checkpoint.'))).toBe(true);
    expect((await walTombstones(join(dir, 'wal'), true)).map((s) => s[0])).toEqual([2]);
    expect((await walTombstones(join(dir, 'wal'))).map((s) => s[0])).toEqual([2]);
    expect(all(db)).toEqual(before);
    await db.close();
    const re = await openDB(dir, { logger: quiet, retentionMs: 0 });
    expect(all(re)).toEqual(before);
    await re.close();
  });
});

describe('bad input is refused and deletes nothing', () => {
  const cases: Array<{ name: string; mint: number; maxt: number; matchers: Matcher[]; code: string }> = [
    { name: 'start after end', mint: T0 + 10, maxt: T0, matchers: [eq('i', '0')], code: 'MM_ERR_DELETE_RANGE' },
    { name: 'start is NaN', mint: NaN, maxt: T0, matchers: [eq('i', '0')], code: 'MM_ERR_DELETE_RANGE' },
    { name: 'no matchers', mint: 0, maxt: T0, matchers: [], code: 'MM_ERR_DELETE_MATCHERS' },
    { name: 'matchers that select every series', mint: 0, maxt: T0 * 2, matchers: [new Matcher(MatchType.Regexp, '__name__', '.*')], code: 'MM_ERR_DELETE_MATCHERS' },
  ];
  test.each(cases)('$name', async ({ mint, maxt, matchers, code }) => {
    const dir = await tmp();
    const db = await openDB(dir, { logger: quiet, retentionMs: 0 });
    await fill(db, T0, 4 * 240);
    await db.compact();
    const before = all(db);
    const err = await db.delete(mint, maxt, matchers).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeleteError);
    expect((err as DeleteError).code).toBe(code);
    expect(all(db)).toEqual(before);
    expect(readTombstones(join(dir, db.blocks()[0]!.ulid)).tombstones.total()).toBe(0);
    await db.close();
    expect(await walTombstones(join(dir, 'wal'))).toEqual([]);
  });

  test('a read-only DB refuses to delete', async () => {
    const dir = await tmp();
    const db = await openDB(dir, { logger: quiet });
    await fill(db, T0, 10);
    await db.close();
    const ro = await openReadOnly(dir, { logger: quiet });
    await expect(ro.delete(0, T0 * 2, [eq('i', '0')])).rejects.toMatchObject({ code: 'MM_ERR_DB_READ_ONLY' });
    await expect(ro.cleanTombstones()).rejects.toMatchObject({ code: 'MM_ERR_DB_READ_ONLY' });
    await ro.close();
  });
});
