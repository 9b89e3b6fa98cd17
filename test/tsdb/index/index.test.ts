import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Labels } from '../../../src/storage/index.js';
import {
  IndexReader,
  IndexWriter,
  IndexWriterError,
  compareUtf8,
  compareLabelsUtf8,
  intersectPostings,
  mergePostings,
  withoutPostings,
} from '../../../src/tsdb/index/index.js';

const golden = new URL('../../golden/blocks/small/block/index', import.meta.url).pathname;
let tmp: string;
let n = 0;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'mm-index-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});
const nextPath = () => join(tmp, `index${n++}`);

const L = (o: Record<string, string>) => Labels.fromObject(o);
const goldenSeries: Array<[Labels, Array<{ ref: number; minTime: number; maxTime: number }>]> = [
  [L({ __name__: 'http_requests_total', code: '200', method: 'get' }), [{ ref: 8, minTime: 1000000, maxTime: 1030000 }]],
  [L({ __name__: 'http_requests_total', code: '500', method: 'get' }), [{ ref: 34, minTime: 1000000, maxTime: 1015000 }]],
  [L({ __name__: 'up', job: 'a' }), [{ ref: 56, minTime: 1000000, maxTime: 1015000 }]],
];
const goldenSymbols = ['', '200', '500', '__name__', 'a', 'code', 'get', 'http_requests_total', 'job', 'method', 'up'];

async function writeIndex(path: string, symbols: string[], series: typeof goldenSeries): Promise<void> {
  const w = await IndexWriter.create(path);
  for (const s of symbols) await w.addSymbol(s);
  let ref = 0;
  for (const [l, c] of series) await w.addSeries(ref++, l, c);
  await w.close();
}

describe('index writer is byte-identical to Prometheus 2.42', () => {
  test('the golden promtool block index (592 bytes) is reproduced exactly', async () => {
    const p = nextPath();
    await writeIndex(p, goldenSymbols, goldenSeries);
    const got = await readFile(p);
    const want = await readFile(golden);
    expect(got.length).toBe(592);
    expect(got.toString('hex')).toBe(want.toString('hex'));
  });
});

describe('index reader', () => {
  const r = () => IndexReader.open(golden);
  test('reads symbols, label names and values of the golden index', () => {
    const ir = r();
    expect(ir.symbols()).toEqual(goldenSymbols);
    expect(ir.labelNames()).toEqual(['__name__', 'code', 'job', 'method']);
    expect(ir.labelValues('__name__')).toEqual(['http_requests_total', 'up']);
    expect(ir.labelValues('nope')).toEqual([]);
  });
  test('postings carry series IDs = offset/16 and decode to the series written', () => {
    const ir = r();
    expect([...ir.allPostings()]).toEqual([5, 7, 9]);
    expect([...ir.postings('code', '500')]).toEqual([7]);
    expect([...ir.postings('code', '200', '500')]).toEqual([5, 7]);
    expect([...ir.postings('code', 'x')]).toEqual([]);
    const s = ir.series(9);
    expect(s.labels.toString()).toBe('{__name__="up", job="a"}');
    expect(s.chunks).toEqual([{ ref: 56, minTime: 1000000, maxTime: 1015000 }]);
  });
});

describe('writer stages and ordering errors', () => {
  test('adding a symbol after series names both stages', async () => {
    const w = await IndexWriter.create(nextPath());
    await w.addSymbol('a');
    await w.addSeries(0, L({ a: 'a' }), []);
    await expect(w.addSymbol('b')).rejects.toThrow('invalid stage "symbols", currently at "series"');
    await w.abort();
  });
  test('unsorted symbols are rejected', async () => {
    const w = await IndexWriter.create(nextPath());
    await w.addSymbol('b');
    await expect(w.addSymbol('a')).rejects.toThrow(/symbol "a" out-of-order/);
    await w.abort();
  });
  test('unsorted series are rejected', async () => {
    const w = await IndexWriter.create(nextPath());
    for (const s of ['a', 'b']) await w.addSymbol(s);
    await w.addSeries(0, L({ a: 'b' }), []);
    await expect(w.addSeries(1, L({ a: 'a' }), [])).rejects.toThrow(IndexWriterError);
    await w.abort();
  });
  test('a label missing from the symbols is rejected', async () => {
    const w = await IndexWriter.create(nextPath());
    await w.addSymbol('a');
    await expect(w.addSeries(0, L({ a: 'zz' }), [])).rejects.toThrow(/symbol entry for "zz" does not exist/);
    await w.abort();
  });
});

describe('byte order', () => {
  test('astral characters sort after U+E000–U+FFFF as in UTF-8', () => {
    const a = '\u{1F600}';
    const b = '\uFFFD';
    expect(a < b).toBe(true); // JS UTF-16 order
    expect(compareUtf8(a, b)).toBeGreaterThan(0); // byte order
    expect(Buffer.compare(Buffer.from(a), Buffer.from(b))).toBeGreaterThan(0);
  });
  test('compareUtf8 agrees with Buffer.compare on random strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        expect(Math.sign(compareUtf8(a, b))).toBe(Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))));
      }),
      { numRuns: 2000 },
    );
  });
  test('label sets compare pairwise, shorter prefix first', () => {
    expect(compareLabelsUtf8(L({ a: '1' }), L({ a: '1', b: '1' }))).toBeLessThan(0);
    expect(compareLabelsUtf8(L({ a: '2' }), L({ a: '1', b: '1' }))).toBeGreaterThan(0);
  });
});

describe('postings helpers', () => {
  const arr = fc.uniqueArray(fc.nat(500), { maxLength: 100 }).map((a) => Uint32Array.from(a.sort((x, y) => x - y)));
  test('intersect, merge and without equal the set operations', () => {
    fc.assert(
      fc.property(arr, arr, arr, (a, b, c) => {
        const sa = new Set(a);
        const sb = new Set(b);
        const sc = new Set(c);
        expect([...intersectPostings(a, b, c)]).toEqual([...a].filter((x) => sb.has(x) && sc.has(x)));
        expect([...mergePostings(a, b, c)]).toEqual([...new Set([...a, ...b, ...c])].sort((x, y) => x - y));
        expect([...withoutPostings(a, b)]).toEqual([...a].filter((x) => !sb.has(x)));
        void sa;
      }),
      { numRuns: 500 },
    );
  });
});

describe('corrupt indexes give typed errors', () => {
  test('a truncated index fails on open with the TOC checksum', async () => {
    const b = await readFile(golden);
    const p = nextPath();
    await writeFile(p, b.subarray(0, 400));
    expect(() => IndexReader.open(p)).toThrow(/read TOC: checksum mismatch/);
  });
  test('a missing index names the path', () => {
    expect(() => IndexReader.open(join(tmp, 'nope'))).toThrow(/nope: open index/);
  });
  test('random mutations never throw anything but IndexError', async () => {
    const good = await readFile(golden);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), fc.nat(good.length), (muts, cut) => {
        const b = Buffer.from(good);
        for (const [i, v] of muts) b[i] = v;
        const bytes = cut % 5 === 0 ? b.subarray(0, cut) : b;
        try {
          const ir = IndexReader.fromBytes(bytes);
          for (const id of ir.allPostings()) ir.series(id);
          for (const name of ir.labelNames()) for (const v of ir.labelValues(name)) ir.postings(name, v);
        } catch (e) {
          expect((e as Error).name).toBe('IndexError');
        }
      }),
      { numRuns: 2000 },
    );
  });
  test('random bytes never throw anything but IndexError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        try {
          IndexReader.fromBytes(b);
        } catch (e) {
          expect((e as Error).name).toBe('IndexError');
        }
      }),
      { numRuns: 1000 },
    );
  });
});
