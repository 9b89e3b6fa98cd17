import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtemp, readFile, rm, writeFile, readdir } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ValueType } from '../../../src/storage/index.js';
import { XORChunk } from '../../../src/tsdb/chunkenc/index.js';
import { ChunkReader, ChunkWriter, blockChunkRef, chunkRefOffset, chunkRefSeg, newChunkMeta, ChunkFileError } from '../../../src/tsdb/chunks/index.js';
import type { ChunkMeta } from '../../../src/tsdb/chunks/index.js';

const golden = new URL('../../golden/blocks/small/block/chunks/000001', import.meta.url).pathname;
let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'mm-chunks-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function xor(samples: Array<[number, number]>): ChunkMeta {
  const c = new XORChunk();
  const a = c.appender();
  for (const [t, v] of samples) a.append(t, v);
  return newChunkMeta(c, samples[0]![0], samples[samples.length - 1]![0]);
}

let dirN = 0;
const nextDir = () => join(tmp, `d${dirN++}`);

describe('chunk refs', () => {
  test.each([
    [0, 8],
    [1, 8],
    [3, 0xffffffff],
    [1_000_000, 123456],
  ])('segment %d offset %d packs and unpacks above 32 bits', (seg, off) => {
    const r = blockChunkRef(seg, off);
    expect(chunkRefSeg(r)).toBe(seg);
    expect(chunkRefOffset(r)).toBe(off);
  });
});

describe('chunk segment files', () => {
  test('the three chunks of the golden block are written byte-identical to promtool, with refs 8, 34, 56', async () => {
    const metas = [
      xor([
        [1000000, 1],
        [1015000, 2],
        [1030000, 4],
      ]),
      xor([
        [1000000, 1],
        [1015000, 1],
      ]),
      xor([
        [1000000, 1],
        [1015000, 1],
      ]),
    ];
    const dir = nextDir();
    const w = await ChunkWriter.create(dir);
    await w.writeChunks(metas);
    await w.close();
    expect(metas.map((m) => m.ref)).toEqual([8, 34, 56]);
    expect(Buffer.compare(await readFile(join(dir, '000001')), await readFile(golden))).toBe(0);
  });

  test('the reader returns every chunk of the golden file with its samples', () => {
    const r = ChunkReader.open(join(golden, '..'));
    const c = r.chunk(8);
    const it = c.iterator();
    const ts: number[] = [];
    while (it.next() === ValueType.Float) ts.push(it.atT());
    expect(ts).toEqual([1000000, 1015000, 1030000]);
    expect(r.chunk(34).numSamples()).toBe(2);
    expect(r.chunk(56).numSamples()).toBe(2);
    r.close();
  });

  test('segments are cut before the chunk that would overflow the size limit, as Prometheus does', async () => {
    const metas = Array.from({ length: 20 }, (_, i) => xor(Array.from({ length: 10 }, (_, j) => [i * 1000 + j, j * i] as [number, number])));
    const sizes = metas.map((m) => 5 + 1 + m.chunk!.bytes().length + 4);
    const limit = 8 + sizes[0]! + sizes[1]! + sizes[2]! + 1; // three chunks fit per segment
    const dir = nextDir();
    const w = await ChunkWriter.create(dir, { segmentSize: limit });
    await w.writeChunks(metas.slice(0, 5));
    await w.writeChunks(metas.slice(5));
    await w.close();
    const files = (await readdir(dir)).sort();
    expect(files[0]).toBe('000001');
    expect(files.length).toBeGreaterThan(5);
    const r = ChunkReader.open(dir);
    for (const m of metas) {
      expect(Buffer.from(r.chunk(m.ref).bytes()).equals(Buffer.from(m.chunk!.bytes()))).toBe(true);
    }
    // every segment respects the limit
    for (const f of files) expect((await readFile(join(dir, f))).length).toBeLessThanOrEqual(limit);
    r.close();
  });

  test('reads that straddle window edges and small windows return the same bytes', async () => {
    const metas = Array.from({ length: 300 }, (_, i) => xor(Array.from({ length: 1 + (i % 40) }, (_, j) => [j * 15000, Math.random()] as [number, number])));
    const dir = nextDir();
    const w = await ChunkWriter.create(dir);
    await w.writeChunks(metas);
    await w.close();
    for (const windowSize of [16, 64, 1000, 1 << 20]) {
      const r = ChunkReader.open(dir, { windowSize, maxWindows: 3 });
      for (const m of metas) expect(Buffer.from(r.chunk(m.ref).bytes()).equals(Buffer.from(m.chunk!.bytes()))).toBe(true);
      r.close();
    }
  });

  test('a non-empty directory is refused by the writer', async () => {
    const dir = nextDir();
    const w = await ChunkWriter.create(dir);
    await w.writeChunks([xor([[1, 1]])]);
    await w.close();
    await expect(ChunkWriter.create(dir)).rejects.toThrow(/not empty/);
  });
});

describe('corrupt and missing chunk files give clear errors', () => {
  async function copyGolden(): Promise<string> {
    const dir = nextDir();
    const w = await ChunkWriter.create(dir);
    await w.close();
    await writeFile(join(dir, '000001'), await readFile(golden));
    return dir;
  }

  test('a flipped data byte is a checksum mismatch naming the file and offset', async () => {
    const dir = await copyGolden();
    const b = await readFile(join(dir, '000001'));
    b[40] = b[40]! ^ 0xff;
    await writeFile(join(dir, '000001'), b);
    const r = ChunkReader.open(dir);
    expect(() => r.chunk(34)).toThrow(ChunkFileError);
    try {
      r.chunk(34);
    } catch (e) {
      expect((e as ChunkFileError).code).toBe('MM_ERR_CHUNK_CHECKSUM');
      expect((e as Error).message).toContain('000001 at offset 34: checksum mismatch');
    }
    expect(r.chunk(8).numSamples()).toBe(3);
    r.close();
  });

  test('a truncated segment reports the required and available sizes', async () => {
    const dir = await copyGolden();
    const b = await readFile(join(dir, '000001'));
    await writeFile(join(dir, '000001'), b.subarray(0, 70));
    const r = ChunkReader.open(dir);
    expect(() => r.chunk(56)).toThrow(/required:78, available:70/);
    r.close();
  });

  test('a ref into a missing segment names the segment index', () => {
    const r = ChunkReader.open(join(golden, '..'));
    expect(() => r.chunk(blockChunkRef(1, 8))).toThrow(/segment index 1 out of range/);
    r.close();
  });

  test('a bad magic number is refused on open', async () => {
    const dir = await copyGolden();
    const b = await readFile(join(dir, '000001'));
    b[0] = 0;
    await writeFile(join(dir, '000001'), b);
    expect(() => ChunkReader.open(dir)).toThrow(/invalid magic number/);
  });

  test('a missing chunks directory is an MM_ERR_CHUNK_FILE error', () => {
    expect(() => ChunkReader.open(join(tmp, 'nope'))).toThrow(expect.objectContaining({ code: 'MM_ERR_CHUNK_FILE' }));
  });

  test('random refs and random file bytes never crash the reader', async () => {
    const dir = await copyGolden();
    const good = await readFile(join(dir, '000001'));
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 100 }), fc.nat(200), (junk, ref) => {
        const b = Buffer.concat([good.subarray(0, 8), junk]);
        writeFileSync(join(dir, '000001'), b);
        const r = ChunkReader.open(dir);
        try {
          const c = r.chunk(ref);
          const it = c.iterator();
          while (it.next() === ValueType.Float) {
            /* drain */
          }
        } catch (e) {
          expect((e as { code?: string }).code).toMatch(/^MM_ERR_/);
        } finally {
          r.close();
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('segment file sets', () => {
  test('a missing file in the middle of the sequence is refused on open, naming it', async () => {
    const metas = Array.from({ length: 6 }, (_, i) => xor([[i, i]]));
    const dir = nextDir();
    const w = await ChunkWriter.create(dir, { segmentSize: 8 + 2 * 22 });
    await w.writeChunks(metas);
    await w.close();
    expect((await readdir(dir)).length).toBeGreaterThanOrEqual(3);
    await rm(join(dir, '000002'));
    expect(() => ChunkReader.open(dir)).toThrow(/000002 is missing between 000001 and 000003/);
  });
});
