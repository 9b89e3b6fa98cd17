/**
 * chunks_head/: the file format byte by byte, reads from the write buffer and from disk,
 * file cuts, truncation, startup repair; and the DB on top: finished chunks leave
 * memory, reopen attaches them and skips their WAL samples, queries survive file
 * deletion, and corrupt / torn / missing files open with every acknowledged sample.
 */
import { existsSync, readdirSync, readFileSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { Labels, Matcher, MatchType, ValueType, type SampleIterator } from '../../../src/storage/index.js';
import { openDB, openReadOnly, type DB } from '../../../src/tsdb/db.js';
import { crc32c } from '../../../src/tsdb/encoding/crc32c.js';
import { ChunkDiskMapper, HEAD_CHUNKS_MAGIC, refFile, refOffset } from '../../../src/tsdb/head/chunk-disk-mapper.js';

const quiet = { info: () => {}, warn: () => {} };
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'mm-chunks-head-'));
  dirs.push(d);
  return d;
}

function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7) & 0xff;
  b[0] = 0;
  b[1] = seed & 0xff; // XOR chunks start with a BE16 sample count
  return b;
}

describe('ChunkDiskMapper', () => {
  test('writes the Prometheus head chunk file format exactly (header, record fields, uvarint length, CRC32C)', async () => {
    const dir = await tmp();
    const m = new ChunkDiskMapper(dir);
    m.loadAll();
    const data = bytes(200, 3);
    const ref = m.write(42, -5, 1_700_000_000_123, 1, data);
    expect(refFile(ref)).toBe(1);
    expect(refOffset(ref)).toBe(8);
    m.close();
    const f = readFileSync(join(dir, '000001'));
    expect(f.readUInt32BE(0)).toBe(HEAD_CHUNKS_MAGIC);
    expect([...f.subarray(4, 8)]).toEqual([1, 0, 0, 0]);
    expect(f.readBigUInt64BE(8)).toBe(42n);
    expect(f.readBigInt64BE(16)).toBe(-5n);
    expect(f.readBigInt64BE(24)).toBe(1_700_000_000_123n);
    expect(f[32]).toBe(1); // encoding before the length (unlike block chunks)
    expect([f[33], f[34]]).toEqual([200 & 0x7f | 0x80, 1]); // uvarint(200)
    expect(Buffer.compare(f.subarray(35, 235), Buffer.from(data))).toBe(0);
    expect(f.readUInt32BE(235)).toBe(crc32c(f, 8, 235));
    expect(f.length).toBe(239);
  });

  test('chunks read back identically from the write buffer, after a flush, and after reopening', async () => {
    const dir = await tmp();
    const m = new ChunkDiskMapper(dir, { writeBufferSize: 1024 });
    m.loadAll();
    const written: Array<[number, Uint8Array]> = [];
    for (let i = 0; i < 50; i++) {
      const d = bytes(30 + ((i * 37) % 300), i);
      const ref = m.write(i + 1, i * 1000, i * 1000 + 999, 1, d);
      written.push([ref, d]);
      // the newest one is still in the buffer (or just flushed): readable either way
      expect(m.read(ref, d.length)).toEqual(d);
    }
    for (const [ref, d] of written) expect(m.read(ref, d.length)).toEqual(d);
    m.close();
    const m2 = new ChunkDiskMapper(dir);
    const res = m2.loadAll();
    expect(res.corruption).toBeNull();
    expect(res.chunks.length).toBe(50);
    expect(res.maxSeriesRef).toBe(50);
    for (let i = 0; i < 50; i++) {
      const [ref, d] = written[i]!;
      expect(res.chunks.data[i * 7 + 1]).toBe(ref);
      expect(res.chunks.data[i * 7 + 4]).toBe(d.length);
      expect(res.chunks.data[i * 7 + 5]).toBe(i & 0xff);
      expect(m2.read(ref, d.length)).toEqual(d);
    }
    // A restart never appends to an old file: the next write cuts 000002.
    expect(refFile(m2.write(1, 0, 1, 1, bytes(10, 1)))).toBe(2);
    m2.close();
  });

  test('a new file is cut before the size limit; truncation cuts a file and deletes only files below the lowest live one', async () => {
    const dir = await tmp();
    const m = new ChunkDiskMapper(dir, { maxFileSize: 4096, writeBufferSize: 1024 });
    m.loadAll();
    const refs: number[] = [];
    for (let i = 0; i < 40; i++) refs.push(m.write(1, i, i, 1, bytes(300, i)));
    const files = m.fileNumbers();
    expect(files.length).toBeGreaterThan(3);
    for (const f of files) expect(statSync(join(dir, String(f).padStart(6, '0'))).size).toBeLessThanOrEqual(4096);
    const liveFile = refFile(refs[25]!);
    const deleted = m.truncate(liveFile);
    expect(deleted).toEqual(files.filter((f) => f < liveFile));
    expect(m.fileNumbers()[0]).toBe(liveFile);
    // a new file was cut (the old current one has chunks)
    expect(Math.max(...m.fileNumbers())).toBe(Math.max(...files) + 1);
    for (let i = 25; i < 40; i++) expect(m.read(refs[i]!, 300)).toEqual(bytes(300, i));
    // no reader was open: the files below the live one are gone at once
    expect(existsSync(join(dir, '000001'))).toBe(false);
    expect(() => m.read(refs[0]!, 300)).toThrow(/not open/);
    // a reader acquired before a truncation keeps the files it retires on disk and readable until released
    const liveFile2 = refFile(refs[39]!);
    expect(liveFile2).toBeGreaterThan(refFile(refs[25]!));
    const token = m.acquireReader();
    const deleted2 = m.truncate(liveFile2);
    expect(deleted2.length).toBeGreaterThan(0);
    expect(m.retiredFileNumbers()).toEqual(deleted2);
    expect(existsSync(join(dir, String(deleted2[0]).padStart(6, '0')))).toBe(true);
    expect(m.read(refs[25]!, 300)).toEqual(bytes(300, 25));
    m.truncate(liveFile2);
    expect(m.read(refs[25]!, 300)).toEqual(bytes(300, 25));
    m.releaseReader(token);
    expect(m.retiredFileNumbers()).toEqual([]);
    expect(existsSync(join(dir, String(deleted2[0]).padStart(6, '0')))).toBe(false);
    expect(() => m.read(refs[25]!, 300)).toThrow(/not open/);
    m.close();
    expect(() => m.read(refs[30]!, 300)).toThrow(/not open/);
  });

  test.each([
    ['a torn tail (file cut mid-record)', (f: string) => truncateSync(f, statSync(f).size - 7)],
    ['a flipped byte in the last record', (f: string) => flip(f, statSync(f).size - 20)],
    ['a bad magic number', (f: string) => flip(f, 1)],
  ])('startup repair: %s deletes that file and later ones, keeps earlier files', async (_name, damage) => {
    const dir = await tmp();
    const m = new ChunkDiskMapper(dir, { maxFileSize: 2048, writeBufferSize: 1024 });
    m.loadAll();
    for (let i = 0; i < 20; i++) m.write(1, i, i, 1, bytes(300, i));
    m.close();
    const files = readdirSync(dir).sort();
    const victim = files[files.length - 2]!;
    damage(join(dir, victim));
    const logs: string[] = [];
    const m2 = new ChunkDiskMapper(dir, { logger: { info: () => {}, warn: (_o, msg) => logs.push(msg) } });
    const res = m2.loadAll();
    expect(res.corruption).not.toBeNull();
    expect(logs.length).toBe(1);
    expect(readdirSync(dir).sort()).toEqual(files.slice(0, -2));
    expect(res.droppedFiles).toEqual([Number(victim), Number(files.at(-1))]);
    // the next file follows the highest remaining one: no gap (Prometheus refuses gaps)
    expect(refFile(m2.write(1, 100, 100, 1, bytes(10, 1)))).toBe(Number(victim));
    // chunks of the intact files remain; the damaged file goes whole (Prometheus DeleteCorrupted)
    expect(res.chunks.length).toBeGreaterThan(0);
    for (let i = 0; i < res.chunks.length; i++) expect(refFile(res.chunks.data[i * 7 + 1]!)).toBeLessThan(Number(victim));
    m2.close();
  });

  test('a gap in the file numbers drops the files after it; an empty last file and a zero-filled tail are fine', async () => {
    const dir = await tmp();
    const m = new ChunkDiskMapper(dir, { maxFileSize: 2048, writeBufferSize: 1024 });
    m.loadAll();
    for (let i = 0; i < 20; i++) m.write(1, i, i, 1, bytes(300, i));
    m.close();
    const files = readdirSync(dir).sort();
    // zero tail like Prometheus's preallocated files
    const first = join(dir, files[0]!);
    writeFileSync(first, Buffer.concat([readFileSync(first), Buffer.alloc(5000)]));
    unlinkSync(join(dir, files[2]!));
    writeFileSync(join(dir, String(Number(files.at(-1)) + 1).padStart(6, '0')), '');
    const m2 = new ChunkDiskMapper(dir);
    const res = m2.loadAll();
    expect(res.droppedFiles).toEqual(files.slice(3).map(Number));
    expect(readdirSync(dir).sort()).toEqual(files.slice(0, 2));
    m2.close();
  });
});

function flip(f: string, at: number): void {
  const b = readFileSync(f);
  b[at] = (b[at] as number) ^ 0xff;
  writeFileSync(f, b);
}

const START = 1_700_000_000_000;
const SERIES = 20;
/** 1 s samples for 50 min → chunks of 120 samples are cut (several per series). */
const N = 3000;

function lset(i: number): Labels {
  return Labels.fromObject({ __name__: 'hc_test', i: String(i) });
}
function val(k: number, i: number): number {
  return k % 7 === 0 ? k * 0.25 + i : Math.sin(k / 9) * (i + 1);
}

async function fill(db: DB, from: number, to: number): Promise<void> {
  const refs = new Array<number>(SERIES).fill(0);
  for (let k = from; k < to; k++) {
    const app = db.appender();
    for (let i = 0; i < SERIES; i++) refs[i] = app.append(refs[i]!, lset(i), START + k * 1000, val(k, i));
    await app.commit();
  }
}

function check(db: DB, n: number): void {
  const q = db.querier(-Infinity, Infinity);
  const set = q.select(true, null, new Matcher(MatchType.Equal, '__name__', 'hc_test'));
  let series = 0;
  let it: SampleIterator | null = null;
  while (set.next()) {
    const i = Number(set.at().labels().get('i'));
    it = set.at().iterator(it);
    let k = 0;
    while (it.next() === ValueType.Float) {
      expect(it.atT()).toBe(START + k * 1000);
      expect(it.atV()).toBe(val(k, i));
      k++;
    }
    expect(it.err()).toBeNull();
    expect(k).toBe(n);
    series++;
  }
  expect(series).toBe(SERIES);
  q.close();
}

describe('DB with chunks_head', () => {
  test('finished chunks live in chunks_head, not in memory; a reopen attaches them and skips their WAL samples', async () => {
    const dir = await tmp();
    const db = await openDB(dir, { logger: quiet, retentionMs: 0 });
    await fill(db, 0, N);
    expect(db.head.arena.numPages()).toBe(0);
    expect(db.head.opts.chunkDisk!.chunksWritten).toBeGreaterThanOrEqual(SERIES * 20);
    check(db, N);
    await db.close();
    const db2 = await openDB(dir, { logger: quiet, retentionMs: 0 });
    const st = db2.stats();
    expect(st.headChunks!.corruption).toBeNull();
    expect(st.headChunks!.chunksAttached).toBeGreaterThanOrEqual(SERIES * 20);
    expect(st.headChunks!.walSamplesSkipped).toBe(st.headChunks!.samplesAttached);
    expect(st.head.numSamples).toBe(SERIES * N);
    check(db2, N);
    // appends continue after the replayed tail; an identical re-append of the last sample is dropped silently
    await fill(db2, N - 1, N + 300);
    check(db2, N + 300);
    await db2.close();
    const db3 = await openDB(dir, { logger: quiet, retentionMs: 0 });
    check(db3, N + 300);
    await db3.close();
  }, 60_000);

  test('a query keeps its chunks when truncation deletes their files; the head cut removes old chunks_head files', async () => {
    const dir = await tmp();
    const db = await openDB(dir, { logger: quiet, retentionMs: 0, blockRange: 600_000, headChunkFileSize: 16 * 1024, headChunkWriteBufferSize: 4096 });
    await fill(db, 0, N);
    const filesBefore = readdirSync(join(dir, 'chunks_head')).sort();
    const q = db.head.querier(-Infinity, Infinity);
    const set = q.select(true, null, new Matcher(MatchType.Equal, '__name__', 'hc_test'));
    expect(set.next()).toBe(true);
    const it = set.at().iterator();
    // a second query selects now and creates its iterator only after the truncation
    const q2 = db.head.querier(-Infinity, Infinity);
    const set2 = q2.select(true, null, new Matcher(MatchType.Equal, '__name__', 'hc_test'));
    await db.compact(); // cuts blocks, truncates the head; old chunks_head files wait for the open queriers
    expect(db.blocks().length).toBeGreaterThan(0);
    let k = 0;
    while (it.next() === ValueType.Float) {
      expect(it.atT()).toBe(START + k * 1000);
      k++;
    }
    expect(k).toBe(N);
    let series2 = 0;
    while (set2.next()) {
      const it2 = set2.at().iterator();
      let k2 = 0;
      while (it2.next() === ValueType.Float) {
        expect(it2.atT()).toBe(START + k2 * 1000);
        k2++;
      }
      expect(it2.err()).toBeNull();
      expect(k2).toBe(N);
      series2++;
    }
    expect(series2).toBe(SERIES);
    q.close();
    q2.close();
    const filesAfter = readdirSync(join(dir, 'chunks_head')).sort();
    expect(filesAfter[0]! > filesBefore[0]!).toBe(true);
    check(db, N);
    await db.close();
    const db2 = await openDB(dir, { logger: quiet, retentionMs: 0, blockRange: 600_000 });
    check(db2, N);
    await db2.close();
  }, 60_000);

  test.each([
    ['the newest chunks_head file torn', (d: string, fs: string[]) => truncateSync(join(d, fs.at(-1)!), statSync(join(d, fs.at(-1)!)).size - 11)],
    ['a CRC error in the first file', (d: string, fs: string[]) => flip(join(d, fs[0]!), 100)],
    ['a middle file missing', (d: string, fs: string[]) => unlinkSync(join(d, fs[Math.floor(fs.length / 2)]!))],
    ['the first file missing', (d: string, fs: string[]) => unlinkSync(join(d, fs[0]!))],
    ['every file missing', (d: string, fs: string[]) => fs.forEach((f) => unlinkSync(join(d, f)))],
    ['the directory missing', (d: string) => rm(d, { recursive: true })],
  ])('%s: open is clean and returns every acknowledged sample (from the WAL)', async (_name, damage) => {
    const dir = await tmp();
    const db = await openDB(dir, { logger: quiet, retentionMs: 0, headChunkFileSize: 8 * 1024, headChunkWriteBufferSize: 2048 });
    await fill(db, 0, N);
    await db.close();
    const hd = join(dir, 'chunks_head');
    const files = readdirSync(hd).sort();
    expect(files.length).toBeGreaterThan(3);
    await damage(hd, files);
    const warnings: string[] = [];
    const db2 = await openDB(dir, { logger: { info: () => {}, warn: (_o, m) => warnings.push(m) }, retentionMs: 0 });
    expect(warnings.length).toBeLessThanOrEqual(1);
    expect(db2.stats().head.numSamples).toBe(SERIES * N);
    check(db2, N);
    await fill(db2, N, N + 200);
    await db2.close();
    const db3 = await openDB(dir, { logger: quiet, retentionMs: 0 });
    check(db3, N + 200);
    await db3.close();
  }, 60_000);

  test('openReadOnly neither creates nor changes chunks_head and returns the same samples', async () => {
    const dir = await tmp();
    const db = await openDB(dir, { logger: quiet, retentionMs: 0 });
    await fill(db, 0, 600);
    await db.close();
    const hd = join(dir, 'chunks_head');
    const before = readdirSync(hd).map((f) => [f, statSync(join(hd, f)).size, statSync(join(hd, f)).mtimeMs]);
    const ro = await openReadOnly(dir, { logger: quiet });
    check(ro, 600);
    await ro.close();
    expect(readdirSync(hd).map((f) => [f, statSync(join(hd, f)).size, statSync(join(hd, f)).mtimeMs])).toEqual(before);
    await rm(hd, { recursive: true });
    const ro2 = await openReadOnly(dir, { logger: quiet });
    check(ro2, 600);
    await ro2.close();
    expect(existsSync(hd)).toBe(false);
  }, 60_000);
});
