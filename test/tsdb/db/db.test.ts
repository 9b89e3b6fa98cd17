import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { Labels, OutOfBoundsError } from '../../../src/storage/index.js';
import { readMetaFile, writeBlock, writeMetaFile, type BlockMeta } from '../../../src/tsdb/block/index.js';
import { XORChunk } from '../../../src/tsdb/chunkenc/index.js';
import { DBError, openDB, openReadOnly, type DB } from '../../../src/tsdb/db.js';
import { Cleanups, dbSamples, ingest, quietLogger as quiet } from '../../support/tsdb.js';

const H = 3_600_000;
const T0 = 1_700_000_000_000 - (1_700_000_000_000 % (2 * H)); // aligned to 2 h
const cleanups = new Cleanups();
afterAll(() => cleanups.run());
const tmp = (): Promise<string> => cleanups.tmp('mm-db-');

/** Every sample in [mint, maxt] as `labels t value` lines (stale markers as `stale`). */
const all = (db: DB, mint = -Infinity, maxt = Infinity): string[] => dbSamples(db, mint, maxt);

/** Appends `scrapes` scrapes of `n` series every 15 s from `start`. */
async function fill(db: DB, start: number, scrapes: number, n = 5): Promise<void> {
  const lsets = Array.from({ length: n }, (_, i) => Labels.fromObject({ __name__: 'm', i: String(i) }));
  await ingest(db, lsets, scrapes, (k) => start + k * 15_000, (k, i) => k + i / 10);
}

describe('DB lifecycle', () => {
  test('samples survive close and reopen (WAL replay)', async () => {
    const dir = await tmp();
    let db = await openDB(dir, { logger: quiet });
    await fill(db, T0, 100);
    const before = all(db);
    expect(before.length).toBe(500);
    await db.close();
    db = await openDB(dir, { logger: quiet });
    expect(all(db)).toEqual(before);
    expect(db.stats().replay?.samplesAppended).toBe(500);
    await db.close();
  });

  test('a corrupt WAL record is repaired at open with one log line; what came before it is kept and the DB works on', async () => {
    const dir = await tmp();
    let db = await openDB(dir, { logger: quiet });
    await fill(db, T0, 10);
    await db.close();
    db = await openDB(dir, { logger: quiet });
    await fill(db, T0 + 10 * 15_000, 10);
    await db.close();
    // Flip a payload byte of the first record of the second session's segment.
    const segs = (await readdir(join(dir, 'wal'))).filter((n) => /^\d{8}$/.test(n)).sort();
    const path = join(dir, 'wal', segs[1]!);
    const buf = await readFile(path);
    buf[9] = buf[9]! ^ 0xff;
    await writeFile(path, buf);
    const warnings: string[] = [];
    db = await openDB(dir, { logger: { info: () => {}, warn: (_o, m) => warnings.push(m) } });
    expect(db.stats().replay?.corruption?.segment).toBe(1);
    expect(all(db).length).toBe(50);
    expect(warnings.length).toBe(1);
    await fill(db, T0 + 20 * 15_000, 2);
    await db.close();
    db = await openDB(dir, { logger: quiet });
    expect(all(db).length).toBe(60);
    expect(db.stats().replay?.corruption).toBeNull();
    await db.close();
  });

  test('a second open of the same directory is refused with a clear message', async () => {
    const dir = await tmp();
    const db = await openDB(dir, { logger: quiet });
    await expect(openDB(dir, { logger: quiet })).rejects.toThrow(/already open in this process/);
    await db.close();
    const again = await openDB(dir, { logger: quiet });
    await again.close();
  });

  test('a head spanning more than 1.5 block ranges is cut into aligned blocks; queries span blocks and head', async () => {
    const dir = await tmp();
    let db = await openDB(dir, { logger: quiet, retentionMs: 0, walSync: false });
    const start = T0 + 1234; // unaligned first sample
    await fill(db, start, 4 * 240); // 4 h
    const before = all(db);
    await db.compact();
    const metas = db.blocks();
    expect(metas.map((m) => [m.minTime, m.maxTime])).toEqual([[start, T0 + 2 * H]]);
    expect(metas[0]!.stats.numSamples).toBe(5 * 480);
    expect(db.stats().head.mint).toBeGreaterThanOrEqual(T0 + 2 * H);
    expect(all(db)).toEqual(before);
    // Appending below the block end is now out of bounds.
    const app = db.appender();
    expect(() => app.append(0, Labels.fromObject({ __name__: 'm', i: '0' }), T0 + 2 * H - 1, 1)).toThrow(OutOfBoundsError);
    await app.rollback();
    // Sub-ranges select the right sources.
    expect(all(db, start, start + 30_000).length).toBe(15);
    await db.close();
    db = await openDB(dir, { logger: quiet, retentionMs: 0, walSync: false });
    expect(all(db)).toEqual(before);
    expect(db.stats().replay!.belowMinValid).toBeLessThanOrEqual(5 * 480);
    await db.close();
  });

  test('the WAL is checkpointed and truncated after head cuts, and replay from the checkpoint is exact', async () => {
    const dir = await tmp();
    let db = await openDB(dir, { logger: quiet, retentionMs: 0, walSegmentSize: 32 * 1024, walSync: false });
    for (let r = 0; r < 4; r++) {
      await fill(db, T0 + r * 2 * H, 480, 20);
      await db.compact();
    }
    const walFiles = await readdir(join(dir, 'wal'));
    expect(walFiles.some((f) => f.startsWith('checkpoint.'))).toBe(true);
    expect(db.metrics.checkpoints).toBeGreaterThan(0);
    const before = all(db);
    expect(before.length).toBe(4 * 480 * 20);
    await db.close();
    db = await openDB(dir, { logger: quiet, retentionMs: 0, walSync: false });
    expect(all(db)).toEqual(before);
    await db.close();
  });

  test('blocks filling a larger range are compacted into one, and their parents deleted', async () => {
    const dir = await tmp();
    const T6 = 1_700_000_000_000 - (1_700_000_000_000 % (6 * H));
    let db = await openDB(dir, { logger: quiet, retentionMs: 0, maxBlockDuration: 6 * H, walSync: false });
    for (let r = 0; r < 5; r++) {
      await fill(db, T6 + r * 2 * H, 480);
      await db.compact();
    }
    const before = all(db);
    const metas = db.blocks();
    expect(metas.map((m) => [m.minTime - T6, m.maxTime - T6, m.compaction.level])).toEqual([
      [0, 6 * H, 2],
      [6 * H, 8 * H, 1],
    ]);
    expect(metas[0]!.compaction.sources!.length).toBe(3);
    expect(metas[0]!.stats.numSamples).toBe(3 * 480 * 5);
    expect(db.metrics.compactions).toBe(1);
    const names = (await readdir(dir)).filter((n) => /^[0-7][0-9A-Z]{25}$/.test(n));
    expect(names.sort()).toEqual(metas.map((m) => m.ulid).sort());
    await db.close();
    db = await openDB(dir, { logger: quiet, retentionMs: 0, maxBlockDuration: 6 * H, walSync: false });
    expect(all(db)).toEqual(before);
    await db.close();
  });

  test('overlapping blocks are merged at query time (equal timestamps once) and compacted vertically', async () => {
    const dir = await tmp();
    const l = Labels.fromObject({ __name__: 'm', i: 'x' });
    const chunkOf = (ts: number[], v: number) => {
      const c = new XORChunk();
      const a = c.appender();
      for (const t of ts) a.append(t, v);
      return { ref: 0, minTime: ts[0]!, maxTime: ts[ts.length - 1]!, chunk: c };
    };
    // Block A: t = 0,10,…,90 (value 1); block B overlaps: t = 50,55,…,145 (value 2).
    const ta = Array.from({ length: 10 }, (_, i) => T0 + i * 10);
    const tb = Array.from({ length: 20 }, (_, i) => T0 + 50 + i * 5);
    await writeBlock(dir, { mint: T0, maxt: T0 + 100, series: [{ labels: l, chunks: [chunkOf(ta, 1)] }] });
    await writeBlock(dir, { mint: T0 + 50, maxt: T0 + 150, series: [{ labels: l, chunks: [chunkOf(tb, 2)] }] });
    const db = await openDB(dir, { logger: quiet, retentionMs: 0, walSync: false });
    const want = [...new Set([...ta, ...tb])].sort((a, b) => a - b);
    const got = all(db).map((s) => Number(s.split(' ').at(-2)));
    expect(got).toEqual(want);
    await db.compact();
    expect(db.blocks().length).toBe(1);
    expect(db.blocks()[0]!.compaction.level).toBe(2);
    expect(all(db).map((s) => Number(s.split(' ').at(-2)))).toEqual(want);
    await db.close();
  });

  test('time retention deletes whole blocks older than the retention behind the newest block', async () => {
    const dir = await tmp();
    const db = await openDB(dir, { logger: quiet, retentionMs: 4 * H, walSync: false });
    for (let r = 0; r < 5; r++) {
      await fill(db, T0 + r * 2 * H, 480);
      await db.compact();
    }
    const metas = db.blocks();
    const newest = Math.max(...metas.map((m) => m.maxTime));
    for (const m of metas) expect(newest - m.maxTime).toBeLessThanOrEqual(4 * H);
    expect(db.metrics.timeRetentions).toBeGreaterThan(0);
    const names = (await readdir(dir)).filter((n) => /^[0-7][0-9A-Z]{25}$/.test(n));
    expect(names.sort()).toEqual(metas.map((m) => m.ulid).sort());
    await db.close();
  });

  test('open removes leftover temporary dirs and blocks that are parents of another block or marked deletable', async () => {
    const dir = await tmp();
    let db = await openDB(dir, { logger: quiet, retentionMs: 0, walSync: false });
    for (let r = 0; r < 3; r++) {
      await fill(db, T0 + r * 2 * H, 480);
      await db.compact();
    }
    const [a, b] = db.blocks();
    await db.close();
    // b claims a as its parent; a copy of a marked deletable; and tmp leftovers.
    const { meta: mb } = readMetaFile(join(dir, b!.ulid));
    const withParent: BlockMeta = { ...mb, compaction: { ...mb.compaction, parents: [{ ulid: a!.ulid, minTime: a!.minTime, maxTime: a!.maxTime }] } };
    await writeMetaFile(join(dir, b!.ulid), withParent);
    await mkdir(join(dir, '01ARZ3NDEKTSV4RRFFQ69G5FAV.tmp-for-creation'));
    await mkdir(join(dir, '01ARZ3NDEKTSV4RRFFQ69G5FAW.tmp-for-deletion'));
    await writeFile(join(dir, '01ARZ3NDEKTSV4RRFFQ69G5FAW.tmp-for-deletion', 'x'), 'x');
    db = await openDB(dir, { logger: quiet, retentionMs: 0, walSync: false });
    expect(db.blocks().map((m) => m.ulid)).toEqual([b!.ulid]);
    expect(existsSync(join(dir, a!.ulid))).toBe(false);
    expect((await readdir(dir)).filter((n) => n.includes('.tmp'))).toEqual([]);
    await db.close();
  });

  test('read-only open replays the WAL, refuses appends and writes nothing', async () => {
    const dir = await tmp();
    const db = await openDB(dir, { logger: quiet, retentionMs: 0, walSync: false });
    await fill(db, T0, 4 * 240);
    await db.compact();
    await fill(db, T0 + 4 * H, 10);
    const want = all(db);
    // Read-only next to a live writer: no lock taken.
    const ro = await openReadOnly(dir, { logger: quiet });
    const listing = async () => [...(await readdir(dir)), ...(await readdir(join(dir, 'wal')))].sort();
    const before = await listing();
    expect(all(ro)).toEqual(want);
    expect(() => ro.appender()).toThrow(DBError);
    await ro.compact();
    await ro.close();
    expect(await listing()).toEqual(before);
    await db.close();
  });

  test('flushHead writes the head samples of a range as a block in another directory', async () => {
    const dir = await tmp();
    const out = await tmp();
    const db = await openDB(dir, { logger: quiet });
    await fill(db, T0, 100);
    const meta = await db.flushHead(out, T0 + 15_000 * 10, T0 + 15_000 * 19);
    expect(meta).not.toBeNull();
    expect([meta!.minTime, meta!.maxTime]).toEqual([T0 + 150_000, T0 + 285_000 + 1]);
    expect(meta!.stats.numSamples).toBe(50);
    expect(await db.flushHead(out, 0, 1000)).toBeNull();
    await db.close();
    const ro = await openReadOnly(out, { logger: quiet });
    expect(all(ro).length).toBe(50);
    await ro.close();
  });

  test('the background loop cuts a block after commits make the head compactable', async () => {
    const dir = await tmp();
    const db = await openDB(dir, { logger: quiet, retentionMs: 0, compactionIntervalMs: 3_600_000, walSync: false });
    db.start();
    await fill(db, T0, 4 * 240);
    const deadline = Date.now() + 10_000;
    while (db.blocks().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(db.blocks().length).toBe(1);
    await db.stop();
    await db.close();
    await expect(async () => db.appender()).rejects.toThrow(DBError);
  });
});
