/**
 * The block read path as the querier runs it (index → chunk reader without its own CRC
 * pass → XOR iterator checking the CRC while it loads the chunk): random series read
 * back exactly, and every corrupted chunk byte reported as the chunk reader's checksum
 * error with the samples before that chunk intact.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Labels, Matcher, MatchType, ValueType } from '../../../src/storage/index.js';
import { XORChunk } from '../../../src/tsdb/chunkenc/index.js';
import { newChunkMeta } from '../../../src/tsdb/chunks/index.js';
import type { ChunkFileError } from '../../../src/tsdb/chunks/index.js';
import { openBlockSync, writeBlock } from '../../../src/tsdb/block/index.js';
import type { BlockQuerySeries, BlockSeries } from '../../../src/tsdb/block/index.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'mm-block-decode-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

type Sample = [number, number, number]; // t, value hi, value lo

interface Read {
  name: string;
  samples: Sample[];
  err: string | null;
}

function readBlock(dir: string, mint = -Infinity, maxt = Infinity): Read[] {
  const b = openBlockSync(dir);
  const q = b.querier(mint, maxt);
  const ss = q.select(true, null, new Matcher(MatchType.Regexp, '__name__', '.+'));
  const out: Read[] = [];
  while (ss.next()) {
    const s = ss.at() as BlockQuerySeries;
    const it = s.iterator();
    const samples: Sample[] = [];
    while (it.next() === ValueType.Float) samples.push([it.atT(), it.atVHi(), it.atVLo()]);
    const e = it.err() as ChunkFileError | null;
    out.push({ name: s.labels().get('__name__'), samples, err: e === null ? null : `${e.code} ${e.message}` });
  }
  q.close();
  void b.close();
  return out;
}

/** Series `s<i>` with chunks of the given sizes; values are counters with some NaN/stale/Inf bits. */
function makeSeries(sizes: number[][], seed: number): { input: BlockSeries[]; want: Map<string, Sample[][]> } {
  let x = seed >>> 0;
  const rnd = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 4294967296);
  const input: BlockSeries[] = [];
  const want = new Map<string, Sample[][]>();
  let t = 1_700_000_000_000;
  sizes.forEach((chunkSizes, i) => {
    const name = `s${String(i).padStart(3, '0')}`;
    const perChunk: Sample[][] = [];
    const metas = chunkSizes.map((n) => {
      const c = new XORChunk();
      const a = c.appender();
      const got: Sample[] = [];
      let v = Math.floor(rnd() * 1e6);
      for (let k = 0; k < n; k++) {
        t += 15_000 + (rnd() < 0.1 ? Math.floor(rnd() * 2000) - 1000 : 0);
        const r = rnd();
        let hi: number;
        let lo: number;
        if (r < 0.02) [hi, lo] = [0x7ff00000, 2]; // stale
        else if (r < 0.03) [hi, lo] = [0x7ff80000, 1]; // Go NaN
        else if (r < 0.04) [hi, lo] = [0xfff00000, 0]; // -Inf
        else {
          v += r < 0.5 ? 0 : Math.floor(rnd() * 50);
          const f = new Float64Array([v]);
          const u = new Uint32Array(f.buffer);
          [hi, lo] = [u[1] as number, u[0] as number];
        }
        a.appendBits(t, hi, lo);
        got.push([t, hi, lo]);
      }
      perChunk.push(got);
      return newChunkMeta(c, got[0]![0], got[got.length - 1]![0]);
    });
    input.push({ labels: Labels.fromObject({ __name__: name, job: 'mm' }), chunks: metas });
    want.set(name, perChunk);
  });
  return { input, want };
}

const chunkSizes = fc.array(fc.array(fc.integer({ min: 1, max: 240 }), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 12 });

describe('block read path (CRC checked by the XOR decoder)', () => {
  test('random series read back exactly, whole range and clipped ranges', async () => {
    await fc.assert(
      fc.asyncProperty(chunkSizes, fc.nat(), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), async (sizes, seed, a, b) => {
        const { input, want } = makeSeries(sizes, seed);
        const all = [...want.values()].flat(2);
        const mint = all[0]![0];
        const maxt = all[all.length - 1]![0];
        const meta = await writeBlock(tmp, { mint, maxt: maxt + 1, series: input });
        const dir = join(tmp, meta!.ulid);
        const got = readBlock(dir);
        expect(got.map((r) => r.err)).toEqual(got.map(() => null));
        expect(new Map(got.map((r) => [r.name, r.samples]))).toEqual(new Map([...want].map(([k, v]) => [k, v.flat()])));
        const lo = mint + Math.floor(Math.min(a, b) * (maxt - mint));
        const hi = mint + Math.floor(Math.max(a, b) * (maxt - mint));
        const clipped = readBlock(dir, lo, hi);
        for (const r of clipped) expect(r.samples).toEqual(want.get(r.name)!.flat().filter(([t]) => t >= lo && t <= hi));
        await rm(dir, { recursive: true });
      }),
      { numRuns: 25 },
    );
  });

  test('any corrupted byte of a chunk record is the chunk reader checksum error, after the earlier chunks', async () => {
    const { input, want } = makeSeries([[120, 120, 120], [1], [2, 240], [57]], 7);
    const meta = await writeBlock(tmp, { mint: 0, maxt: 2 ** 52, series: input });
    const dir = join(tmp, meta!.ulid);
    const segPath = join(dir, 'chunks', (await readdir(join(dir, 'chunks')))[0]!);
    const orig = await readFile(segPath);
    // Chunk records start after the 8-byte segment header, in series order.
    const records: Array<{ name: string; chunk: number; start: number; end: number }> = [];
    let off = 8;
    for (const [name, chunks] of want) {
      for (let c = 0; c < chunks.length; c++) {
        let len = 0;
        let n = 0;
        for (let mul = 1; ; mul *= 128) {
          const by = orig[off + n++]!;
          len += (by & 0x7f) * mul;
          if (by < 0x80) break;
        }
        const end = off + n + 1 + len + 4;
        records.push({ name, chunk: c, start: off, end });
        off = end;
      }
    }
    expect(off).toBe(orig.length);
    await fc.assert(
      fc.asyncProperty(fc.nat(records.length - 1), fc.nat(), fc.integer({ min: 1, max: 255 }), async (ri, at, xor) => {
        const r = records[ri]!;
        // Skip the length field: changing it is a different error (bad ref / short segment).
        let lenBytes = 1;
        while (orig[r.start + lenBytes - 1]! >= 0x80) lenBytes++;
        const pos = r.start + lenBytes + (at % (r.end - r.start - lenBytes));
        const bad = Buffer.from(orig);
        bad[pos] = bad[pos]! ^ xor;
        await writeFile(segPath, bad);
        const got = readBlock(dir);
        for (const s of got) {
          if (s.name !== r.name) {
            expect(s.err).toBeNull();
            expect(s.samples).toEqual(want.get(s.name)!.flat());
            continue;
          }
          expect(s.err).toMatch(/^MM_ERR_CHUNK_CHECKSUM .*checksum mismatch/);
          expect(s.err).toContain(segPath);
          expect(s.samples).toEqual(want.get(s.name)!.slice(0, r.chunk).flat());
        }
      }),
      { numRuns: 150 },
    );
    await writeFile(segPath, orig);
    expect(readBlock(dir).every((s) => s.err === null)).toBe(true);
  });
});
