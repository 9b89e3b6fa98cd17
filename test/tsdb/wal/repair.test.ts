/**
 * Corruption: the reader stops at the first damaged record with a CorruptionError
 * naming segment and offset; WAL.repair cuts there, keeps everything before,
 * deletes later segments, and the WAL carries on (and reopens) cleanly.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { appendFile, open, readdir, stat, truncate, writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WAL, CorruptionError, PAGE_SIZE, nopWalLogger, segmentName, type WalLogger } from '../../../src/tsdb/wal/index.js';
import { checkPayload, payload, readAll, removeDir, tempDir } from './helpers.js';
import { openReader } from '../../../src/tsdb/wal/index.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await removeDir(d);
});

interface RecInfo {
  seq: number;
  seg: number;
  start: number;
  end: number;
}

/** Writes `sizes.length` records into 4-page segments; returns where each landed. */
async function buildWal(sizes: number[], compress = false): Promise<{ dir: string; info: RecInfo[] }> {
  const dir = await tempDir('walrep');
  dirs.push(dir);
  const w = await WAL.open(dir, { compress, segmentSize: 4 * PAGE_SIZE, logger: nopWalLogger });
  for (let i = 0; i < sizes.length; i++) await w.log(payload(i, sizes[i]!));
  await w.close();
  const r = openReader([{ dir }]);
  const info: RecInfo[] = [];
  while (r.next()) info.push({ seq: checkPayload(r.record()), seg: r.segment(), start: r.recordOffset(), end: r.offset() });
  expect(r.err()).toBeNull();
  r.close();
  return { dir, info };
}

const segPath = (dir: string, i: number) => join(dir, segmentName(i));

async function patch(path: string, off: number, bytes: Uint8Array): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.write(bytes, 0, bytes.length, off);
  } finally {
    await fh.close();
  }
}

function captureLogger(): WalLogger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: () => {}, warn: (_o, msg) => lines.push(msg) };
}

// 40 records, mixed sizes (some span pages), over several 4-page segments; the last is 2.5 pages.
const SIZES = [...Array.from({ length: 39 }, (_, i) => [60, 3000, 20000, 500, 45000][i % 5]!), 80000];

interface Case {
  name: string;
  /** Damages the WAL; returns how many leading records must survive. */
  damage: (dir: string, info: RecInfo[]) => Promise<number>;
  reason: RegExp;
}

const cases: Case[] = [
  {
    name: 'the tail cut in the middle of the last record (torn multi-page write)',
    damage: async (dir, info) => {
      const last = info[info.length - 1]!;
      await truncate(segPath(dir, last.seg), Math.floor((last.start + last.end) / 2));
      return info.length - 1;
    },
    reason: /torn/,
  },
  {
    name: 'the tail cut inside the last record’s fragment header',
    damage: async (dir, info) => {
      const last = info[info.length - 1]!;
      await truncate(segPath(dir, last.seg), last.start + 3);
      return info.length - 1;
    },
    reason: /truncated fragment header/,
  },
  {
    name: 'a flipped bit in the last record (bad CRC)',
    damage: async (dir, info) => {
      const last = info[info.length - 1]!;
      const p = segPath(dir, last.seg);
      const b = await readFile(p);
      await patch(p, last.end - 1, new Uint8Array([b[last.end - 1]! ^ 0x10]));
      return info.length - 1;
    },
    reason: /checksum mismatch/,
  },
  {
    name: 'a zeroed page in the middle of the last segment',
    damage: async (dir, info) => {
      const lastSeg = info[info.length - 1]!.seg;
      const inSeg = info.filter((r) => r.seg === lastSeg);
      const size = (await stat(segPath(dir, lastSeg))).size;
      expect(size).toBeGreaterThanOrEqual(3 * PAGE_SIZE);
      const pageStart = PAGE_SIZE; // page 1 of the segment
      await patch(segPath(dir, lastSeg), pageStart, new Uint8Array(PAGE_SIZE));
      return info.length - inSeg.filter((r) => r.end > pageStart).length;
    },
    reason: /zeroed page/,
  },
  {
    name: 'garbage appended after the last page',
    damage: async (dir, info) => {
      const last = info[info.length - 1]!;
      const g = new Uint8Array(300).map((_, i) => (i * 97 + 13) & 0xff);
      g[0] = 0xab;
      await appendFile(segPath(dir, last.seg), g);
      return info.length;
    },
    reason: /invalid fragment|non-zero|checksum|torn|size/,
  },
  {
    name: 'garbage written over the zero padding after the last record',
    damage: async (dir, info) => {
      const last = info[info.length - 1]!;
      await patch(segPath(dir, last.seg), last.end, new Uint8Array([0x01, 0x00, 0x05, 1, 2, 3, 4, 9, 9, 9, 9, 9]));
      return info.length;
    },
    reason: /checksum mismatch/,
  },
];

describe('a damaged tail is cut at the last good record and everything before it is kept', () => {
  test.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const { dir, info } = await buildWal(SIZES);
    const keep = await c.damage(dir, info);
    const before = readAll([{ dir }]);
    expect(before.err).toBeInstanceOf(CorruptionError);
    const err = before.err as CorruptionError;
    expect(err.code).toBe('MM_ERR_WAL_CORRUPT');
    expect(err.reason).toMatch(c.reason);
    expect(err.message).toContain(segmentName(err.segment));
    expect(before.recs.map(checkPayload)).toEqual(Array.from({ length: keep }, (_, i) => i));

    // What the head does on start: open (new active segment), replay, repair on corruption.
    const log = captureLogger();
    const w = await WAL.open(dir, { segmentSize: 4 * PAGE_SIZE, logger: log });
    const report = await w.repair(err);
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]).toContain(`segment ${segmentName(err.segment)} cut at offset ${err.recordOffset}`);
    expect(report.segment).toBe(err.segment);
    expect(report.cutOffset).toBe(err.recordOffset);
    expect(w.activeSegment).toBe(err.segment + 1);
    const after = readAll([{ dir }]);
    expect(after.err).toBeNull();
    expect(after.recs.map(checkPayload)).toEqual(Array.from({ length: keep }, (_, i) => i));

    // The log carries on after the cut, and reopens cleanly.
    await w.log(payload(keep, 5000));
    await w.close();
    const w2 = await WAL.open(dir, { logger: nopWalLogger });
    await w2.close();
    const again = readAll([{ dir }]);
    expect(again.err).toBeNull();
    expect(again.recs.map(checkPayload)).toEqual(Array.from({ length: keep + 1 }, (_, i) => i));
    for (const n of await readdir(dir)) expect((await stat(join(dir, n))).size % PAGE_SIZE).toBe(0);
  });
});

describe('corruption in an older segment', () => {
  test('names the segment and offset, and repair reports the later segments it had to delete', async () => {
    const { dir, info } = await buildWal(SIZES);
    const lastSeg = info[info.length - 1]!.seg;
    expect(lastSeg).toBeGreaterThanOrEqual(3);
    const victim = info.find((r) => r.seg === 1 && r.start > 0)!;
    const p = segPath(dir, 1);
    await patch(p, victim.start + 7, new Uint8Array([0xff, 0xee]));
    const { recs, err } = readAll([{ dir }]);
    expect(err).toBeInstanceOf(CorruptionError);
    const ce = err as CorruptionError;
    expect([ce.segment, ce.offset, ce.recordOffset]).toEqual([1, victim.start, victim.start]);
    expect(ce.message).toMatch(new RegExp(`00000001 at offset ${victim.start}.*checksum mismatch`));
    expect(recs.length).toBe(victim.seq);

    const log = captureLogger();
    const w = await WAL.open(dir, { segmentSize: 4 * PAGE_SIZE, logger: log });
    const report = await w.repair(ce);
    // Every segment after 1 is gone, including the active one the open had created.
    expect(report.deletedSegments).toEqual(Array.from({ length: lastSeg + 1 - 1 }, (_, i) => i + 2));
    expect(report.droppedBytes).toBeGreaterThan(PAGE_SIZE);
    expect(log.lines[0]).toMatch(new RegExp(`segment 00000001 cut at offset ${victim.start} .*${lastSeg} later segment\\(s\\) deleted`));
    await w.close();
    const after = readAll([{ dir }]);
    expect(after.err).toBeNull();
    expect(after.recs.map(checkPayload)).toEqual(Array.from({ length: victim.seq }, (_, i) => i));
  });

  test('a compressed record whose snappy bytes are damaged (CRC recomputed) is reported as corruption, not thrown', async () => {
    const { dir, info } = await buildWal([3000, 3000, 3000], true);
    const r = info[1]!;
    const p = segPath(dir, r.seg);
    const b = await readFile(p);
    // Rewrite the fragment's payload with a broken snappy block and a matching CRC.
    const len = (b[r.start + 1]! << 8) | b[r.start + 2]!;
    const broken = new Uint8Array(len).fill(0xff);
    broken[0] = 0x05;
    const { crc32c } = await import('../../../src/tsdb/encoding/index.js');
    const c = crc32c(broken);
    await patch(p, r.start + 3, new Uint8Array([c >>> 24, (c >>> 16) & 0xff, (c >>> 8) & 0xff, c & 0xff]));
    await patch(p, r.start + 7, broken);
    const { recs, err } = readAll([{ dir }]);
    expect(recs.length).toBe(1);
    expect((err as CorruptionError).reason).toMatch(/snappy/);
  });

  test('an empty or all-zero segment reads as empty', async () => {
    const dir = await tempDir('walzero');
    dirs.push(dir);
    await writeFile(join(dir, '00000000'), new Uint8Array(0));
    await writeFile(join(dir, '00000001'), new Uint8Array(2 * PAGE_SIZE));
    const { recs, err } = readAll([{ dir }]);
    expect(recs).toEqual([]);
    expect(err).toBeNull();
  });
});
