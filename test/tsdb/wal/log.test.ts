import { afterAll, describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { readFile, readdir, stat, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32c } from '../../../src/tsdb/encoding/index.js';
import { WAL, PAGE_SIZE, nopWalLogger, segmentName, snappyDecode, snappyDecodedLength, snappyEncode } from '../../../src/tsdb/wal/index.js';
import { checkPayload, payload, readAll, removeDir, tempDir } from './helpers.js';

const dirs: string[] = [];
async function newDir(): Promise<string> {
  const d = await tempDir('wal');
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await removeDir(d);
});

const be16 = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;
const be32 = (b: Uint8Array, o: number) => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

describe('page and fragment layout (Prometheus wlog.go)', () => {
  test('a small record is one full fragment: type 1, BE16 length, BE32 CRC32C of the payload; close zero-pads the page', async () => {
    const dir = await newDir();
    const w = await WAL.open(dir, { compress: false, logger: nopWalLogger });
    await w.log(new Uint8Array([1, 2, 3]));
    await w.close();
    const b = await readFile(join(dir, '00000000'));
    expect(b.length).toBe(PAGE_SIZE);
    expect(Array.from(b.subarray(0, 10))).toEqual([1, 0, 3, ...[24, 24, 24, 24].map((_, i) => (crc32c(new Uint8Array([1, 2, 3])) >>> (24 - 8 * i)) & 0xff), 1, 2, 3]);
    expect(b.subarray(10).every((x) => x === 0)).toBe(true);
  });

  test('the log file ends mid-page while open (partial page written), like a running Prometheus', async () => {
    const dir = await newDir();
    const w = await WAL.open(dir, { compress: false, logger: nopWalLogger });
    await w.log(new Uint8Array(100));
    expect((await stat(join(dir, '00000000'))).size).toBe(107);
    await w.close();
  });

  test('a record larger than the page free space is split first/middle/last with no fragment crossing a page', async () => {
    const dir = await newDir();
    const w = await WAL.open(dir, { compress: false, logger: nopWalLogger });
    await w.log(payload(1, 100));
    await w.log(payload(2, 2 * PAGE_SIZE));
    await w.close();
    const b = await readFile(join(dir, '00000000'));
    // first fragment after the 107-byte full record fills page 0
    expect(b[107]).toBe(2);
    expect(be16(b, 108)).toBe(PAGE_SIZE - 107 - 7);
    expect(b[PAGE_SIZE]).toBe(3);
    expect(be16(b, PAGE_SIZE + 1)).toBe(PAGE_SIZE - 7);
    expect(b[2 * PAGE_SIZE]).toBe(4);
    expect(be16(b, 2 * PAGE_SIZE + 1)).toBe(2 * PAGE_SIZE - (PAGE_SIZE - 114) - (PAGE_SIZE - 7));
    const { recs, err } = readAll([{ dir }]);
    expect(err).toBeNull();
    expect(recs.map(checkPayload)).toEqual([1, 2]);
  });

  test('fewer than 7 bytes left in a page are zeros and the next record starts on the next page', async () => {
    const dir = await newDir();
    const w = await WAL.open(dir, { compress: false, logger: nopWalLogger });
    await w.log(new Uint8Array(PAGE_SIZE - 7 - 3)); // leaves 3 bytes
    await w.log(new Uint8Array([9]));
    await w.close();
    const b = await readFile(join(dir, '00000000'));
    expect(Array.from(b.subarray(PAGE_SIZE - 3, PAGE_SIZE))).toEqual([0, 0, 0]);
    expect(b[PAGE_SIZE]).toBe(1);
    expect(be16(b, PAGE_SIZE + 1)).toBe(1);
  });

  test('exactly 7 bytes left in a page gives a zero-length first fragment, as Prometheus does', async () => {
    const dir = await newDir();
    const w = await WAL.open(dir, { compress: false, logger: nopWalLogger });
    await w.log(new Uint8Array(PAGE_SIZE - 14)); // leaves exactly 7
    await w.log(new Uint8Array([7, 7]));
    await w.close();
    const b = await readFile(join(dir, '00000000'));
    expect(b[PAGE_SIZE - 7]).toBe(2);
    expect(be16(b, PAGE_SIZE - 6)).toBe(0);
    expect(be32(b, PAGE_SIZE - 4)).toBe(0);
    expect(b[PAGE_SIZE]).toBe(4);
    expect(be16(b, PAGE_SIZE + 1)).toBe(2);
    const { recs, err } = readAll([{ dir }]);
    expect(err).toBeNull();
    expect(recs.map((r) => r.length)).toEqual([PAGE_SIZE - 14, 2]);
  });

  test('a record that does not fit in the rest of the segment starts a new segment; segment names have 8 digits', async () => {
    const dir = await newDir();
    const w = await WAL.open(dir, { compress: false, segmentSize: 2 * PAGE_SIZE, logger: nopWalLogger });
    await w.log(payload(0, PAGE_SIZE)); // page 0 and part of page 1
    await w.log(payload(1, PAGE_SIZE)); // does not fit in the rest of page 1
    await w.close();
    expect((await readdir(dir)).sort()).toEqual(['00000000', '00000001']);
    expect((await stat(join(dir, '00000000'))).size).toBe(2 * PAGE_SIZE);
    const { recs, segs } = readAll([{ dir }]);
    expect(recs.map(checkPayload)).toEqual([0, 1]);
    expect(segs).toEqual([0, 1]);
  });

  test('compressed records carry the 0x08 flag and hold snappy block bytes; incompressible ones are stored plain', async () => {
    const dir = await newDir();
    const w = await WAL.open(dir, { compress: true, logger: nopWalLogger });
    const text = new Uint8Array(Buffer.from('abcdefgh'.repeat(100)));
    await w.log(text);
    await w.log(new Uint8Array([1, 2, 3]));
    await w.close();
    const b = await readFile(join(dir, '00000000'));
    expect(b[0]).toBe(0x09);
    const len = be16(b, 1);
    expect(len).toBeLessThan(text.length);
    const out = new Uint8Array(snappyDecodedLength(b, 7, 7 + len));
    expect(snappyDecode(b, 7, 7 + len, out)).toBe(text.length);
    expect(Buffer.from(out).toString()).toBe('abcdefgh'.repeat(100));
    expect(b[7 + len]).toBe(0x01);
    const { recs } = readAll([{ dir }]);
    expect(recs.map((r) => r.length)).toEqual([800, 3]);
  });

  test('opening an existing WAL starts a new segment after the last one', async () => {
    const dir = await newDir();
    let w = await WAL.open(dir, { logger: nopWalLogger });
    await w.log(payload(0, 10));
    await w.close();
    w = await WAL.open(dir, { logger: nopWalLogger });
    expect(w.activeSegment).toBe(1);
    expect(await w.segments()).toEqual({ first: 0, last: 1 });
    await w.close();
  });

  test('nextSegment pads the page and starts the next file; truncate deletes older segments but never the active one', async () => {
    const dir = await newDir();
    const w = await WAL.open(dir, { logger: nopWalLogger });
    await w.log(payload(0, 10));
    expect(await w.nextSegment()).toBe(1);
    expect((await stat(join(dir, '00000000'))).size).toBe(PAGE_SIZE);
    await w.log(payload(1, 10));
    expect(await w.nextSegment()).toBe(2);
    await w.truncate(99);
    expect((await readdir(dir)).sort()).toEqual(['00000002']);
    await w.log(payload(2, 10));
    await w.close();
    expect(readAll([{ dir }]).recs.map(checkPayload)).toEqual([2]);
  });

  test('an invalid segment size is refused', async () => {
    await expect(WAL.open(await newDir(), { segmentSize: 1000 })).rejects.toThrow(/multiple of 32768/);
  });

  test('an empty record is refused before anything is written (the reader treats one as damage)', async () => {
    const dir = await newDir();
    const w = await WAL.open(dir, { logger: nopWalLogger });
    await expect(w.log(new Uint8Array([1]), new Uint8Array(0))).rejects.toThrow(/empty record/);
    await w.log(new Uint8Array([2]));
    await w.close();
    expect(readAll([{ dir }]).recs.map((r) => r[0])).toEqual([2]);
  });

  test('log after close rejects with a stable code', async () => {
    const w = await WAL.open(await newDir(), { logger: nopWalLogger });
    await w.close();
    await expect(w.log(new Uint8Array(1))).rejects.toMatchObject({ code: 'MM_ERR_WAL_CLOSED' });
  });
});

describe('group commit', () => {
  test('concurrent log calls all resolve, land in call order, and share fsyncs', async () => {
    const dir = await newDir();
    const w = await WAL.open(dir, { segmentSize: 4 * PAGE_SIZE, logger: nopWalLogger });
    const ps: Promise<void>[] = [];
    for (let i = 0; i < 500; i++) ps.push(w.log(payload(i, 50 + ((i * 37) % 3000))));
    await Promise.all(ps);
    expect(w.stats.records).toBe(500);
    // 500 calls in one tick: the first flush takes them all; far fewer fsyncs than calls.
    expect(w.stats.syncs).toBeLessThan(50);
    await w.close();
    const { recs, err } = readAll([{ dir }]);
    expect(err).toBeNull();
    expect(recs.map(checkPayload)).toEqual(Array.from({ length: 500 }, (_, i) => i));
  });
});

describe('round trips across pages and segments (fast-check)', () => {
  test.each([false, true])('random record sequences read back exactly (compress=%s)', async (compress) => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 3 * PAGE_SIZE }), fc.constantFrom(PAGE_SIZE - 7, PAGE_SIZE - 14, PAGE_SIZE)), { maxLength: 25 }),
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        async (sizes, pages, concurrent) => {
          const dir = await tempDir('walfc');
          try {
            const w = await WAL.open(dir, { compress, segmentSize: pages * PAGE_SIZE, logger: nopWalLogger });
            if (concurrent) await Promise.all(sizes.map((n, i) => w.log(payload(i, n))));
            else for (let i = 0; i < sizes.length; i++) await w.log(payload(i, sizes[i]!));
            await w.close();
            const { recs, err } = readAll([{ dir }]);
            expect(err).toBeNull();
            expect(recs.map(checkPayload)).toEqual(sizes.map((_, i) => i));
            expect(recs.map((r) => r.length)).toEqual(sizes.map((n) => Math.max(n, 8)));
            // every segment but the last is a whole number of pages
            const names = (await readdir(dir)).sort();
            for (const n of names) expect((await stat(join(dir, n))).size % PAGE_SIZE).toBe(0);
          } finally {
            await removeDir(dir);
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('snappy block codec', () => {
  test('our JS decoder inverts the native encoder on random and repetitive inputs', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 5000 }), fc.array(fc.constantFrom(...'abcab '), { maxLength: 5000 }).map((a) => new Uint8Array(Buffer.from(a.join(''))))), (src) => {
        const c = snappyEncode(src);
        const out = new Uint8Array(snappyDecodedLength(c, 0, c.length));
        expect(snappyDecode(c, 0, c.length, out)).toBe(src.length);
        expect(Buffer.from(out).equals(Buffer.from(src))).toBe(true);
      }),
    );
  });

  test('malformed blocks return -1 instead of throwing', () => {
    const out = new Uint8Array(100);
    expect(snappyDecode(new Uint8Array([5, 0x01 | (0 << 2), 0]), 0, 3, out)).toBe(-1); // copy before any output
    expect(snappyDecode(new Uint8Array([3, 0x08, 1]), 0, 3, out)).toBe(-1); // literal longer than input
    expect(snappyDecode(new Uint8Array([0x80]), 0, 1, out)).toBe(-1);
  });
});

describe('segment listing', () => {
  test('a gap in segment numbers is refused by the reader, but opening the WAL still works', async () => {
    const dir = await newDir();
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, segmentName(0)), new Uint8Array(0));
    await writeFile(join(dir, segmentName(2)), new Uint8Array(0));
    expect(() => readAll([{ dir }])).toThrow(/not sequential/);
    const w = await WAL.open(dir, { logger: nopWalLogger });
    expect(w.activeSegment).toBe(3);
    await w.truncate(3);
    await w.close();
    expect(await readdir(dir)).toEqual([segmentName(3)]);
  });
});
