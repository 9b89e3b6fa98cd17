/**
 * Fuzzing at byte boundaries: any damage to a WAL makes the reader stop with an
 * error value, never throw and never return a damaged record; record decoders
 * given arbitrary bytes either decode or throw RecordError.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { copyFile, mkdir, readFile, writeFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { WAL, CorruptionError, PAGE_SIZE, nopWalLogger, openReader, segmentName } from '../../../src/tsdb/wal/index.js';
import {
  RecordError,
  SampleBatch,
  SeriesBatch,
  TombstoneBatch,
  ExemplarBatch,
  MetadataBatch,
  decodeSamples,
  decodeSeries,
  decodeTombstones,
  decodeExemplars,
  decodeMetadata,
} from '../../../src/tsdb/record/index.js';
import { checkPayload, payload, readAll, removeDir, tempDir } from './helpers.js';

const dirs: string[] = [];
let clean: { dir: string; count: number; files: string[]; ends: Set<string> } | null = null;
const SIZES = [10, 5000, 40000, 100, 33000, 7, 2000, 70000, 300, 12000];

beforeAll(async () => {
  const dir = await tempDir('walfuzz-src');
  dirs.push(dir);
  const w = await WAL.open(dir, { segmentSize: 3 * PAGE_SIZE, compress: true, logger: nopWalLogger });
  for (let i = 0; i < SIZES.length * 3; i++) await w.log(payload(i, SIZES[i % SIZES.length]!));
  await w.close();
  // Where records end: a segment cut there is indistinguishable from one that ended there.
  const ends = new Set<string>();
  const r = openReader([{ dir }]);
  while (r.next()) ends.add(`${segmentName(r.segment())}:${r.offset()}`);
  r.close();
  clean = { dir, count: SIZES.length * 3, files: (await readdir(dir)).sort(), ends };
});
afterAll(async () => {
  for (const d of dirs) await removeDir(d);
});

describe('reader under random damage', () => {
  test('flipped, zeroed or truncated bytes anywhere: no throw, only an undamaged prefix of the records, and an error if records were lost', async () => {
    const src = clean!;
    const total = (await Promise.all(src.files.map(async (f) => (await readFile(join(src.dir, f))).length))).reduce((a, b) => a + b, 0);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 0, max: total - 1 }), fc.constantFrom('flip', 'zero8', 'truncate'), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 }),
        async (damages) => {
          const dir = await tempDir('walfuzz');
          try {
            await mkdir(dir, { recursive: true });
            const bufs = new Map<string, Uint8Array>();
            for (const f of src.files) bufs.set(f, new Uint8Array(await readFile(join(src.dir, f))));
            // A segment cut at a page boundary, a record end or to nothing looks exactly like a
            // segment that ended there (a crashed writer leaves such segments; Prometheus
            // reads them the same way): the records after it are then not a prefix.
            let alignedCut = false;
            for (const [pos, kind, x] of damages) {
              // Map a global position onto a file.
              let p = pos;
              for (const f of src.files) {
                const b = bufs.get(f)!;
                if (p < b.length) {
                  if (kind === 'flip') b[p] = b[p]! ^ x;
                  else if (kind === 'zero8') b.fill(0, p, Math.min(b.length, p + 8));
                  else {
                    bufs.set(f, b.subarray(0, p));
                    if (p % PAGE_SIZE === 0 || src.ends.has(`${f}:${p}`)) alignedCut = true;
                  }
                  break;
                }
                p -= b.length;
              }
            }
            for (const [f, b] of bufs) await writeFile(join(dir, f), b);
            const { recs, err } = readAll([{ dir }]);
            const seqs = recs.map(checkPayload);
            // Never a damaged record, never out of order.
            expect(seqs.every((q, i) => q >= 0 && (i === 0 || q > seqs[i - 1]!))).toBe(true);
            if (!alignedCut) {
              expect(seqs).toEqual(seqs.map((_, i) => i));
              // A silent loss needs zeros that read as page padding (as an unsynced tail would).
              if (recs.length < src.count && err === null) expect(damages.some(([, k]) => k === 'zero8')).toBe(true);
              if (err !== null) expect(err).toBeInstanceOf(CorruptionError);
            }
          } finally {
            await removeDir(dir);
          }
        },
      ),
      { numRuns: Number(process.env.MM_FUZZ_RUNS ?? 60) },
    );
  });

  test('an unchanged copy reads completely (control for the property above)', async () => {
    const dir = await tempDir('walfuzz-ctl');
    dirs.push(dir);
    for (const f of clean!.files) await copyFile(join(clean!.dir, f), join(dir, f));
    const { recs, err } = readAll([{ dir }]);
    expect(err).toBeNull();
    expect(recs.length).toBe(clean!.count);
  });
});

describe('record decoders under arbitrary bytes', () => {
  const decoders: Array<[string, number, (b: Uint8Array) => void]> = [
    ['series', 1, (b) => decodeSeries(b, new SeriesBatch())],
    ['samples', 2, (b) => decodeSamples(b, new SampleBatch())],
    ['tombstones', 3, (b) => decodeTombstones(b, new TombstoneBatch())],
    ['exemplars', 4, (b) => decodeExemplars(b, new ExemplarBatch())],
    ['metadata', 6, (b) => decodeMetadata(b, new MetadataBatch())],
  ];
  test.each(decoders)('%s: decodes or throws RecordError, nothing else', (_n, typ, decode) => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (body) => {
        const rec = new Uint8Array(body.length + 1);
        rec[0] = typ;
        rec.set(body, 1);
        try {
          decode(rec);
        } catch (e) {
          expect(e).toBeInstanceOf(RecordError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
